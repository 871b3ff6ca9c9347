"""Address columns long enough for every real French address (C4).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Revisions 0001 to 0005 kept address lines to the postal standard's 38 characters,
which refused real communes (« Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson », 45)
and streets (« 12 avenue du Maréchal de Lattre de Tassigny », 43). The address is now
stored as typed: 100 characters for the voie, the compléments and the lieu-dit, 60 for
the ville; the letter lays it out to 38 characters a line (``domain.postal``). Only
lengths grow, so no row changes. Downgrading shortens them back, which PostgreSQL
refuses while a longer value is stored.

SQLite changes a column's type by copying its table, and with ``foreign_keys=ON``
(which cannot be turned off inside the migration's transaction) it refuses to drop a
table that other rows point to: the rows of the referencing tables (``rights``,
``directory_contracts``, ``directory_legal_representatives``) are set aside in a
temporary table for the copy and put back after it, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("accounts", "directory_establishments", "directory_legal_representatives")
_LINES = ("street", "address_complement", "identification_complement", "locality")
_LINE_LENGTH = 100
_CITY_LENGTH = 60
_OLD_LENGTH = 38
_REQUIRED = {"accounts": {"street", "city"}, "directory_legal_representatives": {"street", "city"}}
# The tables whose rows point to each resized table (SQLite copies it, see above).
_REFERENCING = {
    "accounts": ("rights",),
    "directory_establishments": ("directory_contracts", "directory_legal_representatives"),
}


# The table names below are this module's constants, never input.
def _set_aside(tables: Sequence[str]) -> None:
    for name in tables:
        op.execute(f"CREATE TEMPORARY TABLE _kept_{name} AS SELECT * FROM {name}")  # noqa: S608
        op.execute(f"DELETE FROM {name}")  # noqa: S608


def _put_back(tables: Sequence[str]) -> None:
    for name in tables:
        op.execute(f"INSERT INTO {name} SELECT * FROM _kept_{name}")  # noqa: S608
        op.execute(f"DROP TABLE _kept_{name}")


def _resize(line_length: int, city_length: int) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in _TABLES:
        required = _REQUIRED.get(name, set())
        referencing = _REFERENCING.get(name, ()) if sqlite else ()
        _set_aside(referencing)
        with op.batch_alter_table(name) as batch:
            for column, length in (*((c, line_length) for c in _LINES), ("city", city_length)):
                batch.alter_column(
                    column,
                    type_=sa.String(length),
                    existing_nullable=column not in required,
                )
        _put_back(referencing)


def upgrade() -> None:
    _resize(_LINE_LENGTH, _CITY_LENGTH)


def downgrade() -> None:
    _resize(_OLD_LENGTH, _OLD_LENGTH)
