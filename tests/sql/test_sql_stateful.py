"""The core's stateful model (random use-case sequences, every spec invariant checked
after every step) over the SQL stores: SQLite, and PostgreSQL.

Each example gets a fresh, migrated database of its own. Migrating one costs far more
than a step, so the schema is migrated once per session into a template (a SQLite file
copied per example; a PostgreSQL database cloned with ``CREATE DATABASE … TEMPLATE``),
and these runs take fewer examples than the in-memory one (``tests/properties``):
60 on SQLite, 15 on PostgreSQL (a database created and dropped per example), 30 steps
each.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
from attrs import evolve
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.ports import UnitOfWorkFactory
from peps_onboarding.testing.journeys import Journey
from peps_onboarding.testing.stateful import PlatformMachine, StoreContents

pytestmark = pytest.mark.rule("E3", "A2", "E5", "E6", "A8", "L1", "M3", "T1")

JourneyOn = Callable[[UnitOfWorkFactory], Journey]  # the ``journey_on`` fixture
Opened = tuple[SqlDatabase, Callable[[], None]]  # a store, and how to throw it away


class PostgresServer(Protocol):
    """What this module uses of the ``postgresql_server`` fixture (``conftest.py``)."""

    def url(self, database: str) -> str: ...
    def create_database(self, template: str = "template0") -> str: ...
    def drop_database(self, name: str) -> None: ...


class _SqlMachine(PlatformMachine):
    """The model over a SQL store: each example opens a fresh one and reads it whole."""

    journey_on: JourneyOn
    open_database: Callable[[], Opened]

    def make_journey(self) -> Journey:
        self.database, self._discard = type(self).open_database()
        # Outbox messages in the order first seen: the order the links they carry were
        # issued (the model reads the store after every step). It only orders messages
        # the reader returns in the same order (PostgreSQL: written at the same instant).
        self._written: dict[str, int] = {}
        return type(self).journey_on(self.database.unit_of_work)

    def read_store(self) -> StoreContents:
        contents = self.database.contents()
        for message in contents.outbox:
            self._written.setdefault(message.id, len(self._written))
        ordered = sorted(contents.outbox, key=lambda message: self._written[message.id])
        return evolve(contents, outbox=tuple(ordered))

    def teardown(self) -> None:
        self.database.dispose()
        self._discard()


def _run_over(journey_on: JourneyOn, open_database: Callable[[], Opened], *, examples: int) -> None:
    machine = type(
        "Machine",
        (_SqlMachine,),
        {"journey_on": staticmethod(journey_on), "open_database": staticmethod(open_database)},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=examples, stateful_step_count=30, deadline=None),
    )


# --- SQLite ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once for the session, to copy (closed: no WAL left)."""
    path = tmp_path_factory.mktemp("stateful") / "template.db"
    with SqlDatabase(f"sqlite:///{path}") as database:
        database.upgrade()
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_copies(sqlite_template: Path, tmp_path: Path) -> Callable[[], Opened]:
    """Opens a fresh copy of the migrated SQLite template, one per call."""
    numbers = itertools.count(1)

    def open_copy() -> Opened:
        path = tmp_path / f"example-{next(numbers)}.db"
        shutil.copyfile(sqlite_template, path)

        def discard() -> None:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

        return SqlDatabase(f"sqlite:///{path}"), discard

    return open_copy


def test_the_stateful_model_holds_over_sqlite(
    journey_on: JourneyOn, sqlite_copies: Callable[[], Opened]
) -> None:
    """Every spec invariant holds after every step of random use cases on SQLite."""
    _run_over(journey_on, sqlite_copies, examples=60)


# --- PostgreSQL -----------------------------------------------------------------------


@pytest.fixture
def postgresql_clones(
    postgresql_server: PostgresServer, _migrated_template: str
) -> Callable[[], Opened]:
    """Opens a fresh database cloned from the migrated template, one per call."""

    def open_clone() -> Opened:
        name = postgresql_server.create_database(template=_migrated_template)
        return SqlDatabase(postgresql_server.url(name)), lambda: postgresql_server.drop_database(
            name
        )

    return open_clone


def test_the_stateful_model_holds_over_postgresql(
    journey_on: JourneyOn, postgresql_clones: Callable[[], Opened]
) -> None:
    """Every spec invariant holds after every step of random use cases on PostgreSQL."""
    _run_over(journey_on, postgresql_clones, examples=15)
