"""Shared fixtures: a journey on in-memory adapters with a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from peps_onboarding import Platform
from peps_onboarding.testing import Journey

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci")


@pytest.fixture
def journey() -> Journey:
    return Journey.start()


@pytest.fixture
def platform(journey: Journey) -> Platform:
    return journey.platform


# --- Redis, for the throttle (P1) ------------------------------------------------------

import os  # noqa: E402 - appended with the Redis fixture it serves
from collections.abc import Iterator  # noqa: E402

from peps_onboarding.testing.throttling import redis_server_binary, throwaway_redis  # noqa: E402


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One throwaway ``redis-server`` for the session, on loopback and a free port, with
    nothing written to disk; its URL. Skipped without the program, unless the ``CI``
    environment variable is set: then the Redis tests fail, never silently skip."""
    if redis_server_binary() is None:
        reason = "Redis is not installed (no redis-server on PATH)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: the Redis tests must run in CI", pytrace=False)
        pytest.skip(reason)
    with throwaway_redis() as url:
        yield url
