"""Payment statistics for admins: ``paywatch stats`` and ``GET /v1/stats``.

Over a period that starts at ``since`` (all time when None) and ends now:

- ``orders``: the orders created in the period, by status (every status, 0 when none);
  ``late`` and ``underpaid``: those of them whose exception is ``paid_late`` /
  ``underpaid``.
- An order is paid at its last ``order.paid`` event (the moment paywatch marked it
  paid; a reorg can take it back to pending and a later block pay it again).
  ``paid_volume``: for the orders paid now whose paid moment is in the period, the sum
  of what they received (``received_base``, overpayments included) per UTC day of
  that moment, chain and asset; ``median_seconds_to_paid``: the lower median of their
  paid moment minus creation, in whole seconds (null when none).
- ``webhooks``: the events of the period that have a target: ``delivered``,
  ``failed`` (dead letters, and ``gone``: the receiver answered 410), ``pending``
  (still being tried); ``success_rate`` = delivered / (delivered + failed), a decimal
  string rounded to 4 places (null when nothing finished).

Amounts are decimal strings and base units, summed as integers: never floats.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import Field
from sqlalchemy import Connection, and_, func, select
from typing_extensions import TypedDict

from daemon.domain.money import format_amount
from daemon.domain.states import EventType, OrderException, OrderStatus
from daemon.services.order_records import iso
from daemon.storage.tables import events, order_options, orders, transfers

STREAM_ROWS = 1000
FINISHED_OK = ("delivered",)
FINISHED_FAILED = ("dead", "gone")


class PaidVolume(TypedDict):
    day: Annotated[str, Field(description="UTC day the orders were paid (YYYY-MM-DD)")]
    chain: str
    asset: str
    amount: Annotated[str, Field(description="Decimal string in asset units")]
    amount_base: int
    orders: int


class WebhookStats(TypedDict):
    delivered: int
    failed: Annotated[int, Field(description="Dead letters and 410 Gone")]
    pending: int
    success_rate: Annotated[
        str | None, Field(description="delivered / (delivered + failed), 4 places; null: none")
    ]


class Stats(TypedDict):
    since: Annotated[str | None, Field(description="Start of the period; null: all time")]
    generated_at: Annotated[str, Field(description="End of the period")]
    orders: Annotated[dict[str, int], Field(description="Orders created in the period, by status")]
    paid_volume: list[PaidVolume]
    median_seconds_to_paid: int | None
    late: Annotated[int, Field(description="Orders of the period paid late (paid_late)")]
    underpaid: Annotated[int, Field(description="Orders of the period underpaid")]
    webhooks: WebhookStats


def success_rate(delivered: int, failed: int) -> str | None:
    if delivered + failed == 0:
        return None
    rate = (Decimal(delivered) / Decimal(delivered + failed)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_EVEN
    )
    return str(rate)


def _created(conn: Connection, since: datetime | None) -> tuple[dict[str, int], int, int]:
    by_status = {str(s): 0 for s in OrderStatus}
    exceptions: dict[str, int] = defaultdict(int)
    query = select(orders.c.status, orders.c.exception, func.count()).group_by(
        orders.c.status, orders.c.exception
    )
    if since is not None:
        query = query.where(orders.c.created_at >= since)
    for status, exception, count in conn.execute(query):
        by_status[status] = by_status.get(status, 0) + count
        exceptions[exception] += count
    return by_status, exceptions[OrderException.PAID_LATE], exceptions[OrderException.UNDERPAID]


def _paid(conn: Connection, since: datetime | None) -> tuple[list[PaidVolume], int | None]:
    paid_at = func.max(events.c.created_at).label("paid_at")
    query = (
        select(
            orders.c.seq,
            orders.c.chain,
            orders.c.asset,
            orders.c.decimals,
            orders.c.received_base,
            orders.c.created_at,
            paid_at,
        )
        .join(events, events.c.order_seq == orders.c.seq)
        .where(orders.c.status == OrderStatus.PAID, events.c.type == EventType.PAID)
        .group_by(
            orders.c.seq,
            orders.c.chain,
            orders.c.asset,
            orders.c.decimals,
            orders.c.received_base,
            orders.c.created_at,
        )
        .execution_options(stream_results=True, yield_per=STREAM_ROWS)
    )
    if since is not None:
        query = query.having(paid_at >= since)
    sums: dict[tuple[str, str, str], list[int]] = {}
    decimals: dict[tuple[str, str], int] = {}
    waits: list[int] = []
    several: dict[int, str] = {}  # multi-option orders paid in the period: their day
    for seq, chain, asset, digits, received, created_at, moment in conn.execute(query):
        waits.append(int((moment - created_at).total_seconds()))
        if chain is None:
            several[seq] = moment.date().isoformat()
            continue
        key = (moment.date().isoformat(), chain, asset)
        total = sums.setdefault(key, [0, 0])
        total[0] += received
        total[1] += 1
        decimals[(chain, asset)] = digits
    # A multi-option order adds what each of its options received (its live transfers
    # of the option's asset on the option's chain), in that asset.
    for seq, chain, asset, digits, received in _options_received(conn, list(several)):
        key = (several[seq], chain, asset)
        total = sums.setdefault(key, [0, 0])
        total[0] += received
        total[1] += 1
        decimals[(chain, asset)] = digits
    volume: list[PaidVolume] = [
        {
            "day": day,
            "chain": chain,
            "asset": asset,
            "amount": format_amount(base, decimals[(chain, asset)]),
            "amount_base": base,
            "orders": count,
        }
        for (day, chain, asset), (base, count) in sorted(sums.items())
    ]
    return volume, statistics.median_low(waits) if waits else None


def _options_received(conn: Connection, seqs: list[int]) -> list[tuple[int, str, str, int, int]]:
    """(order seq, chain, asset, decimals, received) of each option of these orders that
    received anything (summed here as integers: SQLite's sum would go through floats)."""
    o, t = order_options, transfers
    sums: dict[tuple[int, str, str, int], int] = defaultdict(int)
    same = and_(t.c.order_seq == o.c.order_seq, t.c.chain == o.c.chain, t.c.asset == o.c.asset)
    for start in range(0, len(seqs), 500):
        query = (
            select(o.c.order_seq, o.c.chain, o.c.asset, o.c.decimals, t.c.amount_base)
            .join(t, same)
            .where(o.c.order_seq.in_(seqs[start : start + 500]), t.c.removed.is_(False))
        )
        for seq, chain, asset, digits, amount in conn.execute(query):
            sums[(seq, chain, asset, digits)] += amount
    return [(*key, total) for key, total in sums.items()]


def _webhooks(conn: Connection, since: datetime | None) -> WebhookStats:
    query = (
        select(events.c.delivery_status, func.count())
        .where(events.c.delivery_status != "no_target")
        .group_by(events.c.delivery_status)
    )
    if since is not None:
        query = query.where(events.c.created_at >= since)
    delivered = failed = pending = 0
    for status, count in conn.execute(query):
        if status in FINISHED_OK:
            delivered += count
        elif status in FINISHED_FAILED:
            failed += count
        else:
            pending += count
    return {
        "delivered": delivered,
        "failed": failed,
        "pending": pending,
        "success_rate": success_rate(delivered, failed),
    }


def payment_stats(conn: Connection, since: datetime | None, now: datetime) -> Stats:
    """The statistics of the period from ``since`` (all time: None) to ``now``."""
    by_status, late, underpaid = _created(conn, since)
    volume, median = _paid(conn, since)
    return {
        "since": None if since is None else iso(since),
        "generated_at": iso(now),
        "orders": by_status,
        "paid_volume": volume,
        "median_seconds_to_paid": median,
        "late": late,
        "underpaid": underpaid,
        "webhooks": _webhooks(conn, since),
    }
