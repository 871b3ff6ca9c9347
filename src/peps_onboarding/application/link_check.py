"""Rule W2: what a screen shows when a person opens a link from an e-mail, read only.

Link scanners follow links: opening one must change nothing. So this only says whether
the link could still be used, and when not, whom to ask (C6); the form the page shows
is what spends it.
"""

from __future__ import annotations

from ..domain.errors import LinkNoLongerValidError
from ..domain.links import LinkPurpose
from .dependencies import Dependencies
from .members import administrator_names, apply_deadlines, found_link

__all__ = ["check_link"]


def check_link(deps: Dependencies, token: object, purpose: LinkPurpose) -> None:
    """Rules W2, C6, A8: returns when the link is usable now; otherwise raises
    :class:`LinkNoLongerValidError` with the establishment's administrators. Commits
    nothing, not even a lapse found on the way: the next use case or sweep records it."""
    with deps.unit_of_work() as uow:
        now = deps.clock.now()
        link = found_link(uow, token, (purpose,))
        if link.usable(now):
            return
        account = uow.accounts.get(link.identifier)
        if account is not None:
            # The deadlines applied inside this unit of work, never committed: a lapsed
            # applicant is not named as the administrator to ask.
            apply_deadlines(uow, account, now)
        raise LinkNoLongerValidError(administrator_names(uow, link.siret))
