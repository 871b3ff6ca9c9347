"""Rule P1 on the ``limits`` library: moving windows, in memory or in Redis.

``LimitsThrottle("memory://")`` counts in this process (one instance, tests);
``LimitsThrottle("redis://host:6379/0")`` shares the counts between every instance
that uses the same Redis (needs the ``redis`` extra).
"""

from __future__ import annotations

import time
from datetime import timedelta

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..domain.throttling import RateLimit

__all__ = ["LimitsThrottle"]

_NAMESPACE = "peps"


class LimitsThrottle:
    """The :class:`~peps_onboarding.ports.Throttle` port over a ``limits`` storage."""

    def __init__(self, uri: str = "memory://") -> None:
        self._storage: Storage = storage_from_string(uri)
        self._limiter = MovingWindowRateLimiter(self._storage)

    def __repr__(self) -> str:
        return f"LimitsThrottle({type(self._storage).__name__})"

    @staticmethod
    def _item(limit: RateLimit) -> RateLimitItem:
        seconds = max(1, int(limit.period.total_seconds()))
        return RateLimitItemPerSecond(limit.amount, seconds, namespace=_NAMESPACE)

    def _wait(self, item: RateLimitItem, key: str) -> timedelta:
        reset_at = self._limiter.get_window_stats(item, key).reset_time
        return timedelta(seconds=max(1.0, reset_at - time.time()))

    def hit(self, limit: RateLimit, key: str) -> timedelta | None:
        item = self._item(limit)
        if self._limiter.hit(item, key):
            return None
        return self._wait(item, key)

    def test(self, limit: RateLimit, key: str) -> timedelta | None:
        item = self._item(limit)
        if self._limiter.test(item, key):
            return None
        return self._wait(item, key)

    def clear(self, limit: RateLimit, key: str) -> None:
        self._limiter.clear(self._item(limit), key)
