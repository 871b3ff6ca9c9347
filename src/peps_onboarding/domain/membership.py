"""An establishment's membership: who is an administrator, in which state (rule E5).

"An enrolled establishment always keeps an administrator" reads every member to change
one, so the membership is one consistency boundary. Its version is the enrolment's:
every change to a member's profile or state is committed together with a bump of that
version, so two concurrent decisions on one establishment's members cannot both
commit (*Architecture Patterns with Python*, chapter 7).
"""

from __future__ import annotations

from attrs import frozen

from .account import Account, AccountState
from .errors import LastAdministratorError
from .establishment import Enrolment

__all__ = ["Membership", "changes_membership"]


def changes_membership(before: Account | None, after: Account) -> bool:
    """Whether writing ``after`` over ``before`` changes the membership (a new member,
    or another profile or state), and so must bump the membership's version."""
    return before is None or before.profile is not after.profile or before.state is not after.state


@frozen(kw_only=True)
class Membership:
    """The accounts of one establishment, read under ``enrolment.version``."""

    enrolment: Enrolment
    accounts: tuple[Account, ...]

    @property
    def administrator_names(self) -> tuple[str, ...]:
        """Rule R7: the administrators' names, first administrator first."""
        return tuple(a.holder.display_name for a in self.accounts if a.is_administrator)

    def check_keeps_an_administrator(self, before: Account, after: Account) -> None:
        """Rule E5: refuses a change that would leave no administrator.

        A pending administrator (no password yet) does not count: C6 may delete it.
        """
        if not before.is_administrator or after.is_administrator:
            return
        others = [
            a
            for a in self.accounts
            if a.is_administrator
            and a.state is not AccountState.PENDING_ACTIVATION
            and a.identifier != before.identifier
        ]
        if not others:
            raise LastAdministratorError()
