"""A contract number belongs to one SIRET: a unique index on the number alone (E2).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Revisions 0001 and 0002 keyed contracts by the (SIRET, number) pair only, so a number
could be written for two SIRETs. Such a database is not upgraded: the numbers held by
several SIRETs are listed in a :class:`SchemaUpgradeError` and nothing changes, since
only the operator knows which SIRET is right. Delete the wrong rows of
``directory_contracts`` (or re-import the directory into a new database), then upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peps_onboarding.adapters.sql.migrations import SchemaUpgradeError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SHOWN = 20


def upgrade() -> None:
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT number, siret FROM directory_contracts WHERE number IN ("
                " SELECT number FROM directory_contracts"
                " GROUP BY number HAVING COUNT(*) > 1)"
                " ORDER BY number, siret"
            )
        )
        .all()
    )
    if shared:
        holders: dict[str, list[str]] = {}
        for number, siret in shared:
            holders.setdefault(number, []).append(siret)
        listed = "; ".join(
            f"{number} : {', '.join(sirets)}" for number, sirets in list(holders.items())[:_SHOWN]
        )
        more = f" (et {len(holders) - _SHOWN} autres)" if len(holders) > _SHOWN else ""
        raise SchemaUpgradeError(
            f"{len(holders)} numéro(s) de contrat appartiennent à plusieurs SIRET, ce que la "
            f"règle E2 interdit : {listed}{more}. Supprimez les lignes erronées de la table "
            "directory_contracts, puis relancez la migration."
        )
    op.create_index("uq_directory_contracts_number", "directory_contracts", ["number"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_directory_contracts_number", table_name="directory_contracts")
