"""The stateful model: random sequences of every use case against the spec's invariants."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from peps_onboarding.testing import Journey, unthrottled
from peps_onboarding.testing.journeys import CLINIC, CLINIC_CONTRACT, HOSPITAL, HOSPITAL_CONTRACT
from peps_onboarding.testing.stateful import (
    ACTIVE,
    ENROLLED,
    NOT_ENROLLED,
    PENDING,
    PENDING_ACTIVATION,
    PEOPLE,
    PlatformMachine,
    StoreContents,
)

pytestmark = pytest.mark.rule("E3", "A2", "E5", "E6", "A8", "L1", "M3", "T1", "R8", "R6")


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


def _step(machine: PlatformMachine, step: Callable[[], None]) -> StoreContents:
    """One step of the model, its invariants checked after it, as hypothesis runs them."""
    step()
    machine.the_spec_holds()
    return machine.read_store()


def _state_of(store: StoreContents, identifier: str) -> str:
    return next(a.state.value for a in store.accounts if a.identifier.value == identifier)


def _enrolment_of(store: StoreContents, siret: str) -> str:
    return next((e.state.value for e in store.enrolments if e.siret.value == siret), "none")


@pytest.mark.rule("R8", "C8", "C6", "T1")
def test_the_model_predicts_what_time_does_to_a_reader_of_mes_intervenants() -> None:
    """R8's rule, on the sequences random runs reach least: an applicant reads before day J
    (refused, from which date), then on day J before the sweep (access opens as they
    read); another applicant reads once their 15 days are over (their registration
    lapses as they read). The model predicted each outcome and effect."""
    machine = PlatformMachine()
    try:
        _step(machine, lambda: machine.some_establishment_joined(members=0, with_user=False))
        _step(machine, lambda: machine.register((HOSPITAL, HOSPITAL_CONTRACT), PEOPLE[0]))
        store = _step(machine, lambda: machine.create_password(0, True))
        (applicant,) = (a.identifier.value for a in store.accounts)
        store = _step(machine, lambda: machine.read_establishment_members(0, ACTIVE))
        assert _enrolment_of(store, HOSPITAL) == PENDING  # C8: not before day J
        _step(machine, lambda: machine.time_passes("8 days", 1, then=False))
        store = _step(machine, lambda: machine.read_establishment_members(0, ACTIVE))
        assert _enrolment_of(store, HOSPITAL) == ENROLLED  # C8, T1: opened as they read
        assert _state_of(store, applicant) == ACTIVE
        _step(machine, lambda: machine.register((CLINIC, CLINIC_CONTRACT), PEOPLE[1]))
        _step(machine, lambda: machine.time_passes("15 days", 1, then=False))
        store = _step(machine, lambda: machine.read_establishment_members(0, PENDING_ACTIVATION))
        assert _enrolment_of(store, CLINIC) == NOT_ENROLLED  # C6, T1: lapsed as they read
    finally:
        machine.teardown()
