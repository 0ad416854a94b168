"""``webhooks.retention``: delivered webhook bodies are dropped after a while; the
delivery log's facts stay.

The body of an event (``events.payload``) is most of the outbox's bytes. Once an event
was delivered and ``webhooks.retention`` (30 days) has passed since, the
``webhooks.retention`` job empties its body and stamps ``pruned_at``. Everything else
stays: the row's id (the webhook-id), type, order, status, attempt count, times, last
answer, and every row of ``webhook_attempts``. Such a delivery can no longer be sent
again: a redelivery is refused (409 ``delivery_pruned``) instead of sending an empty
body, and ``GET /v1/webhooks/deliveries/{id}`` shows ``payload: null`` with
``pruned_at``. Only delivered events are pruned: a dead, gone or waiting one keeps its
body for as long as it may be redelivered.

The job runs on the holder of the jobs lease (once per cluster), in batches of
:data:`BATCH` rows per transaction, so it never holds the database's writer long; the
partial index ``ix_events_unpruned_delivered_at`` holds only the bodies still to drop,
so a round costs the same however many were dropped before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from daemon.storage.database import Database
from daemon.storage.tables import events
from daemon.webhooks.retry_policy import DeliveryStatus

log = logging.getLogger("paywatch.webhooks")

BATCH = 2000
ROUND_SECONDS = 3600.0  # how often the job looks
DELIVERED = str(DeliveryStatus.DELIVERED)


def prune_batch(conn: Connection, now: datetime, keep: timedelta, limit: int = BATCH) -> int:
    """Drop the bodies of up to ``limit`` events delivered before ``now - keep``; the
    number dropped."""
    cutoff = now - keep
    seqs = list(
        conn.execute(
            select(events.c.seq)
            .where(
                events.c.delivered_at.is_not(None),
                events.c.pruned_at.is_(None),
                events.c.delivered_at < cutoff,
                events.c.delivery_status == DELIVERED,
            )
            .order_by(events.c.delivered_at)
            .limit(limit)
        ).scalars()
    )
    if not seqs:
        return 0
    done = conn.execute(
        update(events)
        .where(
            events.c.seq.in_(seqs),
            events.c.delivery_status == DELIVERED,  # not one redelivered meanwhile
            events.c.pruned_at.is_(None),
        )
        .values(payload="", pruned_at=now)
    )
    return int(done.rowcount)


class Retention:
    """The ``webhooks.retention`` job: one round drops every body due, batch by batch."""

    def __init__(self, db: Database, clock: Callable[[], datetime], keep: timedelta) -> None:
        self.db = db
        self.clock = clock
        self.keep = keep

    async def run_round(self) -> int:
        now = self.clock()
        total = 0
        while True:
            dropped = await self.db.run(lambda conn: prune_batch(conn, now, self.keep))
            total += dropped
            if dropped < BATCH:
                break
        if total:
            log.info("webhooks.retention: dropped the bodies of %d delivered events", total)
        return total
