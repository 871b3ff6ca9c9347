"""Versioned links, and the password-check slots of logins.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

``links.version``: using a link is an optimistic write (``WHERE version = :read``), so
of two requests using one link at once exactly one commits (A8). Existing links start
at version 1. ``password_checks``: how many of an account's password-check slots are
held by logins comparing a password or spent on failures (A4); no row means none.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "links", sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
    )
    op.create_table(
        "password_checks",
        sa.Column("identifier", sa.String(9), primary_key=True),
        sa.Column("taken", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("password_checks")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("version")
