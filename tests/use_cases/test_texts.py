"""What people read, read as they would (issue 12): the e-mails in both renderers, the
password messages, the results a screen shows, against the seeds' wording."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from peps_onboarding import (
    AccessLevel,
    AccountState,
    EnrolmentState,
    IdentifierRecovery,
    Profile,
    ValidationError,
)
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.adapters.jinja_emails import JinjaEmailRenderer
from peps_onboarding.adapters.randomness import SeededRandomSource
from peps_onboarding.application.rendering import PlainTextEmailRenderer
from peps_onboarding.bootstrap import build_in_memory
from peps_onboarding.domain.links import LinkPurpose
from peps_onboarding.domain.notifications import (
    EmailKind,
    EmailMessage,
    EmailNotification,
    SealedLink,
)
from peps_onboarding.domain.password import PASSWORD_OK_MESSAGE, check_password
from peps_onboarding.domain.values import Civility
from peps_onboarding.ports import EmailRenderer
from peps_onboarding.testing import COMMUNE, PASSWORD, Journey
from peps_onboarding.testing.journeys import START, holder_form
from peps_onboarding.testing.samples import sample_directory

APPLICANT = "jeanne.dupont@employeur.example"
LINK = "https://pep.example/creer-mot-de-passe?jeton=tok-1"
RENDERERS: tuple[EmailRenderer, ...] = (PlainTextEmailRenderer(), JinjaEmailRenderer())
RENDERER_IDS = ("texte", "jinja")


def bodies(message: EmailMessage) -> Iterator[str]:
    """The text body, and the HTML one with its apostrophes read back."""
    yield message.text
    if message.html is not None:
        yield message.html.replace("&#39;", "'")


def notification(
    kind: EmailKind,
    *,
    civility: Civility | None = Civility.MRS,
    recipient: str = "Madame Jeanne Dupont",
    facts: tuple[tuple[str, str], ...] = (),
    expires_at: datetime = datetime(2024, 3, 28, 9, 30, tzinfo=UTC),
) -> EmailNotification:
    purpose = (
        LinkPurpose.PASSWORD_RESET
        if kind is EmailKind.PASSWORD_RESET
        else LinkPurpose.PASSWORD_CREATION
    )
    return EmailNotification(
        kind=kind,
        to="jeanne.dupont@mairie.example",
        recipient=recipient,
        civility=civility,
        siret="21330063500017",
        designation="Commune de Saint-Aubin-de-Médoc",
        identifier="JDU000001",
        facts=facts,
        link=SealedLink(purpose=purpose, nonce="00ff", expires_at=expires_at),
    )


def render(renderer: EmailRenderer, note: EmailNotification) -> EmailMessage:
    return renderer.render(note, message_id="m1", link_url=LINK)


def jinja_journey() -> Journey:
    """A journey whose e-mails come from the production (Jinja2) renderer."""
    clock = FakeClock(START)
    world = build_in_memory(
        clock=clock,
        random=SeededRandomSource(7),
        directory=sample_directory(),
        renderer=JinjaEmailRenderer(),
        secret=b"journey-secret-journey-secret-00",
    )
    return Journey(world, clock)


# --- « Annulation demandée par : à votre demande » ------------------------------------------


@pytest.mark.rule("C9", "M1")
def test_the_withdrawal_email_says_in_a_sentence_that_the_applicant_asked() -> None:
    """C9: the applicant withdraws with the link of the creation e-mail; the e-mail says
    « Cette annulation fait suite à votre demande. », never « … par : à votre demande »."""
    journey = jinja_journey()
    journey.register()
    mail = journey.mails_to(APPLICANT)[-1]
    token = mail.text.split("« Annuler l'inscription » :\n")[1].split()[0].split("jeton=")[1]
    result = journey.platform.withdraw_registration(token)
    last = journey.mails_to(APPLICANT)[-1]
    assert last.kind is EmailKind.REGISTRATION_WITHDRAWN
    for body in bodies(last):
        assert "a été annulée. Cette annulation fait suite à votre demande." in body
        assert "par :" not in body
    assert result.message == (
        "L'inscription de l'établissement à la Plateforme Employeurs Publics Pep's est "
        "annulée et le compte en attente d'activation est supprimé. Un courriel vous le "
        "confirme."
    )


@pytest.mark.rule("C9", "M1")
def test_the_withdrawal_email_names_the_legal_representative_when_they_withdrew() -> None:
    """C9: withdrawn with the letter's code, the e-mail says the legal representative
    asked, in a sentence; the screen says the applicant is told."""
    journey = jinja_journey()
    journey.register()
    result = journey.platform.withdraw_registration(journey.withdrawal_code_in_letter(COMMUNE))
    last = journey.mails_to(APPLICANT)[-1]
    for body in bodies(last):
        assert (
            "a été annulée. Cette annulation a été demandée par le représentant légal de "
            "l'établissement."
        ) in body
        assert "par :" not in body
    assert result.by_legal_representative
    assert result.message.endswith("Le demandeur en est informé par courriel.")


@pytest.mark.rule("C9", "M1")
@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize(
    ("written", "sentence"),
    [
        ("à votre demande", "Cette annulation fait suite à votre demande."),
        (
            "à la demande du représentant légal",
            "Cette annulation a été demandée par le représentant légal de l'établissement.",
        ),
    ],
)
def test_a_withdrawal_owed_before_the_codes_still_reads(
    renderer: EmailRenderer, written: str, sentence: str
) -> None:
    """An e-mail owed before this change holds the old French phrase: it is worded as the
    new ones are, not pasted after « par : »."""
    note = notification(EmailKind.REGISTRATION_WITHDRAWN, facts=(("withdrawn_by", written),))
    for body in bodies(render(renderer, note)):
        assert f"a été annulée. {sentence}" in body
        assert written not in body.replace(sentence, "")


# --- A3: « composé au minimum de : la confirmation est identique au mot de passe » ------------


@pytest.mark.rule("A3")
def test_a_mismatched_confirmation_is_its_own_message() -> None:
    """A3: a password whose only fault is its confirmation respects every rule, and the
    confirmation is told it differs; « composé au minimum de : » lists no confirmation."""
    check = check_password("Motdepasse-1", "Motdepasse-2")
    assert check.password_message == PASSWORD_OK_MESSAGE
    assert check.confirmation_message == (
        "La confirmation ne correspond pas au mot de passe saisi."
    )
    assert "composé au minimum de" not in check.message
    assert check.message == (
        "Votre mot de passe respecte toutes les règles de sécurité. "
        "La confirmation ne correspond pas au mot de passe saisi."
    )


@pytest.mark.rule("A3")
def test_the_composition_list_holds_only_composition_rules() -> None:
    """A3: the seed's « Votre mot de passe doit être composé au minimum de : » lists the
    unmet composition rules and ends with a full stop; the other faults are sentences."""
    check = check_password("motdepasse", "autre")
    assert check.password_message == (
        "Votre mot de passe doit être composé au minimum de : 1 chiffre, 1 majuscule, "
        "1 caractère spécial."
    )
    assert check.message.endswith(" La confirmation ne correspond pas au mot de passe saisi.")
    too_long = check_password("Aa1!" + "x" * 130)
    assert too_long.message == "Votre mot de passe doit comporter 128 caractères au plus."
    assert check_password("Motdepasse-1", "Motdepasse-1").message == PASSWORD_OK_MESSAGE


@pytest.mark.rule("A3", "C7")
def test_creating_a_password_with_a_mismatched_confirmation_reports_it_on_its_field(
    journey: Journey,
) -> None:
    """A3: the screen's error on « Confirmation du mot de passe » says it differs; the
    password field, whose rules all hold, has no error."""
    journey.register()
    with pytest.raises(ValidationError) as caught:
        journey.platform.create_password(
            journey.last_token(APPLICANT), "Motdepasse-1", "Motdepasse-2"
        )
    assert caught.value.messages == {
        "confirmation_mot_de_passe": "La confirmation ne correspond pas au mot de passe saisi."
    }
    with pytest.raises(ValidationError) as both:
        journey.platform.create_password(journey.last_token(APPLICANT), "court", "autre")
    assert both.value.messages["mot_de_passe"].startswith(
        "Votre mot de passe doit être composé au minimum de : 8 caractères, 1 chiffre"
    )
    assert "confirmation" not in both.value.messages["mot_de_passe"]


# --- the civilité, « À bientôt », the footer on personal data -------------------------------


@pytest.mark.rule("M1", "C5")
@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize(
    ("civility", "recipient", "informed", "administrator"),
    [
        (Civility.MRS, "Madame Jeanne Dupont", "informée", "administratrice"),
        (Civility.MR, "Monsieur Jean Dupont", "informé", "administrateur"),
        (None, "Madame Jeanne Dupont", "informée", "administratrice"),  # owed before
    ],
)
def test_the_emails_agree_with_the_recipients_civility(
    renderer: EmailRenderer,
    civility: Civility | None,
    recipient: str,
    informed: str,
    administrator: str,
) -> None:
    """M1: « Vous serez informée par courriel » to Madame, « informé » to Monsieur; the
    administrators told of a new Net-Entreprises user are « administratrice » or
    « administrateur »."""
    creation = render(
        renderer,
        notification(EmailKind.PASSWORD_CREATION, civility=civility, recipient=recipient),
    )
    assert creation.text.startswith(f"Bonjour {recipient},")
    for body in bodies(creation):
        assert f"Vous serez {informed} par courriel" in body
    facts = (("new_user", "Monsieur Paul Martin"), ("new_user_identifier", "PMA000002"))
    new_user = render(
        renderer,
        notification(
            EmailKind.NEW_NET_ENTREPRISES_USER,
            civility=civility,
            recipient=recipient,
            facts=facts,
        ),
    )
    for body in bodies(new_user):
        assert f"En tant qu'{administrator}" in body


@pytest.mark.rule("M1", "R5")
@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
def test_the_administrator_who_created_an_account_is_named_with_agreement(
    renderer: EmailRenderer,
) -> None:
    """R5: « Madame Odile Garnier, administratrice de l'établissement … »."""
    for name, title in (
        ("Madame Odile Garnier", "administratrice"),
        ("Monsieur Paul Martin", "administrateur"),
    ):
        note = notification(EmailKind.PASSWORD_CREATION, facts=(("created_by", name),))
        for body in bodies(render(renderer, note)):
            assert f"{name}, {title} de l'établissement" in body


@pytest.mark.rule("M1", "C5")
def test_a_registration_tells_madame_she_will_be_informed() -> None:
    """M1, C5: the creation e-mail of a real registration agrees with the civilité typed
    in the form (the notification carries it)."""
    for civility, informed in (("Madame", "informée"), ("Monsieur", "informé")):
        journey = jinja_journey()
        journey.register(holder=holder_form(civility=civility))
        mail = journey.mails_to(APPLICANT)[-1]
        for body in bodies(mail):
            assert f"Vous serez {informed} par courriel" in body


@pytest.mark.rule("M1")
@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize("kind", list(EmailKind))
def test_every_email_ends_with_the_seeds_footer(renderer: EmailRenderer, kind: EmailKind) -> None:
    """M1: the seed's footer, « À bientôt » with its accent, the automaton notice and the
    line on personal data; with no page configured, it names the platform, no link."""
    message = render(renderer, notification(kind))
    for body in bodies(message):
        assert "À bientôt sur la Plateforme Employeurs Publics Pep's." in body
        assert "A bientôt" not in body
        assert "Cet email vous a été envoyé par un automate. Merci de ne pas répondre." in body
        assert (
            "Notre politique de protection des données à caractère personnel évolue avec la "
            "nouvelle réglementation."
        ) in body
        assert (
            "Découvrez comment nous traitons vos données sur la Plateforme Employeurs "
            "Publics Pep's."
        ) in body
    assert message.text.rstrip().endswith(
        "Découvrez comment nous traitons vos données sur la Plateforme Employeurs Publics Pep's."
    )


@pytest.mark.rule("M1")
@pytest.mark.parametrize(
    "renderer",
    [
        PlainTextEmailRenderer(privacy_url="https://employeur.example/donnees"),
        JinjaEmailRenderer(privacy_url="https://employeur.example/donnees"),
    ],
    ids=RENDERER_IDS,
)
def test_a_host_gives_its_own_page_on_personal_data(renderer: EmailRenderer) -> None:
    """The seed's link has no address: the renderer's ``privacy_url`` says where it goes."""
    message = render(renderer, notification(EmailKind.ACCESS_OPEN))
    assert message.text.rstrip().endswith(
        "Découvrez comment nous traitons vos données : https://employeur.example/donnees"
    )
    if message.html is not None:
        assert (
            '<a href="https://employeur.example/donnees" style="color:#1d3f8f;">'
            "Découvrez comment nous traitons vos données</a>"
        ) in message.html


# --- times: Paris, said so -----------------------------------------------------------------


@pytest.mark.rule("M1", "C6", "A5")
@pytest.mark.parametrize("renderer", RENDERERS, ids=RENDERER_IDS)
@pytest.mark.parametrize(
    ("kind", "expires_at", "shown"),
    [
        (
            EmailKind.PASSWORD_CREATION,
            datetime(2024, 3, 28, 9, 30, tzinfo=UTC),
            "28/03/2024 à 10:30 (heure de Paris)",
        ),
        (  # summer time: UTC+2
            EmailKind.PASSWORD_RESET,
            datetime(2024, 7, 1, 21, 45, tzinfo=UTC),
            "01/07/2024 à 23:45 (heure de Paris)",
        ),
        (  # the day changes in Paris
            EmailKind.PASSWORD_RESET,
            datetime(2024, 12, 31, 23, 30, tzinfo=UTC),
            "01/01/2025 à 00:30 (heure de Paris)",
        ),
    ],
)
def test_a_links_end_is_said_in_paris_time(
    renderer: EmailRenderer, kind: EmailKind, expires_at: datetime, shown: str
) -> None:
    """M1: « Ce lien est valable jusqu'au 28/03/2024 à 10:30 (heure de Paris). »"""
    message = render(renderer, notification(kind, expires_at=expires_at))
    for body in bodies(message):
        assert f"Ce lien est valable jusqu'au {shown}." in body


@pytest.mark.rule("C5", "M1")
def test_the_registrations_creation_email_gives_its_end_in_paris_time() -> None:
    """C5: registered on 13/03/2024 at 10:30 in Paris, the link lasts until 28/03/2024
    at 10:30, Paris time, and the e-mail says so."""
    journey = jinja_journey()
    journey.register()
    mail = journey.mails_to(APPLICANT)[-1]
    for body in bodies(mail):
        assert "Ce lien est valable jusqu'au 28/03/2024 à 10:30 (heure de Paris)." in body


# --- C7 after day J --------------------------------------------------------------------------


@pytest.mark.rule("C7", "C8")
def test_a_password_created_after_day_j_says_access_is_open_now(journey: Journey) -> None:
    """C7: created on or after day J, the confirmation says « Vous pouvez dès maintenant
    accéder … », not « à compter du » a date already past."""
    journey.register()
    journey.later(days=10)
    token = journey.last_token(APPLICANT)
    created = journey.platform.create_password(token, PASSWORD, PASSWORD)
    assert created.access_open
    assert created.message == (
        "Votre mot de passe a bien été créé. Vous pouvez dès maintenant accéder à l'ensemble "
        "des services de la Plateforme Employeurs Publics."
    )
    assert "à compter du" not in created.message


@pytest.mark.rule("C7")
def test_a_password_created_before_day_j_gives_the_access_date(journey: Journey) -> None:
    """C7: before day J, the seed's sentence with the date (13/03 + 8 days)."""
    journey.register()
    created = journey.platform.create_password(journey.last_token(APPLICANT), PASSWORD, PASSWORD)
    assert not created.access_open
    assert created.message == (
        "Votre mot de passe a bien été créé. Vous pourrez accéder à l'ensemble des services "
        "de la Plateforme Employeurs Publics à compter du 21/03/2024."
    )


# --- results a screen shows ----------------------------------------------------------------


@pytest.mark.rule("A5", "A6", "R5", "C3", "C5", "R1")
def test_the_results_a_screen_shows_carry_their_french_message(journey: Journey) -> None:
    """Reset done, identifier recovered, user created, link resent, registration
    submitted: each result carries the sentence the screen shows."""
    step1 = journey.identify()
    assert step1.message.startswith("Votre établissement n'est pas inscrit. Les étapes 2 et 3")
    submitted = journey.register()
    assert submitted.message.startswith(
        "Votre identifiant de connexion est JDU000001. Un courriel vous est envoyé afin de "
        "créer votre mot de passe. Pensez à vérifier dans vos spams / courriels indésirables"
    )
    assert "Le 21/03/2024, nous vous informerons par courriel" in submitted.message
    resent = journey.platform.resend_creation_link(journey.proof())
    assert resent.sent
    assert resent.message.startswith(
        "Un nouveau courriel vous a été envoyé afin de créer votre mot de passe"
    )
    journey.create_password(APPLICANT)
    not_sent = journey.platform.resend_creation_link(journey.proof())
    assert not not_sent.sent
    assert "a déjà été créé" in not_sent.message
    journey.later(days=8)
    journey.platform.sweep()

    login = journey.platform.login(submitted.identifier, PASSWORD)
    assert (login.profile, login.profile_label) == ("administrator", "Administrateur")
    assert login.profile_label == Profile(login.profile).label

    created = journey.platform.create_user(submitted.identifier, holder_form("Luc", "Moreau"))
    assert created.message == (
        f"Le compte {created.identifier} est créé. Un courriel est envoyé à son titulaire "
        "afin de créer son mot de passe."
    )

    journey.platform.request_password_reset(submitted.identifier)
    done = journey.platform.reset_password(
        journey.last_token(APPLICANT), "Nouveau-mot-2", "Nouveau-mot-2"
    )
    assert done.message == (
        "Votre mot de passe a bien été renouvelé. Vous pouvez dès maintenant vous connecter "
        "avec votre nouveau mot de passe."
    )

    recovered = journey.platform.recover_identifier(
        IdentifierRecovery(siret=COMMUNE, last_name="Dupont", first_name="Jeanne", email=APPLICANT)
    )
    assert recovered.message == (
        "Votre identifiant est JDU000001. Faites une capture d'écran pour ne plus l'oublier."
    )


@pytest.mark.rule("A5", "A4")
def test_a_reset_that_unblocks_says_so(journey: Journey) -> None:
    """A5: a blocked account's reset says it is unblocked."""
    admin = journey.enrolled_administrator()
    for _ in range(journey.platform.policy.max_failed_logins):
        try:
            journey.platform.login(admin, "Mauvais-mot-1")
        except Exception:  # noqa: S112 - the refusals are the point
            continue
    journey.platform.request_password_reset(admin)
    done = journey.platform.reset_password(
        journey.last_token(APPLICANT), "Nouveau-mot-2", "Nouveau-mot-2"
    )
    assert done.unblocked
    assert done.message.startswith(
        "Votre mot de passe a bien été renouvelé et votre compte est débloqué."
    )


@pytest.mark.rule("N3", "N4", "R1")
def test_the_net_entreprises_results_give_the_profiles_french_label(journey: Journey) -> None:
    """R1: « Administrateur » for the first account of an establishment (N4),
    « Utilisateur » for the next (N3), beside the code."""
    first = journey.join_with_net_entreprises()
    assert (first.profile, first.profile_label) == ("administrator", "Administrateur")
    assert "Un courrier est envoyé au représentant légal" in first.message
    second = journey.join_with_net_entreprises(
        first_name="Anne", last_name="Martin", email="anne.martin@employeur.example"
    )
    assert (second.profile, second.profile_label) == ("user", "Utilisateur")
    assert "habilitations par défaut" in second.message


@pytest.mark.rule("R1", "R3", "A2", "E3")
def test_labels_come_from_the_enums() -> None:
    """R1, R3, A2, E3: every profile, right and state has its French label on the enum,
    the one place screens and results read it from."""
    assert [p.label for p in Profile] == ["Administrateur", "Utilisateur"]
    assert [a.label for a in AccessLevel] == ["Aucun", "Lecture seule", "Modification"]
    assert AccountState.PENDING_ACTIVATION.label == "En attente d'activation"
    assert AccountState.BLOCKED.label == "Bloqué"
    assert EnrolmentState.PENDING.label == "En cours d'inscription"
