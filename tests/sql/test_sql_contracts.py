"""The unit-of-work contract suite over SQLite (a file) and PostgreSQL.

The memory adapter runs the same suite in ``tests/adapters``. Both SQL units of work
stage their writes and check versions at commit, so racing writers never wait for
each other before their commit: ``writers_wait_for_each_other`` stays False.
"""

from __future__ import annotations

import pytest

from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.ports import UnitOfWorkFactory
from peps_onboarding.testing.contracts import UnitOfWorkContract


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
