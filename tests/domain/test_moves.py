"""Rules E3, A2, A8, M3: each aggregate's moves, restated from the spec and checked against
the tables the domain keeps, and every move outside them refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve

from peps_onboarding import (
    Account,
    AccountState,
    Identifier,
    Policy,
    Siret,
    TransitionNotAllowedError,
)
from peps_onboarding.domain.account import ACCOUNT_MOVES
from peps_onboarding.domain.establishment import ENROLMENT_MOVES, Enrolment, EnrolmentState
from peps_onboarding.domain.events import LinkIssued
from peps_onboarding.domain.links import LINK_MOVES, Link, LinkPurpose, LinkStatus, hash_token
from peps_onboarding.domain.notifications import EmailKind, EmailNotification, OutboxMessage

AT = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
POLICY = Policy()
S = AccountState


# Restated from RULES.md A2 (not imported: a mistake in the table must show here).
SPEC_ACCOUNT_MOVES = {
    "activate": {S.PENDING_ACTIVATION},
    "restart_activation": {S.PENDING_ACTIVATION},
    "login": {S.ACTIVE},
    "record_failed_login": {S.ACTIVE},
    "reset_password": {S.ACTIVE, S.BLOCKED, S.EXPIRED},
    "unblock": {S.BLOCKED},
    "expire": {S.ACTIVE},
    "renew": {S.EXPIRED},
    "restart_lifetime": {S.ACTIVE, S.BLOCKED},
    "delete": {S.PENDING_ACTIVATION, S.ACTIVE, S.BLOCKED, S.EXPIRED},
    "invalidate": {S.PENDING_ACTIVATION, S.ACTIVE, S.BLOCKED, S.EXPIRED},
    "set_right": {S.PENDING_ACTIVATION, S.ACTIVE, S.BLOCKED, S.EXPIRED},
    "change_profile": {S.PENDING_ACTIVATION, S.ACTIVE, S.BLOCKED, S.EXPIRED},
}


@pytest.mark.rule("A2")
def test_the_account_moves_table_is_the_specs() -> None:
    """A2: « Supprimé » and « Infirmé » are final; each move starts only where the spec says."""
    assert {move: set(states) for move, states in ACCOUNT_MOVES.items()} == SPEC_ACCOUNT_MOVES


@pytest.mark.rule("E3")
def test_the_enrolment_moves_table_is_the_specs() -> None:
    """E3: NOT_ENROLLED → PENDING or ENROLLED (N-E); PENDING → NOT_ENROLLED or ENROLLED."""
    assert ENROLMENT_MOVES == {
        "submit_classic": EnrolmentState.NOT_ENROLLED,
        "enrol_net_entreprises": EnrolmentState.NOT_ENROLLED,
        "withdraw": EnrolmentState.PENDING,
        "lapse": EnrolmentState.PENDING,
        "open_access": EnrolmentState.PENDING,
    }


def _in(user: Account, state: AccountState) -> Account:
    return evolve(user, state=state, password_hash="h", expires_at=AT)


_CALLS: dict[str, Callable[[Account], object]] = {
    "activate": lambda a: a.activate(password_hash="h", at=AT),
    "restart_activation": lambda a: a.restart_activation(until=AT),
    "login": lambda a: a.record_login(at=AT, policy=POLICY),
    "record_failed_login": lambda a: a.record_failed_login(at=AT, policy=POLICY),
    "reset_password": lambda a: a.reset_password(password_hash="h", at=AT),
    "unblock": lambda a: a.unblock(at=AT, actor="x"),
    "expire": lambda a: a.expire(at=AT),
    "renew": lambda a: a.renew(at=AT, actor="x", policy=POLICY),
    "restart_lifetime": lambda a: a.restart_lifetime(at=AT, policy=POLICY),
    "delete": lambda a: a.delete(at=AT, actor="x", reason="r"),
    "invalidate": lambda a: a.invalidate(at=AT, actor="x"),
    "set_right": lambda a: a.set_right(service="x", level=a.level("x"), at=AT, actor="x"),
    "change_profile": lambda a: a.change_profile(profile=a.profile, at=AT, actor="x"),
}


@pytest.mark.rule("A2")
@pytest.mark.parametrize("move", sorted(SPEC_ACCOUNT_MOVES))
@pytest.mark.parametrize("state", list(AccountState))
def test_every_account_move_from_a_state_the_spec_does_not_allow_raises(
    move: str, state: AccountState, user: Account
) -> None:
    """A2: a move is taken from an allowed state and refused from any other, never ignored."""
    subject = _in(user, state)
    if state in SPEC_ACCOUNT_MOVES[move]:
        _CALLS[move](subject)
    else:
        with pytest.raises(TransitionNotAllowedError):
            _CALLS[move](subject)


@pytest.mark.rule("E3")
def test_an_enrolment_move_from_another_state_raises() -> None:
    """E3: no other transition exists."""
    pending = (
        Enrolment(siret=Siret.parse("21330063500017"))
        .submit_classic(applicant=Identifier.parse("JDU000001"), at=AT, policy=POLICY)
        .state
    )
    with pytest.raises(TransitionNotAllowedError):
        pending.submit_classic(applicant=Identifier.parse("JDU000001"), at=AT, policy=POLICY)
    lapsed = pending.lapse(at=AT).state
    with pytest.raises(TransitionNotAllowedError):
        lapsed.withdraw(at=AT, actor="x")
    with pytest.raises(TransitionNotAllowedError):
        lapsed.open_access(at=AT)


def _link() -> Link:
    return Link.issue(
        token_hash=hash_token("t" * 43),
        purpose=LinkPurpose.PASSWORD_RESET,
        identifier=Identifier.parse("JDU000001"),
        siret=Siret.parse("21330063500017"),
        at=AT,
        expires_at=AT + timedelta(days=3),
    ).state


@pytest.mark.rule("A8", "L1")
def test_issuing_a_link_is_a_transition_with_its_event() -> None:
    """A8, L1: a link is issued with the fact, which says its purpose and its end."""
    issued = Link.issue(
        token_hash=hash_token("t" * 43),
        purpose=LinkPurpose.PASSWORD_RESET,
        identifier=Identifier.parse("JDU000001"),
        siret=Siret.parse("21330063500017"),
        at=AT,
        expires_at=AT + timedelta(days=3),
    )
    assert issued.state.status is LinkStatus.ISSUED
    (event,) = issued.events
    assert isinstance(event, LinkIssued)
    assert (event.purpose, event.expires_at, event.account) == (
        "password_reset",
        AT + timedelta(days=3),
        "JDU000001",
    )


@pytest.mark.rule("A8")
def test_a_link_is_used_or_revoked_once_and_a_closed_link_refuses_every_move() -> None:
    """A8: single use; a used or revoked link is closed; a move on it raises."""
    assert set(LINK_MOVES) == {"use", "revoke"}
    used = _link().use(AT).state
    revoked = _link().revoke(AT).state
    assert (used.status, revoked.status) == (LinkStatus.USED, LinkStatus.REVOKED)
    for closed in (used, revoked):
        for move in (closed.use, closed.revoke):
            with pytest.raises(TransitionNotAllowedError):
                move(AT)
    with pytest.raises(TransitionNotAllowedError):
        _link().use(AT + timedelta(days=3))  # past its end: never usable


@pytest.mark.rule("M3")
def test_a_sent_message_records_no_further_attempt() -> None:
    """M3: delivered once; a failure adds an attempt and a time to try again."""
    message = OutboxMessage(
        id="m1",
        siret="21330063500017",
        created_at=AT,
        next_attempt_at=AT,
        notification=EmailNotification(
            kind=EmailKind.ACCESS_OPEN,
            to="a@b.fr",
            recipient="Madame Jeanne Dupont",
            siret="21330063500017",
            designation="Commune",
            identifier="JDU000001",
        ),
    )
    later = AT + timedelta(minutes=5)
    failed = message.failed(at=AT, error="smtp: down", retry_at=later)
    assert (failed.attempts, failed.next_attempt_at, failed.sent_at) == (1, later, None)
    sent = failed.delivered(at=later)
    assert (sent.attempts, sent.sent_at) == (2, later)
    with pytest.raises(TransitionNotAllowedError):
        sent.delivered(at=later)
    with pytest.raises(TransitionNotAllowedError):
        sent.failed(at=later, error="x", retry_at=later)
