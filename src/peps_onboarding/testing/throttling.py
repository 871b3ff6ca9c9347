"""The :class:`~peps_onboarding.ports.Throttle` port's contract suite, and a throwaway
Redis for the tests and benchmarks that need one.

Subclass :class:`ThrottleContract` and provide the fixture ``throttle``, a fresh
throttle for each test::

    import pytest
    from peps_onboarding.adapters.throttling import LimitsThrottle
    from peps_onboarding.ports import Throttle
    from peps_onboarding.testing.throttling import ThrottleContract


    class TestMyThrottle(ThrottleContract):
        @pytest.fixture
        def throttle(self) -> Throttle:
            return LimitsThrottle("redis://127.0.0.1:6379/15")

Every test counts under keys of its own (a random suffix), so a throttle whose
storage outlives the test (one Redis for the whole session) still starts each test
from zero. The suite runs on the real clock, as a storage shared between instances
must: the moving-window test waits a few seconds, and the race test releases real
threads together, many rounds. The ``rule`` marker is registered as in
:mod:`peps_onboarding.testing.contracts`.

:func:`throwaway_redis` starts a ``redis-server`` on loopback and a free port, with
nothing written to disk, and stops it when the context ends.

Requires the ``[testing]`` extra (pytest).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Final

import pytest

from ..domain.throttling import RateLimit
from ..ports import Throttle

__all__ = ["ThrottleContract", "redis_server_binary", "throwaway_redis"]

_HOUR: Final = timedelta(hours=1)
_THREADS: Final = 16
_HITS_PER_THREAD: Final = 3
_RACE_ROUNDS: Final = 200
_BARRIER_TIMEOUT: Final = 30.0
# Threads switch every 5 ms by default: a check-then-write that is not atomic would
# rarely be caught between its two steps. Switching every 10 µs during the race makes
# such a window show up within a few rounds.
_SWITCH_INTERVAL: Final = 1e-5
# The period of the tests on the real clock: long enough that a loaded machine's
# scheduling delays (tens of milliseconds) stay far from its edges.
_WINDOW: Final = timedelta(seconds=2)
_MARGIN: Final = 0.3


def _key(name: str) -> str:
    return f"contract:{name}:{uuid.uuid4().hex}"


def _sleep_until(instant: float) -> None:
    time.sleep(max(0.0, instant - time.monotonic()))


class ThrottleContract:
    """The :class:`~peps_onboarding.ports.Throttle` port. Fixture ``throttle``."""

    @pytest.mark.rule("P1")
    def test_hits_count_up_to_the_limit_then_refuse_with_a_wait_within_the_period(
        self, throttle: Throttle
    ) -> None:
        """Rule P1: ``amount`` hits are admitted; the next is refused with a positive
        wait that never exceeds the period."""
        limit, key = RateLimit(3, _HOUR), _key("limit")
        assert [throttle.hit(limit, key) for _ in range(3)] == [None, None, None]
        wait = throttle.hit(limit, key)
        assert isinstance(wait, timedelta)
        assert timedelta(0) < wait <= _HOUR

    @pytest.mark.rule("P1")
    def test_a_refused_hit_counts_nothing(self, throttle: Throttle) -> None:
        """Rule P1: a refused request uses nothing up: once the admitted uses leave the
        window, the key is free again however many refusals came in between."""
        limit, key = RateLimit(2, _WINDOW), _key("refused")
        started = time.monotonic()
        assert throttle.hit(limit, key) is None
        assert throttle.hit(limit, key) is None
        refusals = [throttle.hit(limit, key) for _ in range(20)]
        assert all(isinstance(wait, timedelta) for wait in refusals)
        assert all(wait <= _WINDOW for wait in refusals if wait is not None)
        _sleep_until(started + _WINDOW.total_seconds() + _MARGIN)
        assert throttle.hit(limit, key) is None
        assert throttle.hit(limit, key) is None

    @pytest.mark.rule("P1")
    def test_test_counts_nothing(self, throttle: Throttle) -> None:
        """Rule P1: ``test`` says whether a hit would be admitted, counting nothing."""
        limit, key = RateLimit(2, _HOUR), _key("test")
        assert [throttle.test(limit, key) for _ in range(10)] == [None] * 10
        assert throttle.hit(limit, key) is None
        assert throttle.test(limit, key) is None
        assert throttle.hit(limit, key) is None
        wait = throttle.test(limit, key)
        assert wait is not None and timedelta(0) < wait <= _HOUR
        assert isinstance(throttle.hit(limit, key), timedelta)

    @pytest.mark.rule("P1")
    def test_keys_and_limits_are_counted_apart(self, throttle: Throttle) -> None:
        """Rule P1: spending one key leaves another whole, and a use counted under one
        limit is not counted under another limit on the same key."""
        limit, key, other = RateLimit(2, _HOUR), _key("spent"), _key("other")
        throttle.hit(limit, key)
        throttle.hit(limit, key)
        assert throttle.hit(limit, key) is not None
        assert [throttle.hit(limit, other) for _ in range(2)] == [None, None]
        for different in (RateLimit(3, _HOUR), RateLimit(2, timedelta(minutes=59))):
            assert throttle.test(different, key) is None
            assert throttle.hit(different, key) is None

    @pytest.mark.rule("P1")
    def test_clear_forgets_the_uses_of_that_key_only(self, throttle: Throttle) -> None:
        """Rule P1: after ``clear`` the key is admitted ``amount`` times again; other
        keys keep their counts."""
        limit, key, other = RateLimit(2, _HOUR), _key("cleared"), _key("kept")
        for spent in (key, other):
            throttle.hit(limit, spent)
            throttle.hit(limit, spent)
        throttle.clear(limit, key)
        assert throttle.test(limit, key) is None
        again = [throttle.hit(limit, key) for _ in range(3)]
        assert again[:2] == [None, None] and again[2] is not None
        assert throttle.hit(limit, other) is not None
        throttle.clear(limit, _key("never-used"))  # nothing to forget: no error

    @pytest.mark.rule("P1")
    def test_the_moving_window_frees_each_use_one_period_after_it(self, throttle: Throttle) -> None:
        """Rule P1: a moving window, not a fixed one: each use frees its place one
        period after it was counted, not all of them at a window's boundary."""
        limit, key = RateLimit(2, _WINDOW), _key("moving")
        period, half = _WINDOW.total_seconds(), _WINDOW.total_seconds() / 2
        first = time.monotonic()
        assert throttle.hit(limit, key) is None
        _sleep_until(first + half)
        second = time.monotonic()
        assert throttle.hit(limit, key) is None
        wait = throttle.hit(limit, key)
        assert wait is not None and wait <= _WINDOW
        _sleep_until(first + period + _MARGIN)  # the first use has left, not the second
        assert throttle.hit(limit, key) is None
        assert throttle.hit(limit, key) is not None
        _sleep_until(second + period + _MARGIN)  # now the second has left too
        assert throttle.hit(limit, key) is None

    @pytest.mark.rule("P1")
    def test_racing_hits_never_admit_more_than_the_limit(self, throttle: Throttle) -> None:
        """Rule P1: threads released together on one key, many rounds: exactly
        ``amount`` hits are admitted each round (never more, and no admitted hit lost)."""
        limit = RateLimit(5, _HOUR)
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(_SWITCH_INTERVAL)
        try:
            self._race(throttle, limit)
        finally:
            sys.setswitchinterval(switch_interval)

    def _race(self, throttle: Throttle, limit: RateLimit) -> None:
        for round_ in range(_RACE_ROUNDS):
            key = _key(f"race-{round_}")
            barrier = threading.Barrier(_THREADS)

            def attempt(_: int, key: str = key, barrier: threading.Barrier = barrier) -> int:
                barrier.wait(timeout=_BARRIER_TIMEOUT)
                return sum(throttle.hit(limit, key) is None for _ in range(_HITS_PER_THREAD))

            with ThreadPoolExecutor(max_workers=_THREADS) as pool:
                admitted = sum(pool.map(attempt, range(_THREADS)))
            assert admitted == limit.amount, f"round {round_}: {admitted} admitted"


# --- a throwaway Redis ---------------------------------------------------------------


def redis_server_binary() -> str | None:
    """The ``redis-server`` program on ``PATH``, or None when Redis is not installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def throwaway_redis(*, timeout: float = 10.0) -> Iterator[str]:
    """Starts ``redis-server`` on 127.0.0.1 and a free port, with no snapshot and no
    append-only file; yields its URL (``redis://127.0.0.1:PORT/0``)."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("Redis is not installed (no redis-server on PATH)")
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _answers_ping(port):
            if server.poll() is not None:
                error = server.stderr.read().decode(errors="replace") if server.stderr else ""
                raise RuntimeError(f"redis-server exited ({server.returncode}): {error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer PING within {timeout} s")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()
