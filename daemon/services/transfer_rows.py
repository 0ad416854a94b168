"""The rows a chain watcher's news writes, on the hot path.

A catch-up applies thousands of transfers a second: orders are looked up for a
whole batch of scripts at once, and the writes are collected and run as one
prepared ``executemany`` per kind on the driver's cursor (see
daemon/storage/prepared.py), inside the caller's transaction.

Every writer of an order works on the row as it is now. On PostgreSQL the
orders are read ``FOR UPDATE`` in ascending ``seq`` (one fixed order, so two
writers never wait for each other in a cycle), and the writers that lock many
orders over several statements (a watcher, a rescan, the balance check of one
chain) first take their chain's advisory lock. SQLite needs neither: every
write transaction begins IMMEDIATE, so writers run one at a time and read what
the last one committed. On both, the status is written only if it is still the
one the change was evaluated from (:data:`UPDATE_OUTCOME`), so a change made
from a stale read fails instead of overwriting, say, a cancel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from daemon.cluster.notify import announce_events
from daemon.domain.evaluation import Outcome
from daemon.domain.payments import Transfer
from daemon.domain.states import OrderStatus
from daemon.errors import StorageError
from daemon.services.order_options import with_options
from daemon.services.order_records import OrderRecord, TransferRecord
from daemon.storage.prepared import Prepared
from daemon.storage.tables import events, order_addresses, orders, transfers

LOOKUP_CHUNK = 500

INSERT_TRANSFER = Prepared(insert(transfers))
UPDATE_TRANSFER = Prepared(update(transfers).where(transfers.c.seq == bindparam("target_seq")))


class _EventInsert(Prepared):
    """Every event is inserted through this statement: the transaction that inserts
    any also wakes every instance's webhook dispatcher at its commit (PostgreSQL
    NOTIFY, once per transaction; see daemon/cluster/notify.py)."""

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        super().execute(conn, params)
        announce_events(conn)

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        super().execute_many(conn, rows)
        if rows:
            announce_events(conn)


INSERT_EVENT = _EventInsert(insert(events))


class StaleOrder(StorageError):
    """An order's status changed after it was read: the change was made from a stale
    row and is rolled back (a bug in the locking if it ever happens)."""


class _CountedUpdate(Prepared):
    def execute_counted(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Like ``execute_many`` (rows with the same keys), returning the rows changed."""
        compiled = self._for(conn.dialect, frozenset(rows[0]))
        arguments = [self._arguments(compiled, row) for row in rows]
        cursor = self._call(conn, compiled.sql, arguments, many=True)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


# Compare-and-set: the outcome is written only over the status it was evaluated from.
UPDATE_OUTCOME = _CountedUpdate(
    update(orders).where(
        orders.c.seq == bindparam("target_seq"),
        orders.c.status == bindparam("expected_status"),
    )
)


def chain_lock_key(chain: str) -> int:
    """The advisory lock key of a chain's order writers (a stable signed 64-bit number)."""
    digest = hashlib.blake2b(f"paywatch.orders:{chain}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_chain(conn: Connection, chain: str) -> None:
    """Hold ``chain``'s order-writer lock until this transaction ends (PostgreSQL; taken
    again in the same transaction it returns at once). Writers that lock many orders
    over several statements take it first; cancel and expiry lock single rows or skip
    locked ones, so they never need it and never wait in a cycle with it."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(chain_lock_key(chain))))


def orders_by_script(
    conn: Connection, chain: str, scripts: Collection[bytes]
) -> dict[bytes, OrderRecord]:
    """The orders owning these scripts on ``chain`` (one query per few hundred), locked
    for this transaction in ascending ``seq`` and read as they are now. A script is an
    order's own (``orders``) or one of a multi-option order's (``order_addresses``)."""
    wanted = list(scripts)
    found: dict[bytes, OrderRecord] = {}
    if not wanted:
        return found
    several = _several_by_script(conn, chain, wanted)
    if len(wanted) <= LOOKUP_CHUNK and not several:
        query = (
            select(orders)
            .where(orders.c.chain == chain, orders.c.script.in_(wanted))
            .order_by(orders.c.seq)
            .with_for_update()
        )
        for row in conn.execute(query):
            found[row.script] = OrderRecord.from_row(row)
        return _priced(conn, found)
    # Many: find the orders first (a script's order never changes), then lock them in
    # ascending seq, chunk after chunk, so the whole batch is locked in one order.
    script_of: dict[int, list[bytes]] = {}
    for seq, script in several.items():
        script_of.setdefault(seq, []).append(script)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        query = select(orders.c.seq, orders.c.script).where(
            orders.c.chain == chain, orders.c.script.in_(chunk)
        )
        for seq, script in conn.execute(query):
            script_of.setdefault(seq, []).append(script)
    seqs = sorted(script_of)
    for start in range(0, len(seqs), LOOKUP_CHUNK):
        query = (
            select(orders)
            .where(orders.c.seq.in_(seqs[start : start + LOOKUP_CHUNK]))
            .order_by(orders.c.seq)
            .with_for_update()
        )
        for row in conn.execute(query):
            record = OrderRecord.from_row(row)
            for script in script_of[record.seq]:
                found[script] = record
    return _priced(conn, found)


def _several_by_script(conn: Connection, chain: str, scripts: list[bytes]) -> dict[int, bytes]:
    """Multi-option orders' addresses among ``scripts``: {order seq: script}."""
    found: dict[int, bytes] = {}
    for start in range(0, len(scripts), LOOKUP_CHUNK):
        chunk = scripts[start : start + LOOKUP_CHUNK]
        query = select(order_addresses.c.order_seq, order_addresses.c.script).where(
            order_addresses.c.chain == chain, order_addresses.c.script.in_(chunk)
        )
        found.update((seq, script) for seq, script in conn.execute(query))
    return found


def _priced(conn: Connection, found: dict[bytes, OrderRecord]) -> dict[bytes, OrderRecord]:
    if all(o.price_currency is None for o in found.values()):
        return found
    loaded = {o.seq: o for o in with_options(conn, {o.seq: o for o in found.values()}.values())}
    return {script: loaded[o.seq] for script, o in found.items()}


def transfer_row(
    order: OrderRecord, record: TransferRecord, transfer: Transfer, now: datetime
) -> dict[str, Any]:
    return {
        "order_seq": order.seq,
        "chain": record.chain,
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


def outcome_update(
    order_seq: int, before: OrderStatus, outcome: Outcome, now: datetime
) -> dict[str, Any]:
    return {
        "target_seq": order_seq,
        "expected_status": str(before),
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
        if self.outcomes:
            written = UPDATE_OUTCOME.execute_counted(conn, self.outcomes)
            if written != len(self.outcomes):
                raise StaleOrder(
                    f"{len(self.outcomes) - written} order(s) changed status since they were read"
                )
        INSERT_EVENT.execute_many(conn, self.events)
        self.new_transfers, self.transfer_updates, self.outcomes, self.events = [], [], [], []
