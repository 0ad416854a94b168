"""What a claim takes: the deliveries a dispatcher sends (:class:`Claimed`), each with
the order's next events that follow it, and the record of one attempt
(:class:`AttemptRecord`), written back in batches by :mod:`daemon.webhooks.outbox`.

An order's events reach the store in the order they happened: a delivery is claimable
only while no earlier event of its order is waiting (``HELD_UP`` in
:mod:`daemon.webhooks.outbox_queries`). Claimed one at a time, the second event of an
order waited for the first one's answer, the write of its result and a new claim: two
database round trips per event that nothing requires. So a claim takes, with each
delivery it picks, the waiting events of the same order that follow it (its
*followers*, in order, up to the first that is not due, is leased elsewhere or goes to
another endpoint), and the dispatcher sends them one after another in the same slot:
the next only once the previous one was answered 2xx. When one is not delivered, the
rest are given back unsent (their attempt is not counted) and the order rule in the
database decides again.

On PostgreSQL each follower is locked ``SKIP LOCKED``; the chain stops at the first one
that could not be locked, so no event is ever taken ahead of an earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, or_, select

from daemon.storage.tables import events
from daemon.webhooks.outbox_queries import CLAIM_COLUMNS, NOW, WAITING_NAMES, waiting
from daemon.webhooks.retry_policy import Decision

MAX_FOLLOWERS = 16  # per claimed delivery: an order has a handful of events

WAITING_OF_ORDERS: Select[Any] = (
    select(*CLAIM_COLUMNS, events.c.lease_until)
    .where(
        events.c.order_seq.in_(bindparam("orders", expanding=True)),
        waiting(events.c.delivery_status),
    )
    .order_by(events.c.order_seq, events.c.seq)
)
LOCK_FOLLOWERS = (
    select(events.c.seq)
    .where(
        events.c.seq.in_(bindparam("seqs", expanding=True)),
        events.c.delivery_status.in_(WAITING_NAMES),
        or_(events.c.lease_until.is_(None), events.c.lease_until < NOW),
    )
    .with_for_update(skip_locked=True, of=events)
)


def _free(row: Row[Any], now: datetime) -> bool:
    return row.lease_until is None or row.lease_until < now


def followers(
    conn: Connection, heads: Sequence[Row[Any]], now: datetime
) -> dict[int, list[Row[Any]]]:
    """For each head (by seq) that has any (its ``followed`` column), the waiting events
    of its order that may follow it in the same slot, in order."""
    by_order = {row.order_seq: row for row in heads if row.followed}
    if not by_order:
        return {}
    rows = conn.execute(WAITING_OF_ORDERS, {"orders": list(by_order)}).all()
    chains: dict[int, list[Row[Any]]] = {}
    closed: set[int] = set()  # heads whose chain met an event that may not go
    for row in rows:
        head = by_order[row.order_seq]
        if row.seq <= head.seq or head.seq in closed:
            continue
        chain = chains.setdefault(head.seq, [])
        usable = (
            len(chain) < MAX_FOLLOWERS
            and row.endpoint == head.endpoint
            and row.next_attempt_at is not None
            and row.next_attempt_at <= now
            and _free(row, now)
        )
        if usable:
            chain.append(row)
        else:
            closed.add(head.seq)
    result = {seq: chain for seq, chain in chains.items() if chain}
    if result and conn.dialect.name == "postgresql":
        result = _locked(conn, result, now)
    return result


def _locked(
    conn: Connection, chains: dict[int, list[Row[Any]]], now: datetime
) -> dict[int, list[Row[Any]]]:
    """Each chain cut at its first follower this transaction could not lock (held by
    another, or changed since it was read)."""
    seqs = [row.seq for chain in chains.values() for row in chain]
    got = set(conn.execute(LOCK_FOLLOWERS, {"seqs": seqs, "now": now}).scalars())
    cut: dict[int, list[Row[Any]]] = {}
    for seq, chain in chains.items():
        kept: list[Row[Any]] = []
        for row in chain:
            if row.seq not in got:
                break
            kept.append(row)
        if kept:
            cut[seq] = kept
    return cut


@dataclass(frozen=True, slots=True)
class Claimed:
    seq: int
    id: str
    target_url: str
    endpoint: str
    payload: str
    attempt: int  # this attempt's number (1 = the first)
    created_at: datetime | None = None  # when the event was written
    scheduled_at: datetime | None = None  # its next_attempt_at when claimed
    early: bool = False  # a probe sent before scheduled_at: a failure is not counted
    then: tuple[Claimed, ...] = ()  # the order's next events, sent after this one is delivered


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery: Claimed
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    excerpt: str | None
    decision: Decision
    retry_after: timedelta | None = None  # the store's Retry-After, as a wait
    counted: bool = True  # False: an early probe that failed (attempt count kept)
