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

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
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
from peps_onboarding.samples import sample_directory
from peps_onboarding.testing.journeys import START, Journey

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


def _binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_cluster_owner() -> tuple[list[str], str | None]:
    """The command prefix that runs a program as a non-root user, and that user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], name
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL")


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
    binaries = _binaries()
    if binaries is None:
        reason = "PostgreSQL is not installed (no initdb/pg_ctl on PATH or /usr/lib/postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: the PostgreSQL tests must run in CI", pytrace=False)
        pytest.skip(reason)
    prefix, owner = _as_cluster_owner()
    root = Path(tempfile.mkdtemp(prefix="peps-pg-"))
    data = root / "data"
    data.mkdir()
    if owner is not None:
        entry = pwd.getpwnam(owner)
        for path in (root, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    subprocess.run(  # noqa: S603 (our own arguments)
        [*prefix, *initdb, "--no-sync", "--encoding=UTF8", "--locale=C"],
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {data} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(binaries / "pg_ctl")
    log = data / "server.log"
    subprocess.run(  # noqa: S603
        [*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-o", options, "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(  # noqa: S603
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


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
