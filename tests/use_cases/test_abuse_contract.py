"""The shipped abuse contract over the default in-memory journey, and over a host's."""

from __future__ import annotations

from peps_onboarding.ports import PasswordHasher
from peps_onboarding.testing import Journey
from peps_onboarding.testing.abuse import AbuseContract


class TestAbuseContract(AbuseContract):
    """The library's own platform, as ``build_in_memory`` wires it."""


class TestAbuseContractOverAHostJourney(AbuseContract):
    """A host's override: another seed and start, the same properties."""

    def make_journey(self, hasher: PasswordHasher) -> Journey:
        return Journey.start(seed=23, hasher=hasher)
