"""Alembic migrations of the SQL adapters (shipped in the package)."""

from __future__ import annotations

__all__ = ["SchemaUpgradeError"]


class SchemaUpgradeError(RuntimeError):
    """A migration found data it cannot carry forward; the database was left as it was.

    The message says which rows and what to do with them. Nothing is guessed: a
    migration never deletes or rewrites the directory's data to make a constraint fit.
    """
