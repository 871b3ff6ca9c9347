"""The concurrency contract suite on each of our stores: threads on the in-memory store
and on a SQLite file, separate processes on PostgreSQL (E5, A8, N3, N4, A4).

At least 50 rounds per race on each SQL store, more in memory where a round costs
little; ``PEPS_RACE_ROUNDS=500 pytest tests/concurrency`` soaks every store longer.
"""

from __future__ import annotations

import pytest

from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.testing.concurrency import (
    ConcurrencyContract,
    InMemoryStoreRecipe,
    SqlStoreRecipe,
    StoreRecipe,
)


def _url_of(database: SqlDatabase) -> str:
    return database.engine.url.render_as_string(hide_password=False)


class TestRacesOfThreadsInMemory(ConcurrencyContract):
    """Cheap rounds: many of them, with a random pause at each commit."""

    rounds = 200

    @pytest.fixture
    def store_recipe(self) -> StoreRecipe:
        return InMemoryStoreRecipe(pause=0.001)


class TestRacesOfThreadsOnSqlite(ConcurrencyContract):
    """Threads of one process on one SQLite file (the file of ``tests/sql``'s fixtures)."""

    rounds = 50

    @pytest.fixture
    def store_recipe(self, sqlite_database: SqlDatabase) -> StoreRecipe:
        return SqlStoreRecipe(_url_of(sqlite_database))


class TestRacesOfProcessesOnPostgresql(ConcurrencyContract):
    """Spawned worker processes, each with its own platform, on one PostgreSQL database."""

    racers_in = "processes"
    rounds = 50

    @pytest.fixture
    def store_recipe(self, postgresql_database: SqlDatabase) -> StoreRecipe:
        return SqlStoreRecipe(_url_of(postgresql_database))
