"""ERC-20 transfers keyed within their transaction; the node's log index kept beside

An ERC-20 transfer was keyed (tx hash, block-wide log index), which changes when a
reorg mines the same transaction in another block: the payment looked reversed and
found again. It is now keyed (tx hash, n), n its place among the transaction's
``Transfer`` logs of the configured tokens, and ``log_index`` keeps where the node
reports it.

Existing rows are converted as well as the database allows (it has no node to ask):
an EVM row with a non-negative index (a ``0x`` hash: native and internal transfers
and balance checks have negative indexes, Bitcoin txids no prefix) gets its old
index as ``log_index`` and, as its new index, its place among the transaction's
stored ERC-20 transfers in log order. That is the new key exactly unless the
transaction also moved a configured token to an address of no order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TRANSFERS = sa.table(
    "transfers",
    sa.column("seq", sa.Integer()),
    sa.column("chain", sa.String()),
    sa.column("tx_hash", sa.String()),
    sa.column("output_index", sa.Integer()),
    sa.column("log_index", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_index", sa.Integer(), nullable=True))
    t = TRANSFERS
    rows = op.get_bind().execute(
        sa.select(t.c.seq, t.c.chain, t.c.tx_hash, t.c.output_index)
        .where(t.c.tx_hash.like("0x%"), t.c.output_index >= 0)
        .order_by(t.c.chain, t.c.tx_hash, t.c.output_index)
    )
    # In ascending log order a row's new index is never above its old one, nor equal
    # to an index not converted yet: no step breaks (chain, tx_hash, output_index).
    _set(
        {"target": row.seq, "new_index": ordinal, "log_index": row.output_index}
        for row, ordinal in _ordinals(rows)
    )


def _ordinals(rows: Iterable[Any]) -> Iterable[tuple[Any, int]]:
    group: tuple[str, str] | None = None
    ordinal = 0
    for row in rows:
        if (row.chain, row.tx_hash) != group:
            group, ordinal = (row.chain, row.tx_hash), 0
        yield row, ordinal
        ordinal += 1


def _set(values: Iterable[dict[str, Any]]) -> None:
    batch = list(values)
    if batch:
        t = TRANSFERS
        op.get_bind().execute(
            sa.update(t)
            .where(t.c.seq == sa.bindparam("target"))
            .values(output_index=sa.bindparam("new_index"), log_index=sa.bindparam("log_index")),
            batch,
        )


def downgrade() -> None:
    t = TRANSFERS
    rows = op.get_bind().execute(
        sa.select(t.c.seq, t.c.log_index)
        .where(t.c.log_index.is_not(None))
        .order_by(t.c.chain, t.c.tx_hash, t.c.output_index.desc())
    )
    # Back to the log index in descending order: again no step collides.
    _set({"target": r.seq, "new_index": r.log_index, "log_index": None} for r in rows)
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_column("log_index")
