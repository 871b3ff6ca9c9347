"""What a store holds, as domain records: what the stateful model reads after each step.

A value of domain records only, so that the store adapters that can list their whole
contents (:meth:`SqlDatabase.contents
<peps_onboarding.adapters.sql.stores.SqlDatabase.contents>`) and the model that reads
them (:mod:`peps_onboarding.testing.stateful`, which re-exports it for hosts) share one
value without an adapter depending on the test support.
"""

from __future__ import annotations

from attrs import frozen

from ..domain.account import Account
from ..domain.establishment import Enrolment
from ..domain.events import DomainEvent
from ..domain.links import Link
from ..domain.notifications import OutboxMessage

__all__ = ["StoreContents"]


@frozen
class StoreContents:
    """Every committed record of a store.

    ``events`` are in history order (L1); ``outbox`` in the order the messages were
    written (the model takes it as the order the links they carry were issued).
    """

    enrolments: tuple[Enrolment, ...]
    accounts: tuple[Account, ...]
    links: tuple[Link, ...]
    events: tuple[DomainEvent, ...]
    outbox: tuple[OutboxMessage, ...]
