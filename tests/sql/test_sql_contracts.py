"""The unit-of-work and directory contract suites over SQLite (a file) and PostgreSQL.

The memory adapters run the same suites in ``tests/adapters``. Both SQL units of work
stage their writes and check versions at commit, so racing writers never wait for
each other before their commit: ``writers_wait_for_each_other`` stays False.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import delete, insert

from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.domain.values import PostalAddress
from peps_onboarding.ports import UnitOfWorkFactory
from peps_onboarding.testing.contracts import (
    Directory,
    DirectoryContract,
    DirectoryEntry,
    UnitOfWorkContract,
)


class TestSqliteUnitOfWork(UnitOfWorkContract):
    """The contract over a SQLite file in WAL mode."""

    writers_wait_for_each_other = False

    @pytest.fixture
    def unit_of_work_factory(self, sqlite_database: SqlDatabase) -> UnitOfWorkFactory:
        return sqlite_database.unit_of_work


class TestPostgresqlUnitOfWork(UnitOfWorkContract):
    """The contract over PostgreSQL through psycopg 3."""

    writers_wait_for_each_other = False

    @pytest.fixture
    def unit_of_work_factory(self, postgresql_database: SqlDatabase) -> UnitOfWorkFactory:
        return postgresql_database.unit_of_work


def _address(address: PostalAddress | None) -> dict[str, object]:
    def text(line: object | None) -> str | None:
        return None if line is None else str(line)

    return {
        "street": text(address and address.street),
        "postal_code": text(address and address.postal_code),
        "city": text(address and address.city),
        "address_complement": text(address and address.address_complement),
        "identification_complement": text(address and address.identification_complement),
        "locality": text(address and address.locality),
    }


def _hold(database: SqlDatabase, entries: Sequence[DirectoryEntry]) -> Directory:
    """The directory tables holding exactly these entries, written as the import does."""
    held = [e.establishment for e in entries]
    represented = [(e.establishment.siret, e.legal_representative) for e in entries]
    with database.engine.begin() as connection:
        for table in (contracts, legal_representatives, establishments):
            connection.execute(delete(table))
        found: list[dict[str, object]] = [
            {
                "siret": e.siret.value,
                "designation": e.designation,
                "legal_category": e.legal_category.code,
                "closed": e.closed,
                "legal_unit_ceased": e.legal_unit_ceased,
                **_address(e.address),
            }
            for e in held
        ]
        connection.execute(insert(establishments), found)
        rows: list[dict[str, object]] = [
            {"siret": c.siret.value, "number": c.number.value, "fund": c.fund}
            for entry in entries
            for c in entry.contracts
        ]
        if rows:
            connection.execute(insert(contracts), rows)
        rows = [
            {
                "siret": siret.value,
                "civility": r.civility.value if r.civility else None,
                "last_name": r.last_name,
                "first_name": r.first_name,
                "title": r.title,
                **_address(r.address),
            }
            for siret, r in represented
            if r is not None
        ]
        if rows:
            connection.execute(insert(legal_representatives), rows)
    return SqlDirectory(database)


class TestSqliteDirectory(DirectoryContract):
    """The directory contract over SQLite, read through the stores' database."""

    @pytest.fixture
    def directory_holding(self, sqlite_database: SqlDatabase) -> object:
        return lambda entries: _hold(sqlite_database, entries)


class TestPostgresqlDirectory(DirectoryContract):
    """The directory contract over PostgreSQL."""

    @pytest.fixture
    def directory_holding(self, postgresql_database: SqlDatabase) -> object:
        return lambda entries: _hold(postgresql_database, entries)
