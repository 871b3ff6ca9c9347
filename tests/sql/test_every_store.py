"""The same behaviour on every store (memory, SQLite, PostgreSQL): racing registrations
(E6) between threads and between processes, and delivery after a mailer outage (M3)."""

from __future__ import annotations

import importlib.util
import multiprocessing
import multiprocessing.synchronize
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import pytest

from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.application.commands import ClassicRegistration
from peps_onboarding.application.platform import Platform
from peps_onboarding.domain.errors import (
    EstablishmentAlreadyEnrolledError,
    RegistrationInProgressError,
)
from peps_onboarding.domain.establishment import EnrolmentState
from peps_onboarding.domain.values import Siret
from peps_onboarding.ports import UnitOfWork, UnitOfWorkFactory
from peps_onboarding.testing.journeys import (
    COMMUNE,
    COMMUNE_CONTRACT,
    Journey,
    holder_form,
    step_one_proof,
)

JourneyOn = Callable[[UnitOfWorkFactory], Journey]  # the ``journey_on`` fixture
RACERS = 16


class Database(Protocol):
    """What the ``database`` fixture yields."""

    def unit_of_work(self) -> UnitOfWork: ...


def _registration(platform: Platform, n: int) -> ClassicRegistration:
    return ClassicRegistration(
        proof=step_one_proof(platform, COMMUNE, COMMUNE_CONTRACT),
        holder=holder_form("Jeanne", f"Dupont-{chr(ord('a') + n)}"),
        terms_accepted=True,
    )


@pytest.mark.rule("E6")
def test_racing_threads_register_one_establishment_once(
    database: Database, journey_on: JourneyOn
) -> None:
    """16 threads register the same establishment: one wins, the others are told it is
    in progress; exactly one enrolment, one applicant account, one letter."""
    journey = journey_on(database.unit_of_work)
    barrier = threading.Barrier(RACERS)

    def attempt(n: int) -> str:
        command = _registration(journey.platform, n)
        barrier.wait(timeout=30)
        try:
            journey.platform.register(command)
        except RegistrationInProgressError:
            return "in progress"
        return "registered"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(attempt, range(RACERS)))
    assert sorted(outcomes) == ["in progress"] * (RACERS - 1) + ["registered"]
    with database.unit_of_work() as uow:
        enrolment = uow.enrolments.get(Siret(COMMUNE))
        assert enrolment is not None and enrolment.state is EnrolmentState.PENDING
        members = uow.accounts.of_establishment(Siret(COMMUNE))
        assert [m.identifier for m in members] == [enrolment.applicant]
        assert uow.outbox.pending_count() == 2  # the creation e-mail and the letter


@pytest.mark.rule("M3")
def test_every_owed_notification_arrives_once_after_a_mailer_outage(
    database: Database, journey_on: JourneyOn
) -> None:
    """The mailer fails for a while, then recovers: each e-mail is delivered exactly once."""
    journey = journey_on(database.unit_of_work)
    journey.world.mailer.fail_next(5)
    journey.world.letters.fail_next(2)
    submitted = journey.register()
    for _ in range(8):
        journey.later(hours=6)
        journey.platform.dispatch_notifications()
    ids = [mail.message_id for mail in journey.world.mailer.sent]
    assert len(ids) == len(set(ids)) == 1
    assert [letter.siret for letter in journey.world.letters.sent] == [COMMUNE]
    assert journey.world.mailer.sent[0].to == holder_form().email
    with database.unit_of_work() as uow:
        assert uow.outbox.pending_count() == 0
        history = uow.events.history(Siret(COMMUNE))
        assert history[0].kind == "registration_submitted"
    assert submitted.siret == COMMUNE


def _register_in_a_process(
    url: str, n: int, start: multiprocessing.synchronize.Event, results: multiprocessing.Queue[str]
) -> None:
    """One racer: its own engine and platform on the same database; reports its outcome."""
    database = SqlDatabase(url)
    try:
        journey = _journey_on_here(database.unit_of_work)
        command = _registration(journey.platform, n)
        start.wait(timeout=60)
        try:
            journey.platform.register(command)
        except (RegistrationInProgressError, EstablishmentAlreadyEnrolledError) as error:
            results.put(error.code)
        else:
            results.put("registered")
    except BaseException as error:  # a crash is an outcome too, reported to the test
        results.put(f"crashed: {error!r}")
    finally:
        database.dispose()


def _journey_on_here(unit_of_work: UnitOfWorkFactory) -> Journey:
    """The journey builder of this folder's conftest, loaded by path (no package here)."""
    path = Path(__file__).parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("sql_conftest", path)
    assert spec is not None and spec.loader is not None
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    journey: Journey = fixtures._journey_on(unit_of_work)
    return journey


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_database(request: pytest.FixtureRequest) -> SqlDatabase:
    """A migrated store of each SQL dialect in turn."""
    database: SqlDatabase = request.getfixturevalue(f"{request.param}_database")
    return database


@pytest.mark.rule("E6")
def test_racing_processes_register_one_establishment_once(sql_database: SqlDatabase) -> None:
    """16 processes register the same establishment: exactly one wins (the primary key
    holds across processes), the others get the in-progress outcome."""
    url = sql_database.engine.url.render_as_string(hide_password=False)
    # fork: the racers start in milliseconds; they open connections of their own and
    # never touch the ones they inherit.
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results: multiprocessing.Queue[str] = context.Queue()
    racers = [
        context.Process(target=_register_in_a_process, args=(url, n, start, results))
        for n in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    results.close()
    results.join_thread()
    assert outcomes.count("registered") == 1, outcomes
    assert outcomes.count(RegistrationInProgressError.code) == RACERS - 1, outcomes
    with sql_database.unit_of_work() as uow:
        enrolment = uow.enrolments.get(Siret(COMMUNE))
        assert enrolment is not None and enrolment.state is EnrolmentState.PENDING
        members = uow.accounts.of_establishment(Siret(COMMUNE))
        assert [m.identifier for m in members] == [enrolment.applicant]
