"""The stateful model: random sequences of every use case against the spec's invariants."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from peps_onboarding.testing import Journey, unthrottled
from peps_onboarding.testing.stateful import PlatformMachine

pytestmark = pytest.mark.rule("E3", "A2", "E5", "E6", "A8", "L1", "M3", "T1")


class TestPlatformMachine(PlatformMachine.TestCase):  # type: ignore[misc,valid-type]
    """Examples and steps per example come from the loaded profile ("ci": 200 examples)."""

    def runTest(self) -> None:  # noqa: N802 (unittest's name)
        """Every spec invariant holds after every step of random use-case sequences."""
        super().runTest()


class _SeededMachine(PlatformMachine):
    """A host's subclass: another journey (here another random seed)."""

    def make_journey(self) -> Journey:
        return Journey.start(seed=11, policy=unthrottled())


def test_a_host_subclass_runs_the_model_over_its_own_journey() -> None:
    """A host overriding make_journey gets the same invariants checked over its journey."""
    run_state_machine_as_test(
        _SeededMachine,
        settings=settings(max_examples=5, stateful_step_count=15, derandomize=True, database=None),
    )
