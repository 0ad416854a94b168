"""events.pruned_at and two partial indexes: webhook retention, and claims that stay
small however many events were delivered

`pruned_at`: when `webhooks.retention` dropped a delivered event's body (the row, its
status, times and attempts stay). `ix_events_waiting_order_seq` holds only waiting
events (pending, retrying): the per-order rule every claim checks reads it, so the
check costs the same with a million delivered events, and PostgreSQL picks it even
before the table's first ANALYZE (without it, a freshly filled outbox was planned as a
bitmap over every waiting row per candidate: 726 ms a claim at 5,000 events).
`ix_events_unpruned_delivered_at`: the delivered bodies retention has still to drop.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from daemon.storage.types import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WAITING = sa.text("delivery_status IN ('pending', 'retrying')")
UNPRUNED = sa.text("delivered_at IS NOT NULL AND pruned_at IS NULL")


def upgrade() -> None:
    op.add_column("events", sa.Column("pruned_at", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_events_waiting_order_seq",
        "events",
        ["order_seq", "seq"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )
    op.create_index(
        "ix_events_unpruned_delivered_at",
        "events",
        ["delivered_at"],
        sqlite_where=UNPRUNED,
        postgresql_where=UNPRUNED,
    )


def downgrade() -> None:
    op.drop_index("ix_events_unpruned_delivered_at", "events")
    op.drop_index("ix_events_waiting_order_seq", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("pruned_at")
