"""Alembic's environment for the platform's schema.

Run through :func:`peps_onboarding.adapters.sql.stores.upgrade` (or
``SqlDatabase.upgrade``), which passes an open connection in
``config.attributes["connection"]``; without one, the URL comes from the ``-x url=…``
argument or the ``sqlalchemy.url`` option, as with the ``alembic`` command.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from peps_onboarding.adapters.sql import directory_tables, tables  # noqa: F401 (registers them)
from peps_onboarding.adapters.sql.metadata import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them: let autogenerate write it that way.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass a connection, -x url=… or sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
