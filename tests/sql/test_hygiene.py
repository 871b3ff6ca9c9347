"""What the SQL adapter keeps to itself: the password in a database URL, the database
file (password hashes, personal data) from other local users, and the values bound to
statements from error messages."""

from __future__ import annotations

import os
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from peps_onboarding.adapters import sql
from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.adapters.sql.tables import enrolments
from peps_onboarding.adapters.sql.urls import mask_url
from peps_onboarding.domain.errors import ConflictError

PASSWORD = "Pw-7f3a9c-tres-secret"
BOUND = "valeur-liee-7f3a9c@example.fr"  # a value bound to a statement


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most hosts run under (022), under which SQLite alone makes 0644 files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            f"postgresql+psycopg://pep:{PASSWORD}@db.example:5432/pep",
            "postgresql+psycopg://pep:***@db.example:5432/pep",
        ),
        (f"postgresql://pep:{PASSWORD}@[::1]/pep", "postgresql://pep:***@[::1]/pep"),
        (
            f"postgresql://pep@db/pep?password={PASSWORD}&sslmode=require",
            "postgresql://pep@db/pep?password=***&sslmode=require",
        ),
        (f"postgresql://pep:{PASSWORD}%40x@db/pep", "postgresql://pep:***@db/pep"),
    ],
)
def test_a_password_in_a_database_url_is_masked(url: str, masked: str) -> None:
    """The password, in the user part or the query, is shown as ***; the rest stays."""
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://pep:{PASSWORD}@x@db/pep",  # an unescaped @ in the password
        f"postgresql://pep:ab@{PASSWORD}@db/pep",
        f"postgresql://pep:{PASSWORD}@db:port/pep",
        f"postgresql://pep:{PASSWORD}/pep",  # the @host forgotten
        f"host=db user=pep password={PASSWORD}",  # a libpq DSN, not a URL
        f"pep:{PASSWORD}@db",
    ],
)
def test_no_password_comes_out_of_a_url_that_cannot_be_parsed(url: str) -> None:
    """Text SQLAlchemy cannot parse, or parses only by guessing, keeps its scheme at
    most: no part of the password is ever echoed."""
    masked = mask_url(url)
    assert PASSWORD not in masked
    assert not any(PASSWORD[i : i + 4] in masked for i in range(len(PASSWORD) - 3))


@pytest.mark.parametrize(
    "url", ["sqlite:///var/lib/pep/onboarding.db", "sqlite:///:memory:", "postgresql://db/pep"]
)
def test_a_url_without_a_secret_is_shown_as_typed(url: str) -> None:
    """Nothing to hide: the URL is not rewritten (a SQLite path stays readable)."""
    assert mask_url(url) == url


def test_mask_url_is_part_of_the_sql_adapters_public_names() -> None:
    """Hosts and the command line import it from ``peps_onboarding.adapters.sql``."""
    assert sql.mask_url is mask_url
    assert "mask_url" in sql.__all__


# --- the database file ------------------------------------------------------------------


@pytest.mark.usefixtures("usual_umask")
@pytest.mark.parametrize("uri", [False, True], ids=["path", "uri"])
def test_a_new_sqlite_database_and_its_wal_files_are_private_to_their_owner(
    tmp_path: Path, uri: bool
) -> None:
    """A fresh database file, its -wal and its -shm are 0600, whatever the umask lets
    through: they hold password hashes and personal data."""
    path = tmp_path / "onboarding.db"
    url = f"sqlite:///file:{path}?uri=true" if uri else f"sqlite:///{path}"
    database = SqlDatabase(url)
    try:
        database.upgrade()
        database.next_number("PEP")  # a write through the second pool too
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {file.name: _mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        database.dispose()


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_database_file_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    """The adapter only decides for the files it creates: a host's 0640 (a backup group)
    stays, and the files SQLite adds follow it."""
    path = tmp_path / "onboarding.db"
    path.touch()
    path.chmod(0o640)
    database = SqlDatabase(f"sqlite:///{path}")
    try:
        database.upgrade()
        assert _mode(path) == 0o640
        assert _mode(Path(f"{path}-wal")) == 0o640
    finally:
        database.dispose()


# --- bound values -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDatabase]:
    """A database of each kind without its schema: every statement on a table fails."""
    kind: str = request.param
    if kind == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'onboarding.db'}"
    elif kind == "sqlite-memory":
        url = "sqlite:///:memory:"
    else:
        url = request.getfixturevalue("postgresql_url")
    database = SqlDatabase(url)
    yield database
    database.dispose()


def _told(error: BaseException) -> str:
    """Everything the error would show in a log: its text and its chained causes."""
    return "".join(traceback.format_exception(error))


def test_a_database_error_never_shows_the_values_bound_to_its_statement(
    unmigrated: SqlDatabase,
) -> None:
    """A failed statement's error names the statement, never its parameters (they are
    hashes, names, e-mail addresses)."""
    with pytest.raises(Exception) as caught, unmigrated.write() as connection:  # noqa: PT011
        connection.execute(text("INSERT INTO accounts (email) VALUES (:email)"), {"email": BOUND})

    assert "INSERT INTO accounts" in _told(caught.value)
    assert BOUND not in _told(caught.value)


def test_the_counters_pool_never_shows_the_values_bound_to_its_statements(
    unmigrated: SqlDatabase,
) -> None:
    """The numbering (rule A1) runs on a pool of its own: its errors are as discreet."""
    with pytest.raises(Exception) as caught:  # noqa: PT011
        unmigrated.next_number(BOUND)

    assert "identifier_counters" in _told(caught.value)
    assert BOUND not in _told(caught.value)


@pytest.mark.rule("A1")
@pytest.mark.parametrize("store", ["sqlite_database", "postgresql_database"])
def test_a_refused_duplicate_names_its_constraint_never_the_value(
    store: str, request: pytest.FixtureRequest
) -> None:
    """A refused duplicate says which constraint refused it; PostgreSQL's text, which
    quotes the duplicate value, reaches neither the error nor a logged traceback."""
    database: SqlDatabase = request.getfixturevalue(store)
    row = {"siret": "21330063500017", "state": "pending", "version": 1}
    with database.write() as connection:
        connection.execute(insert(enrolments).values(row))
    with pytest.raises(ConflictError) as refused, database.write() as connection:
        connection.execute(insert(enrolments).values(row))
    logged = "".join(traceback.format_exception(refused.value))  # what a host's log shows
    assert "21330063500017" not in logged
    assert "ConflictError" in logged
