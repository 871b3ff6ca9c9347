"""What a host's scheduler calls: the sweep (rule T1) and the outbox dispatch (rule M3)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from datetime import UTC, datetime

from attrs import evolve

from ..domain.account import AccountState
from ..domain.deadlines import access_opening_due, deadline_changes
from ..domain.errors import ConflictError, NotificationDeliveryError, NotificationRefusedError
from ..domain.links import LinkPurpose
from ..domain.notifications import (
    EmailKind,
    EmailNotification,
    Letter,
    LetterNotification,
    OutboxMessage,
    PasswordResetRequest,
)
from ..domain.values import EmailAddress, Identifier, Siret
from .dependencies import Dependencies, retrying
from .letters import letter_text
from .members import apply_deadlines, open_access
from .notices import email, issue_link, link_url, owe, withdrawal_code
from .results import DeadLetter, DispatchReport, SweepReport

__all__ = [
    "dead_letters",
    "dispatch_notifications",
    "resolve_password_reset",
    "retry_dead_letters",
    "sweep",
]


def sweep(deps: Dependencies, now: datetime | None = None) -> SweepReport:
    """Rule T1: the idempotent pass a host scheduler calls.

    Deletes pending accounts whose creation link expired (and lapses their pending
    registration, C6), opens access on day J (C8), expires accounts (A7). Each item is
    its own unit of work, so one failure never blocks the others.
    """
    at = (now or deps.clock.now()).astimezone(UTC)
    lapsed = deleted = opened = expired = skipped = 0
    with deps.unit_of_work() as uow:
        due_accounts = [a.identifier for a in uow.accounts.due(at)]
        due_enrolments = [e.siret for e in uow.enrolments.due(at)]
    for siret in due_enrolments:  # first: opening access restarts the applicant's 18 months
        try:
            opened += _open_if_due(deps, siret, at)
        except ConflictError:
            skipped += 1
    for identifier in due_accounts:
        try:
            outcome = _enforce(deps, identifier, at)
        except ConflictError:
            skipped += 1  # a use case changed it meanwhile: the next pass looks again
            continue
        if outcome is None:
            continue
        state, lapses = outcome
        if state is AccountState.EXPIRED:
            expired += 1
        else:
            deleted += 1
            lapsed += lapses
    return SweepReport(
        registrations_lapsed=lapsed,
        accounts_deleted=deleted,
        access_opened=opened,
        accounts_expired=expired,
        skipped=skipped,
    )


def _enforce(
    deps: Dependencies, identifier: Identifier, at: datetime
) -> tuple[AccountState, int] | None:
    """One due account, in its own unit of work: what it became, and whether its
    registration lapsed with it."""
    with deps.unit_of_work() as uow:
        account = uow.accounts.get(identifier)
        if account is None:
            return None
        changes = deadline_changes(account, uow.enrolments.get(account.siret), at)
        if changes.account is None:
            return None
        apply_deadlines(uow, account, at)
        uow.commit()
    return changes.account.state.state, int(changes.enrolment is not None)


def _open_if_due(deps: Dependencies, siret: Siret, at: datetime) -> int:
    """Day J for one pending establishment, in its own unit of work (C8)."""
    with deps.unit_of_work() as uow:
        enrolment = uow.enrolments.get(siret)
        if enrolment is None or enrolment.applicant is None:
            return 0
        applicant = uow.accounts.get(enrolment.applicant)
        if not access_opening_due(enrolment, applicant, at):
            return 0  # no password yet: the creation link's deadline decides (C6)
        assert applicant is not None
        open_access(deps, uow, enrolment, applicant, at)
        uow.commit()
    return 1


def dispatch_notifications(deps: Dependencies, limit: int = 100) -> DispatchReport:
    """Rule M3: deliver what the outbox owes, at most ``limit`` messages; a failure is
    retried later with backoff, a permanent refusal or the last allowed attempt makes a
    dead letter (:meth:`OutboxMessage.attempt_failed`).

    Each message is claimed alone, in a committed unit of work of its own, just before it
    is delivered (outside any transaction), and its outcome is saved under that claim.
    So a lease (``Policy.notification_claim_lease``) covers one delivery, never a batch:
    however slow the relay, a message is taken by another dispatcher only once its own
    delivery outlasted the whole lease. Then a delivery is recorded by whichever saves it,
    but a failure only under the claim it was made under, so a late failure never makes
    a delivered (or retaken) message due again. A crash after a delivery and before it is
    marked sent delivers that one message again once its claim lapses; its id (the
    Message-ID, the letter id) lets the receiving side drop the duplicate.
    """
    sent = failed = dead_lettered = 0
    for _ in range(limit):
        try:
            message = retrying(lambda: _claim_next(deps))
        except ConflictError:
            break  # other dispatchers keep winning the next message: leave it to them
        if message is None:
            break
        if isinstance(message.notification, PasswordResetRequest):
            # Resolved, not delivered: the e-mail it owes (if any) is due at once, and
            # this same pass sends it. A conflict past the retries means the claim lapsed
            # and another dispatcher resolves it.
            with contextlib.suppress(ConflictError):
                retrying(functools.partial(resolve_password_reset, deps, message))
            continue
        outcome = _attempt(deps, message)
        if outcome.sent_at is not None:
            sent += 1
        else:
            failed += 1
            dead_lettered += outcome.dead_at is not None
        # A conflict that outlives the retries: the claim lapsed and another dispatcher
        # took the message; its outcome is the one that counts.
        with contextlib.suppress(ConflictError):
            retrying(functools.partial(_record, deps, outcome))
    with deps.unit_of_work() as uow:
        pending, dead = uow.outbox.pending_count(), uow.outbox.dead_count()
    return DispatchReport(
        sent=sent, failed=failed, pending=pending, dead_lettered=dead_lettered, dead=dead
    )


def resolve_password_reset(deps: Dependencies, message: OutboxMessage) -> None:
    """Rules A5, P2: a recorded « Mot de passe oublié » becomes the reset link and its
    e-mail, for an account that has a platform password, in the unit of work that marks
    the request done (under its claim, so two dispatchers never issue two links)."""
    request = message.notification
    assert isinstance(request, PasswordResetRequest)
    with deps.unit_of_work() as uow:
        now = deps.clock.now()
        account = uow.accounts.get(Identifier.parse(request.identifier))
        if (
            account is not None
            and not account.net_entreprises
            and account.state in (AccountState.ACTIVE, AccountState.BLOCKED, AccountState.EXPIRED)
        ):
            expires_at = now + deps.policy.reset_link_validity
            sealed = issue_link(deps, uow, account, LinkPurpose.PASSWORD_RESET, now, expires_at)
            establishment = deps.registry.establishment(account.siret)
            owe(
                deps, uow, email(EmailKind.PASSWORD_RESET, account, establishment, link=sealed), now
            )
        uow.outbox.save(message.delivered(at=now))
        uow.commit()


def _claim_next(deps: Dependencies) -> OutboxMessage | None:
    """The next due message, claimed for one delivery (committed), or ``None``."""
    with deps.unit_of_work() as uow:
        taken = list(uow.outbox.claim(deps.clock.now(), 1, deps.policy.notification_claim_lease))
        if not taken:
            return None
        uow.commit()
    return taken[0]


def _attempt(deps: Dependencies, message: OutboxMessage) -> OutboxMessage:
    """Delivers one claimed message: what it became (sent, due again, or dead)."""
    try:
        _deliver(deps, message)
    except NotificationDeliveryError as error:
        return message.attempt_failed(
            at=deps.clock.now(),
            error=f"{error.code}: {str(error)[:200]}",
            permanent=isinstance(error, NotificationRefusedError),
            policy=deps.policy,
        )
    return message.delivered(at=deps.clock.now())


def _record(deps: Dependencies, outcome: OutboxMessage) -> None:
    with deps.unit_of_work() as uow:
        uow.outbox.save(outcome)
        uow.commit()


def dead_letters(deps: Dependencies, limit: int | None = None) -> tuple[DeadLetter, ...]:
    """Rule M3: the notifications given up on, oldest first (at most ``limit``)."""
    with deps.unit_of_work() as uow:
        messages = list(uow.outbox.dead_letters(limit))
    return tuple(_dead_letter(m) for m in messages)


def retry_dead_letters(deps: Dependencies, ids: Sequence[str] | None = None) -> int:
    """Rule M3: makes dead letters due now (every one, or those of ``ids``), their attempts
    counted from zero again; returns how many. An id that is not a dead letter (unknown,
    sent, or retried meanwhile) is skipped."""

    def run() -> int:
        now = deps.clock.now()
        with deps.unit_of_work() as uow:
            if ids is None:
                found = list(uow.outbox.dead_letters())
            else:
                found = [m for m in map(uow.outbox.get, dict.fromkeys(ids)) if m is not None]
            dead = [m for m in found if m.dead_at is not None and m.sent_at is None]
            for message in dead:
                uow.outbox.save(message.retried(at=now))
            if dead:
                uow.commit()
        return len(dead)

    return retrying(run)


def _dead_letter(message: OutboxMessage) -> DeadLetter:
    assert message.dead_at is not None
    return DeadLetter(
        id=message.id,
        kind=message.kind.value,
        kind_label=message.kind.label,
        siret=message.siret,
        recipient=message.recipient,
        attempts=message.attempts,
        last_error=message.last_error,
        created_at=message.created_at,
        dead_at=message.dead_at,
    )


def _deliver(deps: Dependencies, message: OutboxMessage) -> None:
    notification = message.notification
    if isinstance(notification, EmailNotification):
        notification = _addressable(deps, notification)
        url = link_url(deps, notification.link)
        if notification.withdrawal is not None:
            notification = evolve(
                notification,
                facts=(
                    *notification.facts,
                    ("withdrawal_url", link_url(deps, notification.withdrawal) or ""),
                ),
            )
        deps.mailer.send(deps.renderer.render(notification, message_id=message.id, link_url=url))
        return
    assert isinstance(notification, LetterNotification)  # requests are resolved, not sent
    # P4: the code is short and typed on the page the URL opens; neither carries the other.
    code = withdrawal_code(deps, notification.withdrawal)
    url = link_url(deps, notification.withdrawal)
    deps.letters.send(
        Letter(
            letter_id=message.id,
            kind=notification.kind,
            siret=notification.siret,
            designation=notification.designation,
            recipient_name=notification.recipient_name,
            recipient_title=notification.recipient_title,
            recipient_civility=notification.recipient_civility,
            recipient_address=notification.recipient_address,
            applicant_name=notification.applicant_name,
            applicant_civility=notification.applicant_civility,
            applicant_function=notification.applicant_function,
            applicant_email=notification.applicant_email,
            registered_at=notification.registered_at,
            withdrawal_deadline=notification.withdrawal_deadline,
            withdrawal_code=code,
            withdrawal_url=url,
            text=letter_text(notification, withdrawal_url=url, withdrawal_code=code),
        )
    )


def _addressable(deps: Dependencies, notification: EmailNotification) -> EmailNotification:
    """The e-mail addressed as the relay takes it: without SMTPUTF8
    (``Policy.smtputf8_relay`` False) the domain goes as IDNA, and an address that is not
    ASCII before « @ » (one accepted before the switch was set) is refused for good."""
    if deps.policy.smtputf8_relay:
        return notification
    address = EmailAddress(notification.to).ascii_form
    if address is None:
        raise NotificationRefusedError(
            "adresse non ASCII avant « @ » : le serveur de courriel ne prend pas SMTPUTF8"
        )
    return notification if address == notification.to else evolve(notification, to=address)
