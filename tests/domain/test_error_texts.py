"""Every error's French text, read as the person shown it would read it (issue 12, N1)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

import peps_onboarding.domain.errors as errors_module
from peps_onboarding.domain.errors import (
    NET_ENTREPRISES_ASSISTANCE,
    AccessNotYetOpenError,
    AccountBlockedError,
    EstablishmentClosedError,
    FieldError,
    LastAdministratorError,
    LegalCategoryNotEligibleError,
    LinkNoLongerValidError,
    NetEntreprisesAccountBlockedError,
    NetEntreprisesAccountError,
    NetEntreprisesAccountExistsError,
    NetEntreprisesNotRegisteredError,
    NetEntreprisesPasswordExpiredError,
    NetEntreprisesRefusedError,
    NetEntreprisesUnavailableError,
    NotificationDeliveryError,
    NotificationRefusedError,
    OnboardingError,
    StepOneRequiredError,
    TooManyAttemptsError,
    TransitionNotAllowedError,
    UnknownEstablishmentError,
    UnknownSiretError,
    ValidationError,
)

NBSP = "\u00a0"

# The seed « Se connecter avec Net-Entreprises », the refusal under the form, verbatim.
SEED_NE_REFUSAL = (
    "Nous n'avons pas réussi à vous identifier. Veuillez vérifier les informations saisies. "
    "Besoin d'aide ? Contactez l'assistance Net-Entreprises au 0 820 000 516 ou via leur "
    "site internet."
)
SEED_NE_HELP = (
    "Besoin d'aide ? Contactez l'assistance Net-Entreprises au 0 820 000 516 ou via leur "
    "site internet."
)


def words(text: str) -> str:
    """The text as the seed prints it: every run of spaces (no-break ones too) one space."""
    return " ".join(text.split())


def every_error_class() -> list[type[OnboardingError]]:
    found: list[type[OnboardingError]] = []
    pending: list[type[OnboardingError]] = [OnboardingError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    # only the library's: tests may define their own subclasses (fakes' failures)
    ours = {cls for cls in found if cls.__module__ == errors_module.__name__}
    return sorted(ours, key=lambda cls: cls.__name__)


def shown(cls: type[OnboardingError]) -> OnboardingError:
    """An instance of ``cls`` as a use case raises it (typed fields filled in)."""
    samples: dict[type[OnboardingError], OnboardingError] = {
        ValidationError: ValidationError({"siret": FieldError("required", "Obligatoire.")}),
        LegalCategoryNotEligibleError: LegalCategoryNotEligibleError("5710"),
        LinkNoLongerValidError: LinkNoLongerValidError(("Jeanne Dupont",)),
        AccessNotYetOpenError: AccessNotYetOpenError(date(2024, 3, 21)),
        TooManyAttemptsError: TooManyAttemptsError(timedelta(seconds=61)),
        TransitionNotAllowedError: TransitionNotAllowedError("active", "renew"),
    }
    return samples.get(cls) or cls()


ERRORS = every_error_class()


def test_the_walk_finds_every_error_of_the_module() -> None:
    """Guards the parametrisation below: every exported error class is read."""
    exported = {
        getattr(errors_module, name)
        for name in errors_module.__all__
        if isinstance(getattr(errors_module, name), type)
        and issubclass(getattr(errors_module, name), OnboardingError)
    }
    assert exported <= set(ERRORS)
    assert len(exported) == len(ERRORS) >= 39


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_text_is_typeset_french(cls: type[OnboardingError]) -> None:
    """Issue 12: a capital first, a full stop last; no English code, no ``None``, no
    placeholder; a no-break space before « : ; ? ! » and inside « », never a plain
    one, nor two spaces in a row (so no screen breaks a line before a colon)."""
    text = shown(cls).text
    assert text[0].isupper() and text.endswith("."), text
    assert "None" not in text and "_" not in text and "{" not in text, text
    assert not re.search(r"[ ][:;?!»]|«[ ]|  ", text), text
    assert not re.search(r"\S[:;?!»]|«\S", text.replace("://", "")), text
    assert not re.search(r"\b(error|invalid|the|account|link|please)\b", text, re.I), text


@pytest.mark.rule("N1")
def test_the_net_entreprises_refusal_is_the_seed_s_message_with_its_help_line() -> None:
    """N1: « Nous n'avons pas réussi à vous identifier. Veuillez vérifier les informations
    saisies. Besoin d'aide ? Contactez l'assistance Net-Entreprises au 0 820 000 516 ou
    via leur site internet. », word for word; the number never broken across lines."""
    text = NetEntreprisesRefusedError().text
    assert words(text) == SEED_NE_REFUSAL
    assert f"0{NBSP}820{NBSP}000{NBSP}516" in text
    assert f"aide{NBSP}?" in text
    assert NetEntreprisesRefusedError.message == text  # a host showing ``message`` has it


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    ("error", "first"),
    [
        (
            NetEntreprisesRefusedError(),
            "Nous n'avons pas réussi à vous identifier. Veuillez vérifier les informations "
            "saisies.",
        ),
        (NetEntreprisesAccountBlockedError(), "Votre compte Net-Entreprises est bloqué."),
        (
            NetEntreprisesPasswordExpiredError(),
            "Votre mot de passe Net-Entreprises a expiré. Veuillez le renouveler sur le site "
            "Net-Entreprises.",
        ),
        (
            NetEntreprisesNotRegisteredError(),
            "Votre compte Net-Entreprises n'est pas inscrit au service utilisé par la "
            "Plateforme Employeurs Publics. Veuillez vous inscrire à ce service depuis votre "
            "espace Net-Entreprises.",
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, OnboardingError) else "",
)
def test_each_refusal_of_the_net_entreprises_account_ends_with_the_seed_s_help_line(
    error: NetEntreprisesAccountError, first: str
) -> None:
    """N1: what only Net-Entreprises can mend (refused, blocked there, password expired
    there, not registered for the service) sends the person to its assistance, as the
    seed's refusal does; the help line is also on its own for a screen that links it."""
    assert isinstance(error, NetEntreprisesAccountError)
    assert words(error.text) == f"{first} {SEED_NE_HELP}"
    assert words(error.assistance) == SEED_NE_HELP == words(NET_ENTREPRISES_ASSISTANCE)
    assert "inscrite" not in error.text  # nothing agrees with a civilité the path lacks


@pytest.mark.rule("N1")
def test_an_outage_or_a_platform_side_refusal_does_not_send_people_to_net_entreprises() -> None:
    """N1: « indisponible » is a retry, maybe our fault, and an account already held here
    is PEP's matter: neither names Net-Entreprises' assistance."""
    for error in (NetEntreprisesUnavailableError(), NetEntreprisesAccountExistsError()):
        assert not isinstance(error, NetEntreprisesAccountError)
        assert "0 820" not in words(error.text)
    assert NetEntreprisesAccountExistsError().text.startswith(
        "Vous avez déjà un compte pour cet établissement."
    )


@pytest.mark.rule("N2", "E2")
def test_the_net_entreprises_path_speaks_of_the_siret_alone() -> None:
    """N2: the path asks no contract number, so its « unknown » never names one; it is
    still an ``UnknownEstablishmentError`` for a host catching the family (E2's classic
    wording is unchanged)."""
    assert UnknownSiretError().text == (
        "Nous ne trouvons pas d'établissement correspondant à ce SIRET. Veuillez vérifier le "
        "SIRET saisi."
    )
    assert "contrat" not in UnknownSiretError().text
    assert isinstance(UnknownSiretError(), UnknownEstablishmentError)
    assert UnknownSiretError.code != UnknownEstablishmentError.code
    assert "ce SIRET et à ce numéro de contrat" in UnknownEstablishmentError().text


@pytest.mark.rule("A4", "E4", "E5", "C10")
def test_the_texts_reworded_in_review() -> None:
    """Issue 12: the FAQ's « puis suivez les indications » after « Mot de passe oublié »;
    a security check one answers, not indicates; French for a retried notification."""
    assert words(AccountBlockedError().text) == (
        "Votre compte est bloqué à la suite de plusieurs tentatives de connexion "
        "infructueuses. Pour le débloquer, cliquez sur « Mot de passe oublié » puis suivez "
        "les indications."
    )
    assert words(StepOneRequiredError().text) == (
        "Votre saisie a expiré. Veuillez recommencer l'inscription à l'étape 1 : saisissez "
        "à nouveau le SIRET et le numéro de contrat, puis répondez au contrôle de sécurité."
    )
    assert f"impossible{NBSP}:" in LastAdministratorError().text
    assert f"activité){NBSP}:" in EstablishmentClosedError().text
    assert "réessayé" not in NotificationDeliveryError().text
    assert "réessayée" not in NotificationRefusedError().text
