"""What the database holds, counted when Prometheus scrapes: orders by status and the
webhook deliveries waiting or given up.

Two grouped counts in one read transaction, both over an index (orders by status;
deliveries by status, only the waiting and dead ones: never the delivered millions).
They run off the event loop before the registry is rendered; the collector then
serves what they found. With several daemons on one PostgreSQL database each reports
the same numbers: aggregate them with ``max``, not ``sum``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Connection, func, select

from daemon.domain.states import OrderStatus
from daemon.storage.database import Database
from daemon.storage.tables import events, orders
from daemon.webhooks.retry_policy import WAITING, DeliveryStatus

log = logging.getLogger("paywatch.metrics")
READ_TIMEOUT = 5.0
_COUNTED = [str(s) for s in (*WAITING, DeliveryStatus.DEAD)]


@dataclass(frozen=True)
class Counts:
    orders: dict[str, int]
    deliveries: dict[str, int]


def count(conn: Connection) -> Counts:
    by_status = select(orders.c.status, func.count()).group_by(orders.c.status)
    waiting = (
        select(events.c.delivery_status, func.count())
        .where(events.c.delivery_status.in_(_COUNTED))
        .group_by(events.c.delivery_status)
    )
    return Counts(
        orders={str(status): int(n) for status, n in conn.execute(by_status)},
        deliveries={str(status): int(n) for status, n in conn.execute(waiting)},
    )


class StoredCounts:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._counts: Counts | None = None

    async def refresh(self) -> None:
        """Count again (a database that does not answer leaves these series out)."""
        try:
            self._counts = await asyncio.wait_for(self._db.run_read(count), READ_TIMEOUT)
        except Exception as exc:
            self._counts = None
            log.warning("metrics: counting orders and deliveries failed: %s", exc)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("paywatch_orders", "Orders by status", labels=["status"]),
            GaugeMetricFamily(
                "paywatch_webhook_queue_depth",
                "Webhook deliveries waiting: not attempted yet, or failed with a retry scheduled",
            ),
            GaugeMetricFamily(
                "paywatch_webhook_dead_letters",
                "Webhook deliveries that failed every attempt (redeliver them by hand)",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        counts = self._counts
        if counts is None:
            return []
        by_status, depth, dead = self._families()
        for status in OrderStatus:
            by_status.add_metric([str(status)], counts.orders.get(str(status), 0))
        depth.add_metric([], sum(counts.deliveries.get(str(s), 0) for s in WAITING))
        dead.add_metric([], counts.deliveries.get(str(DeliveryStatus.DEAD), 0))
        return [by_status, depth, dead]
