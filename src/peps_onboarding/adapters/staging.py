"""The writes a unit of work stages on versioned records (enrolments, accounts, links), shared by
the in-memory and SQL stores so both honour the port's optimistic-version contract alike:
an update must carry the version read; within one unit of work the version does not move,
so several updates compose; the commit checks ``expected`` and stores ``version + 1``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from ..domain.account import Account
from ..domain.errors import ConcurrentUpdateError, NotFoundError
from ..domain.establishment import Enrolment
from ..domain.links import Link

__all__ = ["StagedWrites"]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", Enrolment, Account, Link)


class StagedWrites(Generic[K, R]):
    """Writes of one unit of work on one kind of versioned record."""

    def __init__(self) -> None:
        self.added: dict[K, R] = {}
        self.updated: dict[K, R] = {}
        self.expected: dict[K, int] = {}  # key -> the version read, checked at commit

    def get(self, key: K) -> R | None:
        return self.updated.get(key) or self.added.get(key)

    def stage_update(self, key: K, record: R, current: R | None) -> None:
        if current is None:
            raise NotFoundError("no such record")
        if current.version != record.version:
            raise ConcurrentUpdateError()
        if key in self.added:
            self.added[key] = record
            return
        # The version moves at commit, so several updates in one unit of work compose.
        self.expected.setdefault(key, record.version)
        self.updated[key] = record

    def overlay(self, committed: Iterable[R], key: Callable[[R], K]) -> list[R]:
        """Committed records, each replaced by this unit of work's version when it has one."""
        return [self.updated.get(key(record), record) for record in committed]

    def clear(self) -> None:
        self.added.clear()
        self.updated.clear()
        self.expected.clear()
