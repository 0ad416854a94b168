"""Tatum address subscriptions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from daemon.storage.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tatum_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("script", sa.LargeBinary(), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tatum_subscriptions")),
        sa.UniqueConstraint("chain", "script", name=op.f("uq_tatum_subscriptions_chain_script")),
    )


def downgrade() -> None:
    op.drop_table("tatum_subscriptions")
