"""One commit per use case, conflicts as outcomes, and the guards of E5, A8, N3/N4 and A4
seen through the public API (the races themselves are in tests/concurrency/)."""

from __future__ import annotations

import pytest

from peps_onboarding import (
    AccountBlockedError,
    AccountState,
    ConflictError,
    Identifier,
    InvalidCredentialsError,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesSignedIn,
)
from peps_onboarding.application.dependencies import CONFLICT_ATTEMPTS, retrying
from peps_onboarding.domain.errors import (
    AccountStateForbidsLoginError,
    ConcurrentUpdateError,
    NetEntreprisesAccountExistsError,
    NetEntreprisesTicketUsedError,
)
from peps_onboarding.testing import PASSWORD, Journey, net_entreprises_form


def commits(journey: Journey) -> int:
    return journey.world.database.commits


def _signed_in(journey: Journey, first_name: str = "Paul") -> NetEntreprisesSignedIn:
    journey.world.net_entreprises.register(
        siret="21330063500017", last_name="Martin", first_name=first_name, password="ne-pass"
    )
    signed = journey.platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret="21330063500017", last_name="Martin", first_name=first_name, password="ne-pass"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    return signed


@pytest.mark.rule("A4", "T1")
def test_a_login_commits_at_most_once_whatever_its_outcome(journey: Journey) -> None:
    """A4, T1: success, wrong password, block, and an expiry found at login: one commit each
    (the password-check slot is a counter of its own, like an identifier's number)."""
    admin = journey.enrolled_administrator()
    for password, outcome in (
        (PASSWORD, None),
        ("Wrong-pass1", InvalidCredentialsError),
        ("Wrong-pass1", InvalidCredentialsError),
        ("Wrong-pass1", AccountBlockedError),
        (PASSWORD, AccountBlockedError),  # blocked: told so, nothing written
    ):
        before = commits(journey)
        if outcome is None:
            journey.platform.login(admin, password)
        else:
            with pytest.raises(outcome):
                journey.platform.login(admin, password)
        assert commits(journey) - before <= 1
    other = Journey.start()
    user = other.enrolled_administrator()
    other.later(days=18 * 31)
    before = commits(other)
    with pytest.raises(AccountStateForbidsLoginError):
        other.platform.login(user, PASSWORD)
    assert commits(other) - before == 1  # the expiry stands, in the login's one commit
    assert other.world.database.accounts[Identifier.parse(user)].state is AccountState.EXPIRED


@pytest.mark.rule("A4", "A7")
def test_an_expired_account_stops_comparing_passwords_past_the_limit(journey: Journey) -> None:
    """A4: failures on an account that cannot be blocked spend its slots; then no password
    is compared, not even the right one, until an administrator renews it."""
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    journey.later(days=500)
    journey.platform.login(admin, PASSWORD)  # the administrator stays active
    journey.later(days=60)
    journey.platform.sweep()
    for _ in range(journey.platform.policy.max_failed_logins):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(user, "Wrong-pass1")
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(user, PASSWORD)  # no slot: not compared
    journey.platform.renew(admin, user)
    journey.platform.login(user, PASSWORD)


@pytest.mark.rule("N3", "N4")
def test_a_ticket_makes_one_account_and_a_replay_is_told_so(journey: Journey) -> None:
    """N4: the ticket enrols once; replayed, it says the inscription is recorded."""
    signed = _signed_in(journey)
    complete = NetEntreprisesCompletion(
        ticket=signed.ticket, form=net_entreprises_form("paul.martin@employeur.example")
    )
    journey.platform.complete_net_entreprises(complete)
    with pytest.raises(NetEntreprisesTicketUsedError) as replay:
        journey.platform.complete_net_entreprises(complete)
    assert "déjà enregistrée" in replay.value.message
    members = [a for a in journey.world.database.accounts.values() if a.net_entreprises]
    assert len(members) == 1


@pytest.mark.rule("N3", "N6")
def test_a_second_ticket_for_a_person_who_joined_meanwhile_is_told_the_account_exists(
    journey: Journey,
) -> None:
    """N3: two sign-ins before either completes: the second completion is told the
    account exists (not a generic conflict)."""
    first, second = _signed_in(journey), _signed_in(journey)
    form = net_entreprises_form("paul.martin@employeur.example")
    journey.platform.complete_net_entreprises(
        NetEntreprisesCompletion(ticket=first.ticket, form=form)
    )
    with pytest.raises(NetEntreprisesAccountExistsError):
        journey.platform.complete_net_entreprises(
            NetEntreprisesCompletion(ticket=second.ticket, form=form)
        )


def test_a_conflict_that_outlasts_the_retries_reaches_the_caller_as_the_transient_error() -> None:
    """A lost race runs again on fresh state, a bounded number of times; then the caller
    gets the one transient error (« Une autre opération est en cours… »)."""
    calls: list[float] = []

    def always_conflicting() -> None:
        calls.append(0)
        raise ConcurrentUpdateError("version moved")

    with pytest.raises(ConflictError) as refused:
        retrying(always_conflicting, pause=calls.append)
    assert len([c for c in calls if c == 0]) == CONFLICT_ATTEMPTS
    assert "Veuillez réessayer" in refused.value.message
    assert refused.value.code == "conflict"  # one code for every transient conflict
    waits = [c for c in calls if c != 0]
    assert len(waits) <= CONFLICT_ATTEMPTS - 1
    outcomes = iter([ConflictError(), None])

    def once() -> str:
        error = next(outcomes)
        if error is not None:
            raise error
        return "done"

    assert retrying(once) == "done"
