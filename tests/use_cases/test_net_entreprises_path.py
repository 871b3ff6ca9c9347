"""The Net-Entreprises path (N1–N6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from peps_onboarding import (
    AccessLevel,
    AccountState,
    AccountStateForbidsLoginError,
    ContractNumber,
    EnrolmentState,
    EstablishmentClosedError,
    Identifier,
    InvalidCredentialsError,
    LegalCategoryNotEligibleError,
    LetterKind,
    NetEntreprisesAccountBlockedError,
    NetEntreprisesAccountError,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesLoggedIn,
    NetEntreprisesNotRegisteredError,
    NetEntreprisesPasswordExpiredError,
    NetEntreprisesRefusedError,
    NetEntreprisesSignedIn,
    NetEntreprisesTicketInvalidError,
    NetEntreprisesUnavailableError,
    OnboardingError,
    RegistrationInProgressError,
    Siret,
    UnknownEstablishmentError,
    UnknownSiretError,
    ValidationError,
)
from peps_onboarding.testing import COMMUNE, HOSPITAL, Journey, net_entreprises_form
from peps_onboarding.testing.journeys import CLINIC, CLOSED, NO_CONTRACT

CREDENTIALS_VALUES = {
    "siret": COMMUNE,
    "last_name": "Martin",
    "first_name": "Paul",
    "password": "ne-password",
}
CREDENTIALS = NetEntreprisesCredentials(**CREDENTIALS_VALUES)


def sign_in(journey: Journey, **changes: str) -> NetEntreprisesSignedIn:
    values = {
        "siret": COMMUNE,
        "last_name": "Martin",
        "first_name": "Paul",
        "password": "ne-password",
    }
    values.update(changes)
    journey.world.net_entreprises.register(**values)
    result = journey.platform.sign_in_with_net_entreprises(NetEntreprisesCredentials(**values))
    assert isinstance(result, NetEntreprisesSignedIn)
    return result


@pytest.mark.rule("N1")
def test_all_four_fields_are_required(journey: Journey) -> None:
    """N1: SIRET, nom, prénom and password, each reported."""
    with pytest.raises(ValidationError) as error:
        journey.platform.sign_in_with_net_entreprises(
            NetEntreprisesCredentials(siret="", last_name="", first_name="", password="")
        )
    assert set(error.value.fields) == {"siret", "nom", "prenom", "mot_de_passe"}


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    "wrong", [{"password": "nope"}, {"last_name": "Martinez"}, {"first_name": "Pierre"}]
)
def test_a_refusal_never_says_which_field_was_wrong(
    journey: Journey, wrong: dict[str, str]
) -> None:
    """N1: « Nous n'avons pas réussi à vous identifier… » whatever the wrong field."""
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    values = {
        "siret": COMMUNE,
        "last_name": "Martin",
        "first_name": "Paul",
        "password": "ne-password",
    }
    values.update(wrong)
    with pytest.raises(NetEntreprisesRefusedError) as error:
        journey.platform.sign_in_with_net_entreprises(NetEntreprisesCredentials(**values))
    assert " ".join(error.value.text.split()) == (  # the seed's words, no-break spaces aside
        "Nous n'avons pas réussi à vous identifier. Veuillez vérifier les informations saisies. "
        "Besoin d'aide ? Contactez l'assistance Net-Entreprises au 0 820 000 516 ou via leur "
        "site internet."
    )


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    "failure",
    [
        NetEntreprisesUnavailableError(),
        NetEntreprisesAccountBlockedError(),
        NetEntreprisesPasswordExpiredError(),
        NetEntreprisesNotRegisteredError(),
    ],
)
def test_outages_and_net_entreprises_refusals_keep_their_own_messages(
    journey: Journey, failure: OnboardingError
) -> None:
    """N1: unreachable is never reported as wrong credentials; N-E's refusals keep theirs."""
    journey.world.net_entreprises.fail_with = failure
    with pytest.raises(type(failure)) as error:
        journey.platform.sign_in_with_net_entreprises(CREDENTIALS)
    assert not isinstance(error.value, NetEntreprisesRefusedError)
    assert error.value.code != NetEntreprisesRefusedError.code
    assert "indisponible" in NetEntreprisesUnavailableError.message


@pytest.mark.rule("N2", "E4")
def test_the_establishment_is_checked_from_the_siret(journey: Journey) -> None:
    """N2/E4: unknown, closed, or ineligible legal category without a contract."""
    for siret, expected in (
        ("18002002600019", UnknownEstablishmentError),
        (CLOSED, EstablishmentClosedError),
    ):
        journey.world.net_entreprises.register(
            siret=siret, last_name="Martin", first_name="Paul", password="ne-password"
        )
        with pytest.raises(expected):
            journey.platform.sign_in_with_net_entreprises(
                NetEntreprisesCredentials(
                    siret=siret, last_name="Martin", first_name="Paul", password="ne-password"
                )
            )


@pytest.mark.rule("N2", "N1", "E2")
def test_an_unknown_siret_is_told_of_the_siret_alone_and_only_after_net_entreprises_said_yes(
    journey: Journey,
) -> None:
    """N2: the path asks no contract number, so « ce SIRET et ce numéro de contrat » is
    never its answer; the directory is asked only once Net-Entreprises vouched for the
    person (N1 first), so wrong credentials on an unknown SIRET get the refusal, and an
    unknown SIRET is revealed to nobody who could not sign in there."""
    unknown = "18002002600019"
    attempt = NetEntreprisesCredentials(
        siret=unknown, last_name="Martin", first_name="Paul", password="ne-password"
    )
    with pytest.raises(NetEntreprisesRefusedError):
        journey.platform.sign_in_with_net_entreprises(attempt)
    journey.world.net_entreprises.register(
        siret=unknown, last_name="Martin", first_name="Paul", password="ne-password"
    )
    with pytest.raises(UnknownSiretError) as error:
        journey.platform.sign_in_with_net_entreprises(attempt)
    assert error.value.code == "establishment.unknown_siret"
    assert error.value.text == (
        "Nous ne trouvons pas d'établissement correspondant à ce SIRET. Veuillez vérifier le "
        "SIRET saisi."
    )
    assert "contrat" not in error.value.text


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    "refusal",
    [
        NetEntreprisesRefusedError(),
        NetEntreprisesAccountBlockedError(),
        NetEntreprisesPasswordExpiredError(),
        NetEntreprisesNotRegisteredError(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_the_sign_in_screen_gets_net_entreprises_help_line_with_each_refusal(
    journey: Journey, refusal: OnboardingError
) -> None:
    """N1: what the person reads after a refusal of their Net-Entreprises account ends
    with the seed's « Besoin d'aide ? Contactez l'assistance Net-Entreprises au
    0 820 000 516 ou via leur site internet. »; an outage does not."""
    journey.world.net_entreprises.fail_with = refusal
    with pytest.raises(NetEntreprisesAccountError) as error:
        journey.platform.sign_in_with_net_entreprises(CREDENTIALS)
    assert " ".join(error.value.text.split()).endswith(
        "Besoin d'aide ? Contactez l'assistance Net-Entreprises au 0 820 000 516 ou via leur "
        "site internet."
    )
    journey.world.net_entreprises.fail_with = NetEntreprisesUnavailableError()
    with pytest.raises(NetEntreprisesUnavailableError) as down:
        journey.platform.sign_in_with_net_entreprises(CREDENTIALS)
    assert "assistance" not in down.value.text


@pytest.mark.rule("E4", "N2")
def test_a_public_establishment_without_contract_joins_by_its_legal_category(
    journey: Journey,
) -> None:
    """E4: 7364 without any contract is eligible on the N-E path only."""
    assert sign_in(journey, siret=NO_CONTRACT).profile == "administrator"


@pytest.mark.rule("E4")
def test_a_private_establishment_needs_its_contract(journey: Journey) -> None:
    """E4: the clinic (5710) has an FMIS contract: eligible; policy without contracts refuses."""
    assert sign_in(journey, siret=CLINIC).designation == "Clinique des Tilleuls SAS"
    journey.world.directory.remove_contract(ContractNumber.parse("FM552100"))
    journey.world.net_entreprises.register(
        siret=CLINIC, last_name="Roux", first_name="Bernard", password="x"
    )
    with pytest.raises(LegalCategoryNotEligibleError) as error:
        journey.platform.sign_in_with_net_entreprises(
            NetEntreprisesCredentials(
                siret=CLINIC, last_name="Roux", first_name="Bernard", password="x"
            )
        )
    assert "en raison de sa catégorie juridique" in error.value.text


@pytest.mark.rule("N4", "M2", "E3")
def test_a_not_enrolled_establishment_is_enrolled_at_once_with_an_administrator(
    journey: Journey,
) -> None:
    """N4: ENROLLED at once, administrator flagged N-E, usable at once, letter to the rep."""
    signed = sign_in(journey)
    assert signed.profile == "administrator"
    joined = journey.platform.complete_net_entreprises(
        NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())
    )
    enrolment = journey.world.database.enrolments[Siret.parse(COMMUNE)]
    assert enrolment.state is EnrolmentState.ENROLLED
    account = journey.world.database.accounts[Identifier.parse(joined.identifier)]
    assert (account.profile.value, account.state, account.net_entreprises) == (
        "administrator",
        AccountState.ACTIVE,
        True,
    )
    assert account.holder.last_name.value == "Martin"
    journey.deliver()
    letter = journey.world.letters.sent[-1]
    assert letter.kind is LetterKind.NET_ENTREPRISES_ENROLMENT
    assert letter.withdrawal_code is None
    assert "Monsieur Paul Martin" in letter.text
    members = journey.platform.list_members(joined.identifier)
    assert members.members[0].net_entreprises


@pytest.mark.rule("N3", "R4", "M1")
def test_an_enrolled_establishment_gets_a_user_account_and_every_administrator_is_told(
    journey: Journey,
) -> None:
    """N3: profile « utilisateur », N-E, default rights, e-mail to each administrator."""
    admin = journey.enrolled_administrator()
    second = journey.active_user(admin, "Cécile", "Noël")
    journey.platform.promote(admin, second)
    signed = sign_in(journey)
    assert signed.profile == "user"
    joined = journey.platform.complete_net_entreprises(
        NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())
    )
    account = journey.world.database.accounts[Identifier.parse(joined.identifier)]
    assert account.profile.value == "user"
    assert account.state is AccountState.ACTIVE
    assert {r.level for r in account.rights} == {AccessLevel.NONE}
    for address in ("jeanne.dupont@employeur.example", "cecile.noel@employeur.example"):
        mail = journey.mails_to(address)[-1]
        assert mail.subject == "Un nouveau compte utilisateur a été créé pour votre établissement"
        assert joined.identifier in mail.text
    assert not journey.mails_to("paul.martin@employeur.example")


@pytest.mark.rule("N5")
def test_a_classic_registration_in_progress_blocks_the_net_entreprises_path(
    journey: Journey,
) -> None:
    """N5: PENDING shows the in-progress message; the N-E path does not enrol."""
    journey.register()
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    with pytest.raises(RegistrationInProgressError) as error:
        journey.platform.sign_in_with_net_entreprises(CREDENTIALS)
    assert error.value.text == "Votre établissement est en cours d'inscription."


@pytest.mark.rule("N5")
def test_a_ticket_cannot_enrol_once_a_classic_registration_started(journey: Journey) -> None:
    """N5: checked again at completion."""
    signed = sign_in(journey)
    journey.register()
    with pytest.raises(RegistrationInProgressError):
        journey.platform.complete_net_entreprises(
            NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())
        )


@pytest.mark.rule("N6", "A7")
def test_net_entreprises_holders_sign_in_through_net_entreprises_only(journey: Journey) -> None:
    """N6: no platform password; the N-E sign-in logs them in and counts for expiry."""
    joined = journey.join_with_net_entreprises(HOSPITAL)
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(joined.identifier, "ne-password")
    journey.platform.request_password_reset(joined.identifier)
    assert not journey.mails_to("paul.martin@employeur.example")
    journey.later(days=30)
    again = journey.platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=HOSPITAL, last_name="MARTIN", first_name="paul", password="ne-password"
        )
    )
    assert again == NetEntreprisesLoggedIn(
        identifier=joined.identifier, siret=HOSPITAL, profile="administrator"
    )
    account = journey.world.database.accounts[Identifier.parse(joined.identifier)]
    assert account.last_login_at == journey.clock.now()


@pytest.mark.rule("N6", "R5")
def test_an_invalidated_net_entreprises_user_cannot_come_back_through_net_entreprises(
    journey: Journey,
) -> None:
    """R5: invalidation by an administrator holds against a new N-E sign-in."""
    admin = journey.enrolled_administrator()
    joined = journey.join_with_net_entreprises()
    journey.platform.invalidate(admin, joined.identifier)
    with pytest.raises(AccountStateForbidsLoginError):
        journey.platform.sign_in_with_net_entreprises(CREDENTIALS)


@pytest.mark.rule("N3")
def test_a_forged_or_stale_ticket_is_refused(journey: Journey) -> None:
    """N3/N4: the completion needs the ticket of a recent sign-in."""
    signed = sign_in(journey)
    payload, signature = signed.ticket.split(".")
    for forged in (f"{payload}.{signature[:-2]}AA", "garbage", f"{payload}", "a.b.c"):
        with pytest.raises(NetEntreprisesTicketInvalidError):
            journey.platform.complete_net_entreprises(
                NetEntreprisesCompletion(ticket=forged, form=net_entreprises_form())
            )
    journey.clock.advance(timedelta(minutes=31))
    with pytest.raises(NetEntreprisesTicketInvalidError):
        journey.platform.complete_net_entreprises(
            NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())
        )


@pytest.mark.rule("N3", "C4")
def test_the_completion_form_reports_every_field_and_the_terms(journey: Journey) -> None:
    """N3/N4: same form as C4 (names from the sign-in), CGU required."""
    signed = sign_in(journey)
    with pytest.raises(ValidationError) as error:
        journey.platform.complete_net_entreprises(
            NetEntreprisesCompletion(
                ticket=signed.ticket,
                form=net_entreprises_form(phone="0612345678", terms_accepted=False, civility=""),
            )
        )
    assert set(error.value.fields) == {"telephone", "cgu", "civilite"}
    assert journey.world.database.accounts == {}
