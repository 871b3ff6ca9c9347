"""Dead letters in the outbox, and the platform's settings kept in the database.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``outbox.dead_at``: when a message was given up on (a permanent refusal, or too many
attempts): it is no longer due, and stays visible until an operator retries it (M3).
``platform_settings``: one row per key, such as the fingerprint of the platform secret
that the database was first used with (never the secret itself).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "platform_settings",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("platform_settings")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("dead_at")
