"""webhook deliveries: delivery state on each event row, and the attempts log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from daemon.storage.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events written before delivery existed get status no_target: never sent on
    # their own (a flood of stale events), but each can be redelivered by hand.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("endpoint", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column(
                "delivery_status",
                sa.String(length=16),
                nullable=False,
                server_default="no_target",
            )
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("lease_until", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_attempt_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_status_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", UtcDateTime(), nullable=True))
        batch_op.create_index(
            "ix_events_delivery_status_next_attempt_at",
            ["delivery_status", "next_attempt_at"],
            unique=False,
        )
    op.create_table(
        "webhook_attempts",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UtcDateTime(), nullable=False),
        sa.Column("target_url", sa.String(length=2048), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_webhook_attempts_event_seq_events")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_attempts_event_seq"), ["event_seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempts_event_seq"))
    op.drop_table("webhook_attempts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_delivery_status_next_attempt_at")
        for name in (
            "delivered_at",
            "last_error",
            "last_status_code",
            "last_attempt_at",
            "lease_until",
            "lease_owner",
            "next_attempt_at",
            "attempts",
            "delivery_status",
            "endpoint",
            "target_url",
        ):
            batch_op.drop_column(name)
