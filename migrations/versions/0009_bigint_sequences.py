"""row numbers 64-bit on PostgreSQL

`seq` columns (and the columns that point at them) were int4: at 50 million events a
day `events.seq` would pass 2**31 in about six weeks. SQLite's integer primary keys are
64-bit already, so only PostgreSQL changes (each ALTER rewrites its table: on a large
database run the upgrade in a quiet hour).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (table, column, whether it owns a sequence)
COLUMNS = (
    ("orders", "seq", True),
    ("transfers", "seq", True),
    ("transfers", "order_seq", False),
    ("events", "seq", True),
    ("events", "order_seq", False),
    ("webhook_attempts", "seq", True),
    ("webhook_attempts", "event_seq", False),
    ("webhook_endpoints", "last_failed_seq", False),
)


def _widen(bits: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    kind = sa.BigInteger() if bits == "bigint" else sa.Integer()
    for table, column, owns_sequence in COLUMNS:
        op.alter_column(table, column, type_=kind)
        if owns_sequence:
            op.execute(sa.text(f"ALTER SEQUENCE {table}_{column}_seq AS {bits}"))


def upgrade() -> None:
    _widen("bigint")


def downgrade() -> None:
    _widen("integer")
