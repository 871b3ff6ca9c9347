"""The letter's words (M2, C9): the salutation from the representative's civilité and
function, the closing that repeats it, the withdrawal date said one way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peps_onboarding.domain.letter_wording import (
    closing,
    letter_wording,
    salutation,
    withdrawal_until,
)
from peps_onboarding.domain.notifications import LetterKind, LetterNotification
from peps_onboarding.domain.values import Civility


@pytest.mark.rule("M2")
@pytest.mark.parametrize(
    ("civility", "title", "expected"),
    [
        (Civility.MRS, "Maire", "Madame la Maire"),
        (Civility.MR, "Maire", "Monsieur le Maire"),
        (Civility.MRS, "Maire de Saint-Aubin-de-Médoc", "Madame la Maire"),
        (Civility.MR, "Directeur", "Monsieur le Directeur"),
        (Civility.MRS, "Directrice", "Madame la Directrice"),
        # The form said agrees with the civilité, whichever form was typed.
        (Civility.MRS, "Directeur général", "Madame la Directrice générale"),
        (Civility.MR, "directeur general", "Monsieur le Directeur général"),
        (
            Civility.MRS,
            "Directrice générale des services",
            "Madame la Directrice générale des services",
        ),
        (Civility.MR, "Président du conseil d'administration", "Monsieur le Président"),
        (Civility.MRS, "Président", "Madame la Présidente"),
        (Civility.MRS, "Administrateur", "Madame l’Administratrice"),
        # A function outside the table is not guessed at: the civilité alone.
        (Civility.MR, "Directeur adjoint", "Monsieur"),
        (Civility.MRS, "Maire-adjointe", "Madame"),
        (Civility.MRS, "Chargée de mission", "Madame"),
        (Civility.MR, "", "Monsieur"),
        (Civility.MRS, "", "Madame"),
        # No civilité: nobody is addressed by a gender the platform does not know.
        (None, "Maire", "Madame, Monsieur"),
        (None, "", "Madame, Monsieur"),
    ],
)
def test_the_salutation_follows_the_civility_and_the_known_function(
    civility: Civility | None, title: str, expected: str
) -> None:
    """M2: « Madame la Maire », « Monsieur le Directeur », « Madame »,
    « Madame, Monsieur », as French administrative letters address people."""
    assert salutation(civility, title) == expected


@pytest.mark.rule("M2")
def test_the_closing_repeats_the_salutation() -> None:
    """M2: the closing formula names the recipient as the salutation did."""
    assert closing(Civility.MRS, "Maire") == (
        "Nous vous prions d’agréer, Madame la Maire, l’expression de nos salutations distinguées."
    )
    assert closing(None) == (
        "Nous vous prions d’agréer, Madame, Monsieur, l’expression de nos salutations distinguées."
    )


@pytest.mark.rule("M2", "C9")
@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        # Day J at midnight, Paris time (winter): the day before is the last one.
        (datetime(2024, 3, 20, 23, 0, tzinfo=UTC), "jusqu’au 20/03/2024 inclus"),
        # Summer time: midnight in Paris is 22:00 UTC.
        (datetime(2024, 7, 8, 22, 0, tzinfo=UTC), "jusqu’au 08/07/2024 inclus"),
    ],
)
def test_the_withdrawal_date_is_the_last_whole_day_inclusive(
    deadline: datetime, expected: str
) -> None:
    """C9: the letter says the last day the representative can act on, « inclus »."""
    assert withdrawal_until(deadline) == expected


def _notification(**changes: object) -> LetterNotification:
    values: dict[str, object] = {
        "kind": LetterKind.CLASSIC_ENROLMENT,
        "siret": "21330063500017",
        "designation": "Commune de Saint-Aubin-de-Médoc",
        "recipient_name": "Madame Christine Lefèvre",
        "recipient_title": "Maire",
        "recipient_civility": Civility.MRS,
        "recipient_address": ("Madame Christine Lefèvre", "33160 ST AUBIN DE MEDOC"),
        "applicant_name": "Monsieur Paul Martin",
        "applicant_civility": Civility.MR,
        "applicant_function": "Ressources humaines",
        "applicant_email": "paul.martin@saint-aubin.example",
        "registered_at": datetime(2024, 3, 13, 9, 30, tzinfo=UTC),
        "withdrawal_deadline": datetime(2024, 3, 20, 23, 0, tzinfo=UTC),
    }
    values.update(changes)
    return LetterNotification(**values)  # type: ignore[arg-type]


@pytest.mark.rule("M2", "C9")
def test_the_withdrawal_date_is_said_once_and_one_way() -> None:
    """C9: the date appears in one sentence, « jusqu’au … inclus »; the tacit acceptance
    refers to « ce délai » rather than naming the date another way."""
    wording = letter_wording(_notification(), withdrawal_url="https://x/d", withdrawal_code="C")
    assert wording.withdrawal is not None
    sentences = [
        wording.opening,
        wording.withdrawal.intro,
        wording.withdrawal.otherwise,
        wording.closing,
    ]
    assert [s for s in sentences if "20/03/2024" in s] == [wording.withdrawal.intro]
    assert "jusqu’au 20/03/2024 inclus" in wording.withdrawal.intro
    assert not any("avant le" in s or "21/03/2024" in s for s in sentences)


@pytest.mark.rule("M2")
@pytest.mark.parametrize(
    ("civility", "words"),
    [
        (Civility.MRS, ("Demandeuse", "administratrice")),
        (Civility.MR, ("Demandeur", "administrateur")),
    ],
)
def test_the_applicants_words_agree_with_the_applicants_civility(
    civility: Civility, words: tuple[str, str]
) -> None:
    """M2: « Madame Jeanne Dupont … administratrice », « Monsieur Paul Martin …
    administrateur »."""
    for kind in LetterKind:
        wording = letter_wording(
            _notification(kind=kind, applicant_civility=civility),
            withdrawal_url=None,
            withdrawal_code=None,
        )
        label, noun = words
        assert (label, "Monsieur Paul Martin") in wording.facts
        assert f"comme {noun} " in wording.opening or f"désormais {noun} " in wording.opening


@pytest.mark.rule("M2")
def test_a_letter_owed_before_the_civilities_were_carried_says_madame_monsieur() -> None:
    """M2: an outbox message written without the civilités still reads correctly."""
    wording = letter_wording(
        _notification(recipient_civility=None, applicant_civility=None),
        withdrawal_url=None,
        withdrawal_code=None,
    )
    assert wording.salutation == "Madame, Monsieur,"
