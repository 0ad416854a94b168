"""transfers.block_time: the timestamp of the block a transfer is in

For the payments export (filtered by block time). The watcher writes it from the block
header when it stores or moves a transfer; the balance check copies it from the block it
stored. Rows already there take it from the recent blocks the watcher kept
(chain_blocks); older ones stay empty until `paywatch chain rescan` finds them again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transfers", sa.Column("block_time", sa.BigInteger(), nullable=True))
    transfers = sa.table(
        "transfers",
        sa.column("chain", sa.String(32)),
        sa.column("block_height", sa.BigInteger()),
        sa.column("block_hash", sa.String(100)),
        sa.column("block_time", sa.BigInteger()),
    )
    blocks = sa.table(
        "chain_blocks",
        sa.column("chain", sa.String(32)),
        sa.column("height", sa.BigInteger()),
        sa.column("hash", sa.String(100)),
        sa.column("timestamp", sa.BigInteger()),
    )
    stamp = (
        sa.select(blocks.c.timestamp)
        .where(
            blocks.c.chain == transfers.c.chain,
            blocks.c.height == transfers.c.block_height,
            blocks.c.hash == transfers.c.block_hash,
        )
        .scalar_subquery()
    )
    op.execute(
        transfers.update().where(transfers.c.block_hash.is_not(None)).values(block_time=stamp)
    )


def downgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("block_time")
