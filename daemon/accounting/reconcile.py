"""``paywatch reconcile``: every credited transfer of a chain read back from its node.

What is checked: each transfer not removed and in a block (optionally at or above a
height), in chunks by row number (a million rows never sit in memory at once):

- here, that the paid order's address and script are the key's own at the order's
  derivation index (the money went to the merchant's wallet, not to an address edited
  in the database);
- by the chain family's :class:`~chains.reconciliation.Reconciler`, on the node, that
  the booked block is on its best chain and the transaction in it pays that address
  exactly that amount (see :mod:`chains.evm.reconcile`, :mod:`chains.bitcoin.reconcile`).

Transfers not yet in a block are counted, not checked (the watcher follows them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from chains.base import DerivedAddress, KeyFormatError
from chains.reconciliation import ADDRESS_DIFFERS, OK, UNCHECKED, Booked, Finding, Reconciler
from daemon.services.registry import ChainInfo
from daemon.storage.database import Database
from daemon.storage.order_targets import TRANSFER_ADDRESS, of_transfer
from daemon.storage.tables import order_addresses, orders, transfers

CHUNK_ROWS = 5000


@dataclass
class ReconcileReport:
    chain: str
    from_height: int | None
    checked: int = 0
    ok: int = 0
    unconfirmed: int = 0  # not in a block yet: not checked
    differences: list[dict[str, Any]] = field(default_factory=list)
    unchecked: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0  # JSON-RPC calls to the node
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "from_height": self.from_height,
            "checked": self.checked,
            "ok": self.ok,
            "unconfirmed_not_checked": self.unconfirmed,
            "differences": self.differences,
            "unchecked": self.unchecked,
        }


def _booked_where(chain: str, from_height: int | None) -> list[Any]:
    where = [
        transfers.c.chain == chain,
        transfers.c.removed.is_(False),
        transfers.c.block_height.is_not(None),
    ]
    if from_height is not None:
        where.append(transfers.c.block_height >= from_height)
    return where


def count_booked(conn: Connection, chain: str, from_height: int | None) -> tuple[int, int]:
    """(transfers to check, transfers not in a block yet) on ``chain``."""
    booked = conn.execute(
        select(func.count()).select_from(transfers).where(*_booked_where(chain, from_height))
    ).scalar_one()
    unconfirmed = conn.execute(
        select(func.count())
        .select_from(transfers)
        .where(
            transfers.c.chain == chain,
            transfers.c.removed.is_(False),
            transfers.c.block_height.is_(None),
        )
    ).scalar_one()
    return int(booked), int(unconfirmed)


def _load_chunk(conn: Connection, chain: str, from_height: int | None, after: int) -> list[Any]:
    query = (
        select(
            transfers.c.seq,
            transfers.c.tx_hash,
            transfers.c.output_index,
            transfers.c.log_index,
            transfers.c.asset,
            transfers.c.amount_base,
            transfers.c.block_height,
            transfers.c.block_hash,
            orders.c.id.label("order_id"),
            orders.c.order_id.label("order_ref"),
            of_transfer("address"),
            of_transfer("script"),
            of_transfer("keyspace"),
            of_transfer("derivation_index"),
        )
        .join(orders, orders.c.seq == transfers.c.order_seq)
        .outerjoin(order_addresses, TRANSFER_ADDRESS)
        .where(*_booked_where(chain, from_height), transfers.c.seq > after)
        .order_by(transfers.c.seq)
        .limit(CHUNK_ROWS)
    )
    return list(conn.execute(query))


def _item(row: Any, kind: str, detail: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "node_says": detail,
        "order_id": row.order_id,
        "order_ref": row.order_ref,
        "tx_hash": row.tx_hash,
        "output_index": row.output_index,
        "log_index": row.log_index,
        "asset": row.asset,
        "amount_base": str(row.amount_base),
        "address": row.address,
        "block_height": row.block_height,
        "block_hash": row.block_hash,
    }


class _KeyCheck:
    """Whether an order's address is the chain key's own at its index (derived once)."""

    def __init__(self, chain: ChainInfo) -> None:
        self.deriver = chain.deriver
        self._derived: dict[int, DerivedAddress | None] = {}

    def problem(self, row: Any) -> str | None:
        if row.keyspace != self.deriver.keyspace:
            return f"the order's address was derived from another key ({row.keyspace})"
        index = int(row.derivation_index)
        if index not in self._derived:
            try:
                self._derived[index] = self.deriver.derive(index)
            except KeyFormatError:
                self._derived[index] = None
        derived = self._derived[index]
        if derived is None:
            return f"the key has no address at index {index}"
        if derived.address != row.address or derived.script != bytes(row.script):
            return (
                f"the order's address {row.address} is not the key's address at index "
                f"{index} ({derived.address})"
            )
        return None


async def reconcile(
    db: Database,
    chain: ChainInfo,
    reconciler: Reconciler,
    *,
    from_height: int | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> ReconcileReport:
    """Check every booked transfer of ``chain`` (see the module's docstring)."""
    began = time.perf_counter()
    calls_before = reconciler.calls_sent
    report = ReconcileReport(chain.name, from_height)
    _, report.unconfirmed = await db.run_read(
        lambda conn: count_booked(conn, chain.name, from_height)
    )
    keys = _KeyCheck(chain)
    after = 0
    while True:
        rows = await db.run_read(
            lambda conn, after=after: _load_chunk(conn, chain.name, from_height, after)  # type: ignore[misc]
        )
        if not rows:
            break
        after = rows[-1].seq
        booked = [
            Booked(
                seq=row.seq,
                tx_hash=row.tx_hash,
                index=row.output_index,
                log_index=row.log_index,
                script=bytes(row.script),
                address=row.address,
                asset=row.asset,
                amount=int(row.amount_base),
                block_height=int(row.block_height),
                block_hash=row.block_hash or "",
            )
            for row in rows
        ]
        by_seq = {row.seq: row for row in rows}
        flagged = set()
        for row in rows:
            problem = keys.problem(row)
            if problem is not None:
                flagged.add(row.seq)
                report.differences.append(_item(row, ADDRESS_DIFFERS, problem))
        findings: list[Finding] = await reconciler.check(booked, progress)
        for finding in findings:
            row = by_seq[finding.transfer.seq]
            report.checked += 1
            if finding.kind == OK:
                report.ok += 0 if row.seq in flagged else 1
            elif finding.kind == UNCHECKED:
                report.unchecked.append(_item(row, UNCHECKED, finding.detail))
            else:
                report.differences.append(_item(row, finding.kind, finding.detail))
    report.calls = reconciler.calls_sent - calls_before
    report.seconds = time.perf_counter() - began
    return report
