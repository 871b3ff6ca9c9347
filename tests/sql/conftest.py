"""Fixtures of the SQL tests: a SQLite file, a throwaway PostgreSQL cluster, and
``database``, one store of each kind (memory, SQLite, PostgreSQL).

PostgreSQL: ``initdb`` and ``pg_ctl`` are looked for on ``PATH``, then under
``/usr/lib/postgresql/*/bin`` (Debian's packages). The cluster is started once per
session on 127.0.0.1 and a free port, with trust authentication and no fsync (its
data is thrown away); each test gets a database of its own. ``initdb`` refuses to run
as root: under root the cluster runs as the ``postgres`` user (or ``nobody``) through
``runuser``. Without binaries the PostgreSQL tests are skipped with the reason, unless
the ``CI`` environment variable is set: then they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from attrs import frozen
from sqlalchemy import create_engine, text

from peps_onboarding import build
from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.adapters.memory import (
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
)
from peps_onboarding.adapters.randomness import SeededRandomSource
from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.bootstrap import InMemoryPlatform
from peps_onboarding.ports import UnitOfWork, UnitOfWorkFactory
from peps_onboarding.testing.journeys import START, Journey, unthrottled
from peps_onboarding.testing.postgres import postgres_binaries, throwaway_cluster
from peps_onboarding.testing.samples import sample_directory

_names = itertools.count(1)
SECRET = b"journey-secret-journey-secret-00"
JourneyOn = Callable[[UnitOfWorkFactory], Journey]


class Database(Protocol):
    """What the ``database`` fixture yields: a store to make units of work from."""

    def unit_of_work(self) -> UnitOfWork: ...


# --- SQLite ---------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of its own for the test (empty: no schema yet)."""
    return f"sqlite:///{tmp_path / 'onboarding.db'}"


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[SqlDatabase]:
    """A migrated SQLite store of its own for the test."""
    database = SqlDatabase(sqlite_url)
    database.upgrade()
    yield database
    database.dispose()


# --- PostgreSQL -----------------------------------------------------------------------


@frozen
class PostgresServer:
    """A running throwaway cluster; ``url(name)`` points at one of its databases."""

    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str = "template0") -> str:
        name = f"peps_{os.getpid()}_{next(_names)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session (skipped without binaries)."""
    if postgres_binaries() is None:
        reason = "PostgreSQL is not installed (no initdb/pg_ctl on PATH or /usr/lib/postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: the PostgreSQL tests must run in CI", pytrace=False)
        pytest.skip(reason)
    with throwaway_cluster() as port:
        yield PostgresServer(port)


@pytest.fixture
def postgresql_url(postgresql_server: PostgresServer) -> Iterator[str]:
    """An empty PostgreSQL database of its own for the test (no schema yet)."""
    name = postgresql_server.create_database()
    yield postgresql_server.url(name)
    postgresql_server.drop_database(name)


@pytest.fixture(scope="session")
def _migrated_template(postgresql_server: PostgresServer) -> str:
    name = postgresql_server.create_database()
    database = SqlDatabase(postgresql_server.url(name))
    try:
        database.upgrade()
    finally:
        database.dispose()
    return name


@pytest.fixture
def postgresql_database(
    postgresql_server: PostgresServer, _migrated_template: str
) -> Iterator[SqlDatabase]:
    """A migrated PostgreSQL store of its own for the test (cloned from a template)."""
    name = postgresql_server.create_database(template=_migrated_template)
    database = SqlDatabase(postgresql_server.url(name))
    yield database
    database.dispose()
    postgresql_server.drop_database(name)


# --- one of each ----------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Database:
    """A fresh, empty, migrated store of each kind in turn."""
    kind: str = request.param
    if kind == "memory":
        return InMemoryDatabase()
    found: Database = request.getfixturevalue(f"{kind}_database")
    return found


# --- journeys on any store ------------------------------------------------------------


def _journey_on(unit_of_work: UnitOfWorkFactory) -> Journey:
    """A :class:`Journey` whose platform keeps its state behind ``unit_of_work``.

    Built as ``Journey.start`` builds its own (fake clock at START, sample directory,
    in-memory mailer, letters and Net-Entreprises), with the given unit of work; the
    journey's ``world.database`` is an unused placeholder.
    """
    clock = FakeClock(START)
    directory = sample_directory()
    mailer, letters = InMemoryMailer(), InMemoryLetterSender()
    net_entreprises, captcha = InMemoryNetEntreprisesVerifier(), InMemoryCaptchaVerifier()
    platform = build(
        unit_of_work=unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=net_entreprises,
        captcha=captcha,
        mailer=mailer,
        letters=letters,
        secret=SECRET,
        clock=clock,
        hasher=Argon2PasswordHasher.fast_for_tests(),
        random=SeededRandomSource(7),
        accept_test_email_domains=True,
        # races and random models drive many requests a second; they are about E5/E6
        policy=unthrottled(),
    )
    world = InMemoryPlatform(
        platform=platform,
        database=InMemoryDatabase(),
        directory=directory,
        mailer=mailer,
        letters=letters,
        net_entreprises=net_entreprises,
        captcha=captcha,
    )
    return Journey(world, clock)


@pytest.fixture
def journey_on() -> JourneyOn:
    """Builds a journey over a given unit-of-work factory."""
    return _journey_on
