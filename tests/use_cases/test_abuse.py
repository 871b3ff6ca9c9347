"""The journeys turned against their users, each attack now failing (C10, P1–P3, A4)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from attrs import evolve

from peps_onboarding import (
    AccountBlockedError,
    AccountStateForbidsLoginError,
    Argon2PasswordHasher,
    CaptchaFailedError,
    ClassicRegistration,
    EstablishmentIdentification,
    Identifier,
    IdentifierNotFoundError,
    IdentifierRecovery,
    InvalidCredentialsError,
    NetEntreprisesCredentials,
    NetEntreprisesRefusedError,
    NetEntreprisesSignedIn,
    PasswordResetRequested,
    Policy,
    StepOneRequiredError,
    TooManyAttemptsError,
)
from peps_onboarding.domain.notifications import PasswordResetRequest
from peps_onboarding.domain.throttling import RateLimit, RateLimits
from peps_onboarding.testing import COMMUNE, COMMUNE_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.concurrency import CountingHasher
from peps_onboarding.testing.journeys import HOSPITAL, HOSPITAL_CONTRACT, holder_form

EMAIL = "jeanne.dupont@employeur.example"


def _stored(journey: Journey) -> tuple[int, int, int, int, int]:
    db = journey.world.database
    return len(db.enrolments), len(db.accounts), len(db.links), len(db.events), len(db.outbox)


def _throttled(error: pytest.ExceptionInfo[TooManyAttemptsError], minutes: int) -> None:
    unit = "minute" if minutes == 1 else "minutes"
    expected = f"Trop de tentatives. Veuillez réessayer dans {minutes} {unit}."
    assert str(error.value) == expected
    assert error.value.code == "throttled"


# --- C10: step 1 guards the later steps -------------------------------------------------


@pytest.mark.rule("C10")
@pytest.mark.parametrize("proof", ["", "forged.proof", "a" * 600, "é.é"])
def test_steps_two_and_three_without_step_ones_proof_store_nothing(
    journey: Journey, proof: str
) -> None:
    """C10: no pair is registered without a proof that it passed step 1 (the captcha-free
    oracle for valid pairs is gone: steps 2-3 take no pair at all)."""
    with pytest.raises(StepOneRequiredError) as refused:
        journey.platform.register(
            ClassicRegistration(proof=proof, holder=holder_form(), terms_accepted=True)
        )
    assert "recommencer l'inscription" in str(refused.value)
    assert _stored(journey) == (0, 0, 0, 0, 0)


@pytest.mark.rule("C10")
def test_a_proof_lasts_thirty_minutes(journey: Journey) -> None:
    """C10: 30 minutes by default; then step 1 must be passed again."""
    proof = journey.proof()
    journey.later(minutes=30)
    with pytest.raises(StepOneRequiredError):
        journey.register(proof=proof)
    assert journey.register().identifier == "JDU000001"  # a fresh step 1 works


@pytest.mark.rule("C10", "C1")
def test_a_failed_security_check_hands_out_no_proof(journey: Journey) -> None:
    """C1, C10: without the security check there is no result, hence no proof."""
    with pytest.raises(CaptchaFailedError):
        journey.platform.identify_establishment(
            EstablishmentIdentification(
                siret=COMMUNE, contract_number=COMMUNE_CONTRACT, captcha_response="agrafe"
            )
        )


@pytest.mark.rule("C10")
def test_a_proof_names_its_own_pair_and_cannot_be_moved_to_another(journey: Journey) -> None:
    """C10: the pair is inside the signed proof; rewriting it voids the signature."""
    encoded, signature = journey.proof().split(".")
    payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    moved = payload.replace(COMMUNE, HOSPITAL).replace(COMMUNE_CONTRACT, HOSPITAL_CONTRACT)
    forged = base64.urlsafe_b64encode(moved.encode()).decode().rstrip("=") + "." + signature
    with pytest.raises(StepOneRequiredError):
        journey.register(proof=forged)
    assert _stored(journey)[0] == 0


@pytest.mark.rule("C10", "N1")
def test_a_net_entreprises_ticket_is_no_step_one_proof(journey: Journey) -> None:
    """C10: another signed ticket of the platform does not pass for a proof."""
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    signed = journey.platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    with pytest.raises(StepOneRequiredError):
        journey.register(proof=signed.ticket)
    with pytest.raises(StepOneRequiredError):
        journey.platform.administrators(signed.ticket)


@pytest.mark.rule("C10", "C2", "C3", "R7")
def test_the_names_and_the_resend_reveal_and_send_nothing_without_a_proof(
    journey: Journey,
) -> None:
    """C10: the full list of administrators and « Vous en envoyer un nouveau » need the
    proof; with it, both work."""
    journey.register()
    journey.deliver()
    mails = len(journey.world.mailer.sent)
    with pytest.raises(StepOneRequiredError):
        journey.platform.administrators("")
    with pytest.raises(StepOneRequiredError):
        journey.platform.resend_creation_link("")
    journey.deliver()
    assert len(journey.world.mailer.sent) == mails
    assert journey.platform.resend_creation_link(journey.proof()).sent


# --- P1: every anonymous entry point is throttled ---------------------------------------


@pytest.mark.rule("P1", "C1")
def test_step_one_is_limited_per_siret(journey: Journey) -> None:
    """P1: 10 step-1 passes per SIRET in 10 minutes; the 11th is told to wait."""
    for _ in range(10):
        journey.identify()
    with pytest.raises(TooManyAttemptsError) as refused:
        journey.identify()
    _throttled(refused, 10)
    journey.identify(HOSPITAL, HOSPITAL_CONTRACT)  # another target is not held


@pytest.mark.rule("P1", "C1")
def test_step_one_is_limited_per_source_too() -> None:
    """P1: 30 step-1 attempts from one address in 10 minutes, whatever the SIRET; the
    31st is refused before the security check is even looked at."""
    limits = evolve(RateLimits(), identification_per_siret=RateLimit(100, timedelta(hours=1)))
    journey = Journey.start(policy=evolve(Policy(), rate_limits=limits))
    command = EstablishmentIdentification(
        siret=COMMUNE, contract_number=COMMUNE_CONTRACT, captcha_response="trombone"
    )
    for _ in range(30):
        journey.platform.identify_establishment(command, client="192.0.2.7")
    with pytest.raises(TooManyAttemptsError) as refused:
        journey.platform.identify_establishment(
            evolve(command, captcha_response="agrafe"), client="192.0.2.7"
        )
    _throttled(refused, 10)
    journey.platform.identify_establishment(command, client="192.0.2.8")


@pytest.mark.rule("P1", "A5", "M1")
def test_a_mailbox_cannot_be_flooded_by_forgotten_password(journey: Journey) -> None:
    """P1: 100 anonymous requests from 100 addresses: 5 e-mails, 95 told to wait, and the
    refused requests store nothing."""
    admin = journey.enrolled_administrator()
    before = len(journey.mails_to(EMAIL))
    told: list[str] = []
    for n in range(100):
        try:
            journey.platform.request_password_reset(admin, client=f"198.51.100.{n}")
        except TooManyAttemptsError as error:
            told.append(str(error))
    assert told == ["Trop de tentatives. Veuillez réessayer dans 15 minutes."] * 95
    requests = [
        m
        for m in journey.world.database.outbox.values()
        if isinstance(m.notification, PasswordResetRequest)
    ]
    assert len(requests) == 5
    journey.deliver()
    assert len(journey.mails_to(EMAIL)) - before == 5


@pytest.mark.rule("P1", "A5")
def test_forgotten_password_is_limited_per_source(journey: Journey) -> None:
    """P1: one address asks for 20 identifiers in 15 minutes, not 21."""
    for n in range(20):
        journey.platform.request_password_reset(f"ABC{n:06d}", client="203.0.113.9")
    with pytest.raises(TooManyAttemptsError):
        journey.platform.request_password_reset("ABC999999", client="203.0.113.9")
    assert journey.platform.request_password_reset("ABC999999") == PasswordResetRequested()


@pytest.mark.rule("P1")
def test_an_ipv6_client_counts_by_its_64_block(journey: Journey) -> None:
    """P1: one host usually holds a whole /64: its addresses share one count."""
    for n in range(20):
        journey.platform.request_password_reset(f"ABC{n:06d}", client=f"2001:db8:1:2::{n:x}")
    with pytest.raises(TooManyAttemptsError):
        journey.platform.request_password_reset("ABC999999", client="2001:db8:1:2:ffff::1")
    journey.platform.request_password_reset("ABC999999", client="2001:db8:1:3::1")


@pytest.mark.rule("P1", "A6")
def test_forgotten_identifier_is_limited_per_email(journey: Journey) -> None:
    """P1: 5 recoveries per e-mail address in 15 minutes, then a wait, even when right."""
    journey.enrolled_administrator()
    recovery = IdentifierRecovery(
        siret=COMMUNE, last_name="Dupont", first_name="Jeanne", email="autre@employeur.example"
    )
    for _ in range(5):
        with pytest.raises(IdentifierNotFoundError):
            journey.platform.recover_identifier(recovery)
    with pytest.raises(TooManyAttemptsError):
        journey.platform.recover_identifier(recovery)
    right = IdentifierRecovery(siret=COMMUNE, last_name="Dupont", first_name="Jeanne", email=EMAIL)
    assert journey.platform.recover_identifier(right).identifier == "JDU000001"


@pytest.mark.rule("P1", "N1")
def test_net_entreprises_sign_in_is_limited_per_person(journey: Journey) -> None:
    """P1: 5 sign-ins per (SIRET, nom, prénom) in 5 minutes; the 6th reaches no verifier,
    whatever the password."""
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    wrong = NetEntreprisesCredentials(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="devine"
    )
    for _ in range(5):
        with pytest.raises(NetEntreprisesRefusedError):
            journey.platform.sign_in_with_net_entreprises(wrong)
    with pytest.raises(TooManyAttemptsError) as refused:
        journey.platform.sign_in_with_net_entreprises(
            NetEntreprisesCredentials(
                siret=COMMUNE, last_name="MARTIN", first_name="paul", password="ne-password"
            )
        )
    _throttled(refused, 5)


@pytest.mark.rule("P1", "C3")
def test_the_resend_is_limited_per_establishment(journey: Journey) -> None:
    """P1: 3 « Vous en envoyer un nouveau » per establishment an hour."""
    journey.register()
    for _ in range(3):
        assert journey.platform.resend_creation_link(journey.proof()).sent
    with pytest.raises(TooManyAttemptsError) as refused:
        journey.platform.resend_creation_link(journey.proof())
    _throttled(refused, 60)
    journey.deliver()
    assert len(journey.mails_to(EMAIL)) == 4  # the first link and three new ones


@pytest.mark.rule("P1")
def test_the_wait_is_said_in_whole_minutes() -> None:
    """P1: « dans N minutes », rounded up, singular for one."""
    assert TooManyAttemptsError(timedelta(seconds=5)).text.endswith("dans 1 minute.")
    assert TooManyAttemptsError(timedelta(seconds=61)).text.endswith("dans 2 minutes.")
    assert TooManyAttemptsError(timedelta(minutes=15)).text.endswith("dans 15 minutes.")


# --- P3 and A4: lockout is not a cheap weapon, no dormant oracle ------------------------


def _counting_journey() -> tuple[Journey, CountingHasher]:
    hasher = CountingHasher(Argon2PasswordHasher.fast_for_tests())
    return Journey.start(hasher=hasher), hasher


@pytest.mark.rule("P1", "P3", "A4")
def test_a_source_past_its_limit_checks_no_password_and_adds_no_failure() -> None:
    """P3: from an address that failed 10 times in a minute, the next login compares no
    password (even the right one) and does not move the account toward its block."""
    journey, hasher = _counting_journey()
    admin = journey.enrolled_administrator()
    for n in range(10):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(f"XYZ{n:06d}", "devine", client="192.0.2.66")
    checked = hasher.verifications
    with pytest.raises(TooManyAttemptsError) as refused:
        journey.platform.login(admin, PASSWORD, client="192.0.2.66")
    _throttled(refused, 1)
    assert hasher.verifications == checked
    assert journey.world.database.accounts[Identifier.parse(admin)].failed_logins == 0
    assert journey.platform.login(admin, PASSWORD, client="192.0.2.67").identifier == admin


@pytest.mark.rule("P3", "A4", "R7")
def test_one_source_cannot_lock_the_administrators_out(journey: Journey) -> None:
    """P3: the names come from step 1 and the identifiers follow from the names; still,
    9 logins from one address block none of three administrators: one source adds at
    most 2 failures to an account. Blocking one takes a second source."""
    admin = journey.enrolled_administrator()
    others = [
        journey.active_user(admin, "Mathieu", "Roy"),
        journey.active_user(admin, "Cécile", "Noël"),
    ]
    for other in others:
        journey.platform.promote(admin, other)
    refused = 0
    for target in [admin, *others] * 3:
        try:
            journey.platform.login(target, "devine", client="192.0.2.10")
        except InvalidCredentialsError:
            pass
        except TooManyAttemptsError:
            refused += 1
    assert refused == 3
    for target in [admin, *others]:
        assert journey.platform.login(target, PASSWORD, client="192.0.2.11").identifier
    # A block still happens, from as many sources as the block needs failures.
    for source in ("192.0.2.20", "192.0.2.21", "192.0.2.22"):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(admin, "devine", client=source)
    with pytest.raises(AccountBlockedError):
        journey.platform.login(admin, PASSWORD, client="192.0.2.23")


@pytest.mark.rule("A4", "A7")
def test_an_expired_account_is_no_unlimited_password_oracle() -> None:
    """A4: failures count on an expired account too; past the limit it stops checking
    passwords (the right one included) until its password is reset or it is renewed."""
    journey, hasher = _counting_journey()
    admin = journey.enrolled_administrator()
    journey.later(days=31 * 19)
    journey.platform.sweep()
    for _ in range(3):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(admin, "devine")
    checked = hasher.verifications
    for guess in ("devine", "encore", PASSWORD):
        with pytest.raises(InvalidCredentialsError):  # never « login.account_state »
            journey.platform.login(admin, guess)
    assert hasher.verifications == checked
    journey.platform.request_password_reset(admin)
    journey.deliver()
    journey.platform.reset_password(journey.last_token(EMAIL), "Nouveau-mdp-1", "Nouveau-mdp-1")
    with pytest.raises(AccountStateForbidsLoginError):  # the right password, told its state
        journey.platform.login(admin, "Nouveau-mdp-1")


@pytest.mark.rule("A4")
def test_only_blocked_is_told_whatever_the_password(journey: Journey) -> None:
    """A4: « Bloqué » is said to any password; an account with no password yet answers as
    a wrong password does."""
    admin = journey.enrolled_administrator()
    for _ in range(3):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(admin, "devine")
    with pytest.raises(AccountBlockedError):
        journey.platform.login(admin, "n'importe quoi")
    pending = journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Roy"))
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(pending.identifier, PASSWORD)


# --- P2: forgotten password does the same work either way -------------------------------


@pytest.mark.rule("P2", "A5")
def test_forgotten_password_does_the_same_work_whether_or_not_the_account_exists(
    journey: Journey,
) -> None:
    """P2: both requests record one request and nothing else, with the same answer; the
    dispatcher then mails the existing account only."""
    admin = journey.enrolled_administrator()
    db = journey.world.database
    mails = len(journey.mails_to(EMAIL))
    effects = []
    for identifier in (admin, "ZZZ999999"):
        links, events, outbox = len(db.links), len(db.events), len(db.outbox)
        commits = db.commits
        answer = journey.platform.request_password_reset(identifier)
        assert answer == PasswordResetRequested()
        effects.append(
            (
                len(db.links) - links,
                len(db.events) - events,
                len(db.outbox) - outbox,
                db.commits - commits,
            )
        )
    assert effects[0] == effects[1] == (0, 0, 1, 1)
    journey.deliver()
    assert len(journey.mails_to(EMAIL)) == mails + 1
    journey.platform.reset_password(journey.last_token(EMAIL), "Nouveau-mdp-1", "Nouveau-mdp-1")
    assert journey.platform.login(admin, "Nouveau-mdp-1").identifier == admin


@pytest.mark.rule("P2", "A5", "N6")
def test_a_request_for_a_net_entreprises_account_resolves_to_nothing(journey: Journey) -> None:
    """N6, P2: recorded like any other, then dropped by the dispatcher: no link, no mail."""
    joined = journey.join_with_net_entreprises()
    mails, links = len(journey.world.mailer.sent), len(journey.world.database.links)
    journey.platform.request_password_reset(joined.identifier)
    report = journey.platform.dispatch_notifications()
    assert (report.sent, report.failed, report.pending) == (0, 0, 0)
    assert len(journey.world.mailer.sent) == mails
    assert len(journey.world.database.links) == links
