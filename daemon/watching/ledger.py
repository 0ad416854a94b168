"""A watcher's persistent state: its cursor, the recent blocks, and the transfers it
must revisit (orphaned by a reorg, unconfirmed, or still gaining confirmations).

Every function takes the caller's connection: the engine writes a block's effects,
the blocks and the cursor in one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    delete,
    insert,
    or_,
    select,
    update,
)

from chains.watching import BlockHeader
from daemon.domain.payments import TransferKey
from daemon.services.order_changes import Observation
from daemon.services.order_records import TransferRecord
from daemon.storage.order_targets import TRANSFER_ADDRESS, of_transfer
from daemon.storage.tables import chain_blocks, chain_cursors, order_addresses, orders, transfers


@dataclass(frozen=True, slots=True)
class Cursor:
    height: int
    hash: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WatchedTransfer:
    """A stored transfer with what the engine needs to re-observe it."""

    script: bytes
    record: TransferRecord
    confirmations_required: int | None


def load_cursor(conn: Connection, chain: str) -> Cursor | None:
    row = conn.execute(select(chain_cursors).where(chain_cursors.c.chain == chain)).first()
    if row is None:
        return None
    return Cursor(row.height, row.hash, row.updated_at)


def hold_cursor(conn: Connection, chain: str) -> Cursor | None:
    """The cursor, locked until this transaction ends (PostgreSQL): the watcher moves
    it in every unit of work, so blocks checked against ``chain_blocks`` under this
    lock stay the processed ones until the caller commits."""
    query = select(chain_cursors).where(chain_cursors.c.chain == chain).with_for_update()
    row = conn.execute(query).first()
    return None if row is None else Cursor(row.height, row.hash, row.updated_at)


def save_cursor(conn: Connection, chain: str, header: BlockHeader, now: datetime) -> None:
    values = {"height": header.height, "hash": header.hash, "updated_at": now}
    done = conn.execute(
        update(chain_cursors).where(chain_cursors.c.chain == chain).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(chain_cursors).values(chain=chain, **values))


def stored_hashes(conn: Connection, chain: str, heights: Sequence[int]) -> dict[int, str]:
    rows = conn.execute(
        select(chain_blocks.c.height, chain_blocks.c.hash).where(
            chain_blocks.c.chain == chain, chain_blocks.c.height.in_(list(heights))
        )
    )
    return {row.height: row.hash for row in rows}


def lowest_stored_height(conn: Connection, chain: str) -> int | None:
    row = conn.execute(
        select(chain_blocks.c.height)
        .where(chain_blocks.c.chain == chain)
        .order_by(chain_blocks.c.height)
        .limit(1)
    ).first()
    return None if row is None else int(row.height)


def store_blocks(
    conn: Connection, chain: str, headers: Iterable[BlockHeader], *, keep: int
) -> None:
    """Remember the blocks just processed (replacing any at the same heights) and
    forget those more than ``keep`` blocks below the newest."""
    rows: list[dict[str, Any]] = [
        {
            "chain": chain,
            "height": h.height,
            "hash": h.hash,
            "parent_hash": h.parent_hash,
            "timestamp": h.timestamp,
        }
        for h in headers
    ]
    if not rows:
        return
    lowest = min(r["height"] for r in rows)
    highest = max(r["height"] for r in rows)
    conn.execute(
        delete(chain_blocks).where(
            chain_blocks.c.chain == chain,
            or_(chain_blocks.c.height >= lowest, chain_blocks.c.height <= highest - keep),
        )
    )
    conn.execute(insert(chain_blocks), rows)


def _watched(rows: Iterable[Row[Any]]) -> list[WatchedTransfer]:
    return [
        WatchedTransfer(row.script, TransferRecord.from_row(row), row.confirmations_required)
        for row in rows
    ]


# A transfer's address and the depth it needs: its order's own, or for a multi-option
# order those of its chain.
_REQUIRED = of_transfer("confirmations_required")


def _transfer_query() -> Select[Any]:
    return (
        select(transfers, of_transfer("script"), _REQUIRED)
        .join(orders, orders.c.seq == transfers.c.order_seq)
        .outerjoin(order_addresses, TRANSFER_ADDRESS)
    )


def transfers_above(conn: Connection, chain: str, height: int) -> list[WatchedTransfer]:
    """Live transfers in blocks above ``height``: orphaned when the fork is there."""
    query = _transfer_query().where(
        transfers.c.chain == chain,
        transfers.c.block_height > height,
        transfers.c.removed.is_(False),
    )
    return _watched(conn.execute(query))


def unconfirmed_transfers(conn: Connection, chain: str) -> list[WatchedTransfer]:
    """Live transfers seen outside any block (mempool, or orphaned)."""
    query = _transfer_query().where(
        transfers.c.chain == chain,
        transfers.c.block_height.is_(None),
        transfers.c.removed.is_(False),
    )
    return _watched(conn.execute(query))


def maturing_transfers(
    conn: Connection, chain: str, since: int | None = None, *, recount: bool = False
) -> list[WatchedTransfer]:
    """Live mined transfers whose confirmations still matter: not finalized, and
    short of their order's depth (None: the order waits for the finalized tag);
    only those mined at ``since`` or later, when given (an indexed range)."""
    short = or_(_REQUIRED.is_(None), transfers.c.confirmations < _REQUIRED)
    query = _transfer_query().where(
        transfers.c.chain == chain,
        transfers.c.block_height >= (since or 0),
        transfers.c.removed.is_(False),
        transfers.c.finalized.is_(False),
    )
    if not recount:
        query = query.where(short)
    return _watched(conn.execute(query))


def stored_transfers(
    conn: Connection, chain: str, tx_hashes: Iterable[str]
) -> dict[TransferKey, TransferRecord]:
    """The stored transfers of these transactions on ``chain``, by key (a few hundred
    transactions per query)."""
    hashes = sorted(set(tx_hashes))
    found: dict[TransferKey, TransferRecord] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        query = select(transfers).where(transfers.c.chain == chain, transfers.c.tx_hash.in_(chunk))
        for row in conn.execute(query):
            record = TransferRecord.from_row(row)
            found[record.transfer.key] = record
    return found


def known_in_blocks(conn: Connection, chain: str, tx_hashes: Iterable[str]) -> set[str]:
    """Which of these transactions already have a live transfer in a block."""
    hashes = list(set(tx_hashes))
    if not hashes:
        return set()
    rows = conn.execute(
        select(transfers.c.tx_hash).where(
            transfers.c.chain == chain,
            transfers.c.tx_hash.in_(hashes),
            transfers.c.block_height.is_not(None),
            transfers.c.removed.is_(False),
        )
    )
    return {row.tx_hash for row in rows}


def new_transfers(
    conn: Connection, chain: str, observations: Iterable[Observation]
) -> Counter[str]:
    """How many of these observed transfers are not stored yet, by asset."""
    fresh = {
        (o.transfer.key.tx_hash, o.transfer.key.index): o.asset
        for o in observations
        if not o.transfer.removed
    }
    if not fresh:
        return Counter()
    rows = conn.execute(
        select(transfers.c.tx_hash, transfers.c.output_index).where(
            transfers.c.chain == chain,
            transfers.c.tx_hash.in_(sorted({tx for tx, _ in fresh})),
        )
    )
    for row in rows:
        fresh.pop((row.tx_hash, row.output_index), None)
    return Counter(fresh.values())


def forget_blocks_above(conn: Connection, chain: str, height: int) -> None:
    conn.execute(
        delete(chain_blocks).where(chain_blocks.c.chain == chain, chain_blocks.c.height > height)
    )


def awaiting_finalized(conn: Connection, chain: str, since: int | None = None) -> bool:
    """Whether a live mined transfer (at ``since`` or later) waits for the finalized tag."""
    query = (
        select(transfers.c.seq)
        .join(orders, orders.c.seq == transfers.c.order_seq)
        .outerjoin(order_addresses, TRANSFER_ADDRESS)
        .where(
            transfers.c.chain == chain,
            transfers.c.block_height >= (since or 0),
            transfers.c.removed.is_(False),
            transfers.c.finalized.is_(False),
            _REQUIRED.is_(None),
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None
