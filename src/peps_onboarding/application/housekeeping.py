"""What a host's scheduler calls: the sweep (rule T1) and the outbox dispatch (rule M3)."""

from __future__ import annotations

from datetime import UTC, datetime

from attrs import evolve

from ..domain.account import AccountState
from ..domain.deadlines import access_opening_due, deadline_changes
from ..domain.errors import ConflictError, NotificationDeliveryError
from ..domain.notifications import EmailNotification, Letter, OutboxMessage
from ..domain.values import Identifier, Siret
from .dependencies import Dependencies, retrying
from .members import apply_deadlines, open_access
from .notices import link_url
from .rendering import letter_text
from .results import DispatchReport, SweepReport

__all__ = ["dispatch_notifications", "sweep"]


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
    """Rule M3: deliver what the outbox owes; failures are retried later with backoff.

    Messages are claimed first (committed), so several dispatchers never deliver the same
    one; delivery then happens outside any transaction. A crash after a delivery and
    before it is marked sent may deliver that one message again once its claim lapses;
    its id (the Message-ID, the letter id) lets the receiving side drop the duplicate.
    """
    policy = deps.policy

    def claim() -> list[OutboxMessage]:
        with deps.unit_of_work() as uow:
            taken = list(uow.outbox.claim(deps.clock.now(), limit, policy.notification_claim_lease))
            uow.commit()
        return taken

    sent = failed = 0
    for message in retrying(claim):
        try:
            _deliver(deps, message)
        except NotificationDeliveryError as error:
            failed += 1
            now = deps.clock.now()
            outcome = message.failed(
                at=now,
                error=f"{error.code}: {str(error)[:200]}",
                retry_at=now + policy.retry_delay(message.attempts + 1),
            )
        else:
            sent += 1
            outcome = message.delivered(at=deps.clock.now())
        with deps.unit_of_work() as uow:
            uow.outbox.save(outcome)
            uow.commit()
    with deps.unit_of_work() as uow:
        pending = uow.outbox.pending_count()
    return DispatchReport(sent=sent, failed=failed, pending=pending)


def _deliver(deps: Dependencies, message: OutboxMessage) -> None:
    notification = message.notification
    if isinstance(notification, EmailNotification):
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
    code = deps.secret.token_for(notification.withdrawal.nonce) if notification.withdrawal else None
    url = link_url(deps, notification.withdrawal)
    deps.letters.send(
        Letter(
            letter_id=message.id,
            kind=notification.kind,
            siret=notification.siret,
            designation=notification.designation,
            recipient_name=notification.recipient_name,
            recipient_title=notification.recipient_title,
            recipient_address=notification.recipient_address,
            applicant_name=notification.applicant_name,
            applicant_function=notification.applicant_function,
            applicant_email=notification.applicant_email,
            registered_at=notification.registered_at,
            withdrawal_deadline=notification.withdrawal_deadline,
            withdrawal_code=code,
            withdrawal_url=url,
            text=letter_text(notification, withdrawal_url=url),
        )
    )
