"""Fixtures of the race tests: the SQLite file and the throwaway PostgreSQL cluster of
``tests/sql/conftest.py``, reused as they are (loaded by path: the test folders are not
packages), so both folders get their stores the same way."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def _sql_fixtures() -> ModuleType:
    path = Path(__file__).parent.parent / "sql" / "conftest.py"
    spec = importlib.util.spec_from_file_location("sql_conftest_for_races", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_sql = _sql_fixtures()

sqlite_url = _sql.sqlite_url
sqlite_database = _sql.sqlite_database
postgresql_server = _sql.postgresql_server
postgresql_url = _sql.postgresql_url
_migrated_template = _sql._migrated_template
postgresql_database = _sql.postgresql_database
