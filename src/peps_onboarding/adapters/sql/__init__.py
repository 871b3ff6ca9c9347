"""SQL adapters on SQLAlchemy 2 Core: one schema, two dialects (SQLite, PostgreSQL).

:func:`mask_url` shows a database URL with its password as ``***``.
"""

from .urls import mask_url

__all__ = ["mask_url"]
