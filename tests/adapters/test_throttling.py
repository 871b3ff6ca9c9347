"""The throttle (P1) on the limits library: the port's contract in memory and on a real
Redis, and what happens when Redis cannot answer (it fails closed)."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Iterator
from datetime import timedelta

import pytest

from peps_onboarding.adapters.throttling import LimitsThrottle, mask_throttle_url
from peps_onboarding.domain.errors import ServiceUnavailableError, ThrottleUnavailableError
from peps_onboarding.domain.throttling import RateLimit
from peps_onboarding.ports import Throttle
from peps_onboarding.testing.throttling import ThrottleContract

LIMIT = RateLimit(3, timedelta(minutes=5))
PASSWORD = "s3cret-Redis-pw"


class TestLimitsThrottleInMemory(ThrottleContract):
    @pytest.fixture
    def throttle(self) -> Throttle:
        return LimitsThrottle("memory://")


class TestLimitsThrottleOnRedis(ThrottleContract):
    @pytest.fixture
    def throttle(self, redis_url: str) -> Throttle:
        return LimitsThrottle(redis_url)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never answers (a hung Redis)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port: int = listener.getsockname()[1]
        yield port


def _everything_shown(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


@pytest.mark.rule("P1")
@pytest.mark.parametrize("call", ["hit", "test", "clear"])
def test_an_unreachable_redis_refuses_quickly_and_shows_no_password(
    closed_port: int, call: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Rule P1 fails closed: with Redis down every call raises ThrottleUnavailableError
    (a ServiceUnavailableError) within a second, whose text, traceback and chain carry
    neither the Redis error nor the URL's password; the log names the failure, masked."""
    throttle = LimitsThrottle(f"redis://:{PASSWORD}@127.0.0.1:{closed_port}/0")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(ThrottleUnavailableError) as raised:
        getattr(throttle, call)(LIMIT, "login:abc")
    assert time.monotonic() - started < 1.0
    error = raised.value
    assert isinstance(error, ServiceUnavailableError)
    assert error.code == "throttle.unavailable"
    assert str(error) == (
        "Service momentanément indisponible. Veuillez réessayer dans quelques instants."
    )
    assert error.__cause__ is None and error.__context__ is None
    shown = _everything_shown(error)
    assert PASSWORD not in shown
    assert "ConnectionError" not in shown and f":{closed_port}" not in shown
    assert PASSWORD not in caplog.text
    assert "ConnectionError" in caplog.text and ":***@" in caplog.text


@pytest.mark.rule("P1")
def test_a_redis_that_never_answers_times_out_instead_of_holding_the_request(
    silent_port: int,
) -> None:
    """Rule P1 fails closed on a hung Redis too: the short socket timeouts refuse the
    request within about twice the timeout, never the minutes a dead TCP peer takes."""
    throttle = LimitsThrottle(f"redis://127.0.0.1:{silent_port}/0", timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ThrottleUnavailableError):
        throttle.hit(LIMIT, "login:abc")
    assert time.monotonic() - started < 1.5


@pytest.mark.rule("P1")
def test_a_throttle_shows_its_storage_without_the_password() -> None:
    """Rule P1: the repr names the storage with the password masked, as database URLs
    are shown."""
    throttle = LimitsThrottle(f"redis://peps:{PASSWORD}@cache.example:6379/2")
    assert repr(throttle) == "LimitsThrottle('redis://peps:***@cache.example:6379/2')"
    assert repr(LimitsThrottle()) == "LimitsThrottle('memory://')"
    assert PASSWORD not in mask_throttle_url(f"rediss://cache.example:6380/0?password={PASSWORD}")


@pytest.mark.rule("P1")
@pytest.mark.parametrize("url", [f"memcached://:{PASSWORD}@cache:11211", "cache.example:6379"])
def test_an_unknown_storage_is_refused_without_quoting_its_password(url: str) -> None:
    """Rule P1: only memory://, redis:// and rediss:// are accepted, and the refusal
    quotes the URL masked (the library's own message would quote it whole)."""
    with pytest.raises(ValueError, match="memory://, redis://, rediss://") as raised:
        LimitsThrottle(url)
    assert PASSWORD not in str(raised.value)


@pytest.mark.rule("P1")
def test_redis_counts_are_shared_between_instances(redis_url: str) -> None:
    """Rule P1: two throttles on one Redis (two instances of the host) share the counts."""
    first, second = LimitsThrottle(redis_url), LimitsThrottle(redis_url)
    key = f"shared:{time.monotonic_ns()}"
    assert [first.hit(LIMIT, key), second.hit(LIMIT, key), first.hit(LIMIT, key)] == [None] * 3
    assert second.hit(LIMIT, key) is not None
    second.clear(LIMIT, key)
    assert first.test(LIMIT, key) is None
