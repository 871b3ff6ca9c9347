"""What time does to an account and its registration (rules C6, C8, A7, T1), decided purely.

A use case that reads an account or an enrolment asks these functions what the clock
has changed since, and applies the answer inside its own unit of work: a deadline is
"enforced when used" without any read committing on its own. The sweep applies the
same decisions to whatever is due.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from .account import Account, AccountState
from .establishment import Enrolment, EnrolmentState
from .events import Actor
from .transition import Transition

__all__ = ["DeadlineChanges", "access_opening_due", "deadline_changes"]


@frozen(kw_only=True)
class DeadlineChanges:
    """The transitions owed by ``at``: the account's (deleted, expired) and, when the
    deleted account was a pending registration's applicant, the registration's lapse."""

    account: Transition[Account] | None = None
    enrolment: Transition[Enrolment] | None = None

    @property
    def any(self) -> bool:
        return self.account is not None


def deadline_changes(
    account: Account, enrolment: Enrolment | None, at: datetime
) -> DeadlineChanges:
    """Rules C6 and A7: past its creation link's end a pending account is deleted (and its
    registration lapses); past its expiration date an active account expires, unless it
    is the applicant of a registration whose access has not opened yet."""
    deadline = account.deadline
    if deadline is None or at < deadline:
        return DeadlineChanges()
    if account.state is AccountState.PENDING_ACTIVATION:
        deleted = account.delete(at=at, actor=Actor.SYSTEM, reason="creation_link_expired")
        lapsed = None
        if (
            enrolment is not None
            and enrolment.state is EnrolmentState.PENDING
            and enrolment.applicant == account.identifier
        ):
            lapsed = enrolment.lapse(at=at)
        return DeadlineChanges(account=deleted, enrolment=lapsed)
    if (
        enrolment is not None
        and enrolment.state is EnrolmentState.PENDING
        and enrolment.applicant == account.identifier
    ):
        # The applicant's 18 months start when access opens (A7, C8): until then they
        # cannot run out, whoever looks first, the sweep or a use case.
        return DeadlineChanges()
    return DeadlineChanges(account=account.expire(at=at))


def access_opening_due(enrolment: Enrolment, applicant: Account | None, at: datetime) -> bool:
    """Rule C8: day J reached, the applicant's password created, not withdrawn."""
    return (
        enrolment.state is EnrolmentState.PENDING
        and enrolment.access_from is not None
        and at >= enrolment.access_from
        and applicant is not None
        and applicant.identifier == enrolment.applicant
        and not applicant.state.is_closed
        and applicant.password_hash is not None
    )
