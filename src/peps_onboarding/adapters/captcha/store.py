"""Where a security check keeps the challenges it issued (rule C1): in this process,
bounded, each for a limited time.

Several server processes behind one address each hold their own store: a challenge shown
by one is unknown to the others. Such a host either routes a visitor to the same process
(sticky sessions), brings a shared store, or uses CaptchEtat, whose service keeps the
challenges itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from ...ports import Clock

__all__ = ["ChallengeStore", "now_of"]

T = TypeVar("T")


def now_of(clock: Clock | Callable[[], datetime] | None) -> Callable[[], datetime]:
    """The clock port (an object with ``now()``) or a bare callable, as a callable; the
    system's UTC time when none is given."""
    if clock is None:
        return lambda: datetime.now(UTC)
    now = getattr(clock, "now", None)
    if callable(now):
        return now  # type: ignore[no-any-return]  # Clock.now() -> datetime
    return clock  # type: ignore[return-value]  # a bare Callable[[], datetime]


class ChallengeStore(Generic[T]):
    """Issued challenges by id, each until ``ttl`` has passed, at most ``capacity`` of
    them: past it, the oldest (the nearest to expiring) is forgotten first, so that a
    flood of requested challenges costs bounded memory. Thread-safe."""

    def __init__(self, *, ttl: timedelta, capacity: int, now: Callable[[], datetime]) -> None:
        if ttl <= timedelta(0) or capacity < 1:
            raise ValueError("a challenge store needs a positive ttl and capacity")
        self._ttl, self._capacity, self._now = ttl, capacity, now
        self._entries: OrderedDict[str, tuple[datetime, T]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, challenge_id: str, value: T) -> datetime:
        """Keeps ``value`` under ``challenge_id``; returns when it expires (UTC)."""
        now = self._now().astimezone(UTC)
        expires_at = now + self._ttl
        with self._lock:
            self._purge(now)
            self._entries[challenge_id] = (expires_at, value)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return expires_at

    def get(self, challenge_id: str) -> T | None:
        """The live challenge, left in place (media are served as often as asked)."""
        with self._lock:
            entry = self._entries.get(challenge_id)
        if entry is None or entry[0] <= self._now():
            return None
        return entry[1]

    def take(self, challenge_id: str) -> T | None:
        """The live challenge, removed: a challenge answers one verification only."""
        with self._lock:
            entry = self._entries.pop(challenge_id, None)
        if entry is None or entry[0] <= self._now():
            return None
        return entry[1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _purge(self, now: datetime) -> None:
        # Insertion order is expiry order (one ttl for all): stop at the first live one.
        while self._entries:
            challenge_id, (expires_at, _) = next(iter(self._entries.items()))
            if expires_at > now:
                return
            del self._entries[challenge_id]
