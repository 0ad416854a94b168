"""``transfers.block_time``: the timestamp of the block a transfer is in.

Written after the order changes of a unit of work, in the same transaction: the
watcher stamps the transfers of the blocks it applies from their headers (a transfer
that moved to another block takes the new one's time); the balance check copies the
time of the block it read from the blocks the watcher stored. A transfer that left its
block keeps the old value, which is never read: the payments export reads it only
with ``block_hash`` (see daemon/accounting/export.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, select, update

from chains.watching import ScannedBlock
from daemon.storage.prepared import Prepared
from daemon.storage.tables import chain_blocks, transfers

_STAMP = Prepared(
    update(transfers)
    .where(
        transfers.c.chain == bindparam("b_chain"),
        transfers.c.block_height == bindparam("b_height"),
        transfers.c.block_hash == bindparam("b_hash"),
    )
    .values(block_time=bindparam("b_time"))
)


def stamp_blocks(conn: Connection, chain: str, blocks: Sequence[ScannedBlock]) -> None:
    """Stamp the transfers in ``blocks`` (those with payments) with their block's time."""
    rows = [
        {
            "b_chain": chain,
            "b_height": b.header.height,
            "b_hash": b.header.hash,
            "b_time": b.header.timestamp,
        }
        for b in blocks
        if b.payments
    ]
    if rows:
        _STAMP.execute_many(conn, rows)


def stamp_from_stored_block(conn: Connection, chain: str, height: int, block_hash: str) -> None:
    """Stamp the transfers in this block with its time as the watcher stored it."""
    known = select(chain_blocks.c.timestamp).where(
        chain_blocks.c.chain == chain,
        chain_blocks.c.height == height,
        chain_blocks.c.hash == block_hash,
    )
    timestamp = conn.execute(known).scalar_one_or_none()
    if timestamp is not None:
        _STAMP.execute(
            conn, {"b_chain": chain, "b_height": height, "b_hash": block_hash, "b_time": timestamp}
        )
