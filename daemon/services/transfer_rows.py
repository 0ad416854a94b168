"""The rows a chain watcher's news writes, on the hot path.

A catch-up applies thousands of transfers a second: orders are looked up for a
whole batch of scripts at once, and the writes are collected and run as one
prepared ``executemany`` per kind on the driver's cursor (see
daemon/storage/prepared.py), inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from daemon.domain.evaluation import Outcome
from daemon.domain.payments import Transfer
from daemon.services.order_records import OrderRecord, TransferRecord
from daemon.storage.prepared import Prepared
from daemon.storage.tables import events, orders, transfers

LOOKUP_CHUNK = 500

INSERT_TRANSFER = Prepared(insert(transfers))
UPDATE_TRANSFER = Prepared(update(transfers).where(transfers.c.seq == bindparam("target_seq")))
UPDATE_OUTCOME = Prepared(update(orders).where(orders.c.seq == bindparam("target_seq")))
INSERT_EVENT = Prepared(insert(events))


def orders_by_script(
    conn: Connection, chain: str, scripts: Collection[bytes]
) -> dict[bytes, OrderRecord]:
    """The orders owning these scripts on ``chain`` (one query per few hundred)."""
    wanted = list(scripts)
    found: dict[bytes, OrderRecord] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        query = select(orders).where(orders.c.chain == chain, orders.c.script.in_(chunk))
        for row in conn.execute(query):
            found[row.script] = OrderRecord.from_row(row)
    return found


def transfer_row(
    order: OrderRecord, record: TransferRecord, transfer: Transfer, now: datetime
) -> dict[str, Any]:
    return {
        "order_seq": order.seq,
        "chain": order.chain,
        "tx_hash": transfer.key.tx_hash,
        "output_index": transfer.key.index,
        "log_index": transfer.log_index,
        "asset": record.asset,
        "amount_base": transfer.amount,
        "block_height": record.block_height,
        "block_hash": record.block_hash,
        "confirmations": transfer.confirmations,
        "finalized": transfer.finalized,
        "removed": transfer.removed,
        "seen_at": transfer.seen_at,
        "updated_at": now,
    }


def transfer_update(record: TransferRecord, now: datetime) -> dict[str, Any]:
    t = record.transfer
    return {
        "target_seq": record.seq,
        "amount_base": t.amount,
        "block_height": record.block_height,
        "block_hash": record.block_hash,
        "log_index": t.log_index,
        "confirmations": t.confirmations,
        "finalized": t.finalized,
        "removed": t.removed,
        "seen_at": t.seen_at,
        "updated_at": now,
    }


def outcome_update(order_seq: int, outcome: Outcome, now: datetime) -> dict[str, Any]:
    return {
        "target_seq": order_seq,
        "status": str(outcome.status),
        "exception": str(outcome.exception),
        "received_base": outcome.received,
        "received_confirmed_base": outcome.received_confirmed,
        "updated_at": now,
    }


@dataclass
class RowWrites:
    """The writes of one change, or of a watcher's whole batch of changes, run as
    one statement per kind (``executemany``) at :meth:`flush`, in their order."""

    new_transfers: list[dict[str, Any]] = field(default_factory=list)
    transfer_updates: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def flush(self, conn: Connection) -> None:
        INSERT_TRANSFER.execute_many(conn, self.new_transfers)
        UPDATE_TRANSFER.execute_many(conn, self.transfer_updates)
        UPDATE_OUTCOME.execute_many(conn, self.outcomes)
        INSERT_EVENT.execute_many(conn, self.events)
        self.new_transfers, self.transfer_updates, self.outcomes, self.events = [], [], [], []
