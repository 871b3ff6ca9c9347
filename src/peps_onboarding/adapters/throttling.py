"""Rule P1 on the ``limits`` library: moving windows, in memory or in Redis.

``LimitsThrottle("memory://")`` counts in this process (one instance, tests);
``LimitsThrottle("redis://host:6379/0")`` (or ``rediss://`` for TLS) shares the counts
between every instance that uses the same Redis (needs the ``redis`` extra).

It fails closed: when the storage cannot answer (Redis down, a timeout, a refused
password), every call raises
:class:`~peps_onboarding.domain.errors.ThrottleUnavailableError` and the use case
refuses the request, rather than letting it through unlimited. The Redis error itself
is logged (its type only, with the URL masked) and never carried by what is raised,
so neither its text nor the URL's password reaches a screen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Final, TypeVar, cast
from urllib.parse import urlsplit

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import ConfigurationError, StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..domain.errors import ThrottleUnavailableError
from ..domain.throttling import RateLimit

__all__ = ["SCHEMES", "LimitsThrottle", "mask_throttle_url"]

SCHEMES: Final = ("memory", "redis", "rediss")
"""The storages a :class:`LimitsThrottle` accepts."""

DEFAULT_TIMEOUT: Final = 0.5
"""Seconds Redis gets to connect, then to answer: a login waits at most about twice
this (one retry on a fresh connection) before it is refused, never the minutes a
hung TCP connection can take."""

_NAMESPACE: Final = "peps"
_log = logging.getLogger(__name__)
_T = TypeVar("_T")


def mask_throttle_url(url: str) -> str:
    """``url`` as it may be shown: its password (and any secret-looking query value) as
    ``***``, as database URLs are shown.

    >>> mask_throttle_url("redis://:s3cret@cache.example:6379/0")
    'redis://:***@cache.example:6379/0'
    >>> mask_throttle_url("memory://")
    'memory://'
    """
    if "@" not in url and "?" not in url:
        return url  # nothing that could hide a secret: spare the SQL adapters' import
    from .sql.urls import mask_url

    return mask_url(url)


class LimitsThrottle:
    """The :class:`~peps_onboarding.ports.Throttle` port over a ``limits`` storage.

    ``timeout`` (seconds, Redis only) bounds both connecting and each answer.
    """

    def __init__(self, uri: str = "memory://", *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._shown = mask_throttle_url(uri)
        scheme = urlsplit(uri).scheme
        if scheme not in SCHEMES:
            # limits' own message would quote the URL, password included.
            raise ValueError(
                f"rate-limit storage must be one of {', '.join(s + '://' for s in SCHEMES)}; "
                f"got {self._shown}"
            )
        try:
            options = cast(dict[str, float | str | bool], _options(scheme, timeout))
            # A sync scheme gives a sync storage; limits types the factory for both.
            self._storage = cast(Storage, storage_from_string(uri, **options))
        except ConfigurationError:
            raise ValueError(
                f"{self._shown} needs the redis client: install peps-onboarding[redis]"
            ) from None
        self._limiter = MovingWindowRateLimiter(self._storage)
        # In memory nothing can be unreachable: an exception there is a bug, left as is.
        self._failures: tuple[type[BaseException], ...] = (
            ()
            if scheme == "memory"
            else (StorageError, OSError, *_as_tuple(self._storage.base_exceptions))
        )
        # limits' memory storage makes each key's lock lazily, without a lock: two
        # threads hitting a new key together can get two locks and both be admitted past
        # the limit (the race test catches it). Redis runs each hit as one Lua script.
        self._serial: AbstractContextManager[object] = (
            threading.Lock() if scheme == "memory" else nullcontext()
        )

    def __repr__(self) -> str:
        return f"LimitsThrottle({self._shown!r})"

    @staticmethod
    def _item(limit: RateLimit) -> RateLimitItem:
        seconds = max(1, int(limit.period.total_seconds()))
        return RateLimitItemPerSecond(limit.amount, seconds, namespace=_NAMESPACE)

    def _call(self, action: Callable[[], _T]) -> _T:
        """``action()``, or :class:`ThrottleUnavailableError` when the storage fails.

        The error is raised outside the ``except`` block so that it carries no
        ``__context__``: the storage's exception (whose text may quote the server)
        stays in the log."""
        try:
            with self._serial:
                return action()
        except self._failures as error:
            failure = type(error).__name__
        _log.warning("rate-limit storage %s unavailable (%s): refusing", self._shown, failure)
        raise ThrottleUnavailableError

    def _wait(self, item: RateLimitItem, key: str) -> timedelta:
        reset_at = self._call(lambda: self._limiter.get_window_stats(item, key)).reset_time
        return timedelta(seconds=max(1.0, reset_at - time.time()))

    def hit(self, limit: RateLimit, key: str) -> timedelta | None:
        item = self._item(limit)
        if self._call(lambda: self._limiter.hit(item, key)):
            return None
        return self._wait(item, key)

    def test(self, limit: RateLimit, key: str) -> timedelta | None:
        item = self._item(limit)
        if self._call(lambda: self._limiter.test(item, key)):
            return None
        return self._wait(item, key)

    def clear(self, limit: RateLimit, key: str) -> None:
        item = self._item(limit)
        self._call(lambda: self._limiter.clear(item, key))


def _options(scheme: str, timeout: float) -> dict[str, object]:
    if scheme == "memory":
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # redis-py's default retries three times with up to 10 s of backoff: a dead Redis
    # would hold every login for half a minute. One immediate retry still survives a
    # pooled connection that Redis closed (a restart, an idle timeout).
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
    }


def _as_tuple(
    exceptions: type[BaseException] | tuple[type[BaseException], ...],
) -> tuple[type[BaseException], ...]:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)
