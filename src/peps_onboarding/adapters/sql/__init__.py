"""SQL adapters on SQLAlchemy 2 Core: one schema, two dialects (SQLite, PostgreSQL).

The public names: :class:`SqlDatabase` (the stores and their units of work, and the
schema's migrations), :class:`SqlDirectory` (the directory read from its tables),
:func:`import_directory` (loads a directory file into them) and :class:`SqlSettings`
(what the database keeps about itself, such as its secret's fingerprint), and
:func:`mask_url` (a database URL as it may be shown: its password as ``***``).
"""

from .directory import SqlDirectory
from .directory_import import DirectoryFileError, ImportReport, import_directory
from .settings import SqlSettings
from .stores import SqlDatabase, SqlUnitOfWork
from .urls import mask_url

__all__ = [
    "DirectoryFileError",
    "ImportReport",
    "SqlDatabase",
    "SqlDirectory",
    "SqlSettings",
    "SqlUnitOfWork",
    "import_directory",
    "mask_url",
]
