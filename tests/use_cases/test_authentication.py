"""Logins, lockout, forgotten password and identifier, expiry, links (A1, A3–A8)."""

from __future__ import annotations

import re

import pytest

from peps_onboarding import (
    AccountBlockedError,
    AccountState,
    AccountStateForbidsLoginError,
    Identifier,
    IdentifierNotFoundError,
    IdentifierRecovery,
    InvalidCredentialsError,
    LinkNoLongerValidError,
    PasswordResetRequested,
    PasswordRule,
    Policy,
    ValidationError,
)
from peps_onboarding.domain.links import hash_token
from peps_onboarding.testing import COMMUNE, HOSPITAL, HOSPITAL_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.journeys import holder_form

EMAIL = "jeanne.dupont@employeur.example"


@pytest.fixture
def admin(journey: Journey) -> str:
    return journey.enrolled_administrator()


@pytest.mark.rule("A1")
def test_identifiers_take_letters_from_the_names_and_are_never_reused(journey: Journey) -> None:
    """A1: 3 letters from the names, 6 digits, unique, never reused after deletion."""
    first = journey.register(holder=holder_form("Élodie", "Œuvray-D'Aubigné"))
    assert first.identifier == "EOE000001"
    journey.later(days=16)
    journey.platform.sweep()  # deletes the unused account
    again = journey.register(holder=holder_form("Elodie", "Oeuvray"))
    assert again.identifier == "EOE000002"
    other = journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Ô", "Li"))
    assert re.fullmatch(r"[A-Z]{3}\d{6}", other.identifier)
    assert other.identifier == "OLI000001"


@pytest.mark.rule("A3")
def test_the_password_check_lists_every_unmet_rule(journey: Journey) -> None:
    """A3: each unmet rule listed; the success message when all hold."""
    check = journey.platform.check_password("abc")
    assert set(check.unmet) == {
        PasswordRule.MIN_LENGTH,
        PasswordRule.DIGIT,
        PasswordRule.UPPER,
        PasswordRule.SPECIAL,
    }
    assert not check.ok
    ok = journey.platform.check_password("Abcdefg1!", "Abcdefg1!")
    assert ok.message == "Votre mot de passe respecte toutes les règles de sécurité."
    assert journey.platform.check_password("Abcdefg1!", "Abcdefg1?").unmet == (
        PasswordRule.CONFIRMATION,
    )


@pytest.mark.rule("A3", "C7")
def test_a_weak_or_unconfirmed_password_is_refused_and_the_link_stays_usable(
    journey: Journey,
) -> None:
    """A3: field errors; the creation link is not consumed by a refusal."""
    journey.register()
    token = journey.last_token(EMAIL)
    with pytest.raises(ValidationError) as error:
        journey.platform.create_password(token, "faible", "faible")
    assert set(error.value.fields) == {"mot_de_passe"}
    assert "8 caractères" in error.value.messages["mot_de_passe"]
    with pytest.raises(ValidationError) as error:
        journey.platform.create_password(token, PASSWORD, PASSWORD + "x")
    assert set(error.value.fields) == {"confirmation_mot_de_passe"}
    journey.platform.create_password(token, PASSWORD, PASSWORD)


@pytest.mark.rule("A4", "A7")
def test_a_successful_login_records_its_time_and_restarts_expiry(
    journey: Journey, admin: str
) -> None:
    """A4: the members list shows the last login; A7: expiry 18 months after it."""
    journey.later(days=40)
    result = journey.platform.login(admin, PASSWORD)
    row = journey.platform.list_members(admin).members[0]
    assert row.last_login_at == journey.clock.now()
    assert result.expires_at.date().isoformat() == "2025-10-30"
    assert row.expires_on is not None


@pytest.mark.rule("A4")
def test_an_unknown_identifier_and_a_wrong_password_get_the_same_error(
    journey: Journey, admin: str
) -> None:
    """A4: no account enumeration through the login error."""
    errors = []
    for identifier, password in ((admin, "Wrong-pass1"), ("ZZZ999999", PASSWORD), ("??", PASSWORD)):
        with pytest.raises(InvalidCredentialsError) as error:
            journey.platform.login(identifier, password)
        errors.append((error.value.code, error.value.text))
    assert len(set(errors)) == 1


@pytest.mark.rule("A4")
def test_three_consecutive_failures_block_the_account(journey: Journey, admin: str) -> None:
    """A4: the third failure blocks and points to « Mot de passe oublié »."""
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(admin, "Wrong-pass1")
    with pytest.raises(AccountBlockedError) as error:
        journey.platform.login(admin, "Wrong-pass1")
    assert "«\u00a0Mot de passe oublié\u00a0»" in error.value.text  # no-break spaces
    with pytest.raises(AccountBlockedError):
        journey.platform.login(admin, PASSWORD)  # even the right password
    assert journey.world.database.accounts[Identifier.parse(admin)].state is AccountState.BLOCKED


@pytest.mark.rule("A4")
def test_a_success_resets_the_failure_count(journey: Journey, admin: str) -> None:
    """A4: consecutive failures only."""
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(admin, "Wrong-pass1")
    journey.platform.login(admin, PASSWORD)
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(admin, "Wrong-pass1")
    journey.platform.login(admin, PASSWORD)


@pytest.mark.rule("A4")
def test_the_failure_limit_is_policy() -> None:
    """A4: the live platform's 5 instead of the seeds' 3."""
    journey = Journey.start(policy=Policy(max_failed_logins=5))
    admin = journey.enrolled_administrator()
    for _ in range(4):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(admin, "Wrong-pass1")
    with pytest.raises(AccountBlockedError):
        journey.platform.login(admin, "Wrong-pass1")


@pytest.mark.rule("A4", "A7")
def test_an_expired_account_cannot_log_in(journey: Journey, admin: str) -> None:
    """A4: « L'état de votre compte ne permet pas votre connexion. »"""
    journey.later(days=18 * 31)
    with pytest.raises(AccountStateForbidsLoginError) as error:
        journey.platform.login(admin, PASSWORD)
    assert error.value.text == "L'état de votre compte ne permet pas votre connexion."
    assert journey.world.database.accounts[Identifier.parse(admin)].state is AccountState.EXPIRED


@pytest.mark.rule("A4")
def test_a_wrong_password_on_an_expired_account_says_nothing_of_its_state(
    journey: Journey, admin: str
) -> None:
    """A4: the state is only told to someone holding the password."""
    journey.later(days=18 * 31)
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(admin, "Wrong-pass1")


@pytest.mark.rule("A4", "A2")
def test_a_pending_account_cannot_log_in(journey: Journey, admin: str) -> None:
    """A4: not activated → no login, whatever the password."""
    created = journey.platform.create_user(admin, holder_form("Luc", "Moreau"))
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(created.identifier, PASSWORD)


@pytest.mark.rule("A5", "M1")
def test_a_reset_link_valid_three_days_unblocks_and_resets_the_count(
    journey: Journey, admin: str
) -> None:
    """A5: e-mail with a 3-day link; using it sets the password and unblocks."""
    for _ in range(3):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(admin, "Wrong-pass1")
    assert journey.platform.request_password_reset(admin) == PasswordResetRequested()
    mail = journey.mails_to(EMAIL)[-1]
    assert "Vous avez 3 jours pour le faire" in mail.text
    token = journey.last_token(EMAIL)
    done = journey.platform.reset_password(token, "Nouveau-mdp2", "Nouveau-mdp2")
    assert done.unblocked
    account = journey.world.database.accounts[Identifier.parse(admin)]
    assert (account.state, account.failed_logins) == (AccountState.ACTIVE, 0)
    journey.platform.login(admin, "Nouveau-mdp2")
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(admin, PASSWORD)


@pytest.mark.rule("A5")
def test_past_three_days_the_request_must_be_made_again(journey: Journey, admin: str) -> None:
    """A5: the link expires after 3 days."""
    journey.platform.request_password_reset(admin)
    token = journey.last_token(EMAIL)
    journey.later(days=3)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.reset_password(token, "Nouveau-mdp2", "Nouveau-mdp2")
    journey.platform.request_password_reset(admin)
    journey.platform.reset_password(journey.last_token(EMAIL), "Nouveau-mdp2", "Nouveau-mdp2")


@pytest.mark.rule("A5")
def test_the_answer_is_the_same_whether_or_not_the_account_exists(
    journey: Journey, admin: str
) -> None:
    """A5: no enumeration; no e-mail for unknown identifiers."""
    before = len(journey.mails_to(EMAIL))
    answers = {
        journey.platform.request_password_reset(identifier)
        for identifier in (admin, "ZZZ999999", "not an identifier", "")
    }
    assert answers == {PasswordResetRequested()}
    assert len(journey.mails_to(EMAIL)) == before + 1
    assert len(journey.world.mailer.sent) == before + 1


@pytest.mark.rule("A6")
def test_the_identifier_is_recovered_from_siret_names_and_email(
    journey: Journey, admin: str
) -> None:
    """A6: shown when the details match one account, accents and case ignored."""
    recovered = journey.platform.recover_identifier(
        IdentifierRecovery(
            siret="213 300 635 00017", last_name="DUPONT", first_name="jeanne", email=EMAIL.upper()
        )
    )
    assert recovered.identifier == admin


@pytest.mark.rule("A6")
@pytest.mark.parametrize(
    "wrong",
    [
        {"email": "other@employeur.example"},
        {"last_name": "Durand"},
        {"siret": HOSPITAL},
    ],
)
def test_otherwise_one_generic_message(journey: Journey, admin: str, wrong: dict[str, str]) -> None:
    """A6: one generic message whatever does not match."""
    values = {"siret": COMMUNE, "last_name": "Dupont", "first_name": "Jeanne", "email": EMAIL}
    values.update(wrong)
    with pytest.raises(IdentifierNotFoundError) as error:
        journey.platform.recover_identifier(IdentifierRecovery(**values))
    assert error.value.code == "identifier.not_found"


@pytest.mark.rule("A7", "R5")
def test_an_administrator_renews_an_expired_account_for_another_eighteen_months(
    journey: Journey, admin: str
) -> None:
    """A7: renewal restarts the 18 months; the members list shows the expiration date."""
    second = journey.active_user(admin, "Cécile", "Noël")
    journey.platform.promote(admin, second)
    journey.later(days=500)
    journey.platform.login(second, PASSWORD)
    journey.later(days=100)  # admin expired, second not
    assert journey.platform.sweep().accounts_expired == 1  # 18 months without login: the admin
    states = {a.identifier.value: a.state for a in journey.world.database.accounts.values()}
    assert states[admin] is AccountState.EXPIRED
    assert states[second] is AccountState.ACTIVE
    journey.platform.renew(second, admin)
    row = next(r for r in journey.platform.list_members(second).members if r.identifier == admin)
    assert row.status == "Actif"
    assert row.expires_on is not None
    assert (row.expires_on - journey.clock.now().date()).days in range(545, 553)
    journey.platform.login(admin, PASSWORD)


@pytest.mark.rule("A8", "M4")
def test_links_carry_enough_randomness_and_are_stored_only_as_hashes(
    journey: Journey,
) -> None:
    """A8: ≥ 128 random bits, stored hashed; M4: nowhere in clear."""
    journey.register()
    token = journey.last_token(EMAIL)
    assert len(token) >= 22  # 128 bits in URL-safe base64
    stored = journey.world.database.links
    assert token not in stored
    assert hash_token(token) in stored
    dump = repr(stored) + repr(journey.world.database.outbox) + repr(journey.world.database.events)
    assert token not in dump


@pytest.mark.rule("A8")
def test_links_are_single_use(journey: Journey) -> None:
    """A8: a used link stops working."""
    journey.register()
    token = journey.last_token(EMAIL)
    journey.platform.create_password(token, PASSWORD, PASSWORD)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(token, "Autre-mdp-2", "Autre-mdp-2")


@pytest.mark.rule("A8")
def test_a_new_reset_link_voids_the_older_ones(journey: Journey, admin: str) -> None:
    """A8: a new link of the same purpose for the same account invalidates the older."""
    journey.platform.request_password_reset(admin)
    first = journey.last_token(EMAIL)
    journey.platform.request_password_reset(admin)
    second = journey.last_token(EMAIL)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.reset_password(first, "Nouveau-mdp2", "Nouveau-mdp2")
    journey.platform.reset_password(second, "Nouveau-mdp2", "Nouveau-mdp2")


@pytest.mark.rule("A8")
def test_a_link_of_one_purpose_does_not_work_for_another(journey: Journey, admin: str) -> None:
    """A8: a reset token is no creation token, and garbage is just invalid."""
    journey.platform.request_password_reset(admin)
    token = journey.last_token(EMAIL)
    for bad in (token, "x" * 43, "", "é" * 50):
        with pytest.raises(LinkNoLongerValidError):
            journey.platform.create_password(bad, PASSWORD, PASSWORD)
