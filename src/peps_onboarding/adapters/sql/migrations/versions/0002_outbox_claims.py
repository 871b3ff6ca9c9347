"""Outbox claims for several workers, and an index of the unsent messages only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-04

``claimed_until``: a worker's lease on a message (``SqlDatabase.claim_due_outbox``),
so that two workers never dispatch the same message at once (M3). Existing rows get
NULL: unclaimed. ``ix_outbox_unsent``: ``due`` and ``pending_count`` read only unsent
messages, which stay few however long the history of sent ones grows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["next_attempt_at", "created_at"],
        sqlite_where=_UNSENT,
        postgresql_where=_UNSENT,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
