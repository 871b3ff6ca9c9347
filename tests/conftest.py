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
