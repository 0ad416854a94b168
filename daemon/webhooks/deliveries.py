"""The delivery log, shared by the API and the CLI: list, show, redeliver.

A delivery is an event's webhook, named by the event's id: the ``webhook-id``
the store sees on every attempt and on every redelivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from daemon.services import json_codec
from daemon.services.cursors import decode_cursor, encode_cursor
from daemon.services.errors import Conflict, InvalidRequest, NotFound
from daemon.services.order_records import iso
from daemon.storage.tables import events, orders, webhook_attempts
from daemon.webhooks.retry_policy import FAILED, MAX_ATTEMPTS, WAITING, DeliveryStatus
from daemon.webhooks.targets import Targets

STATUS_FILTERS = (*(str(s) for s in DeliveryStatus), "failed")

_COLUMNS = (
    events.c.seq,
    events.c.id,
    events.c.type,
    events.c.created_at,
    events.c.target_url,
    events.c.delivery_status,
    events.c.attempts,
    events.c.next_attempt_at,
    events.c.lease_until,
    events.c.last_attempt_at,
    events.c.last_status_code,
    events.c.last_error,
    events.c.delivered_at,
    events.c.pruned_at,
    orders.c.id.label("order"),
    orders.c.order_id,
    orders.c.callback_url,
)


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def delivery_view(row: Any) -> dict[str, Any]:
    waiting = row.delivery_status in WAITING
    return {
        "id": row.id,
        "type": row.type,
        "order": row.order,
        "order_id": row.order_id,
        "url": row.target_url,
        "status": row.delivery_status,
        "attempt_count": row.attempts,
        "max_attempts": MAX_ATTEMPTS,
        "next_attempt_at": _when(row.next_attempt_at) if waiting else None,
        "last_attempt_at": _when(row.last_attempt_at),
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "delivered_at": _when(row.delivered_at),
        "pruned_at": _when(row.pruned_at),
        "created_at": iso(row.created_at),
    }


def attempt_view(row: Any) -> dict[str, Any]:
    return {
        "attempt": row.attempt,
        "attempted_at": iso(row.attempted_at),
        "url": row.target_url,
        "status_code": row.status_code,
        "latency_ms": row.latency_ms,
        "error": row.error,
        "response_excerpt": row.response_excerpt,
        "outcome": row.outcome,
    }


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    data: list[dict[str, Any]]
    next_cursor: str | None


class DeliveryLog:
    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def list(
        self,
        conn: Connection,
        *,
        order_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """Newest first. ``order_id``: the order's id (ord_…) or your reference;
        ``status``: one status, or ``failed`` (retrying, dead or gone)."""
        query = (
            select(*_COLUMNS)
            .join(orders, orders.c.seq == events.c.order_seq)
            .order_by(events.c.seq.desc())
            .limit(limit + 1)
        )
        if order_id is not None:
            query = query.where(or_(orders.c.id == order_id, orders.c.order_id == order_id))
        if status == "failed":
            query = query.where(events.c.delivery_status.in_([str(s) for s in FAILED]))
        elif status is not None:
            if status not in STATUS_FILTERS:
                raise InvalidRequest(
                    "invalid_request", f"status: one of {', '.join(STATUS_FILTERS)}"
                )
            query = query.where(events.c.delivery_status == status)
        if cursor is not None:
            query = query.where(events.c.seq < decode_cursor("d", cursor))
        rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return DeliveryPage(
            [delivery_view(r) for r in rows], encode_cursor("d", rows[-1].seq) if more else None
        )

    def _row(self, conn: Connection, delivery_id: str, *, lock: bool = False) -> Any:
        row = None
        if len(delivery_id) <= 40:
            query = (
                select(*_COLUMNS, events.c.payload)
                .join(orders, orders.c.seq == events.c.order_seq)
                .where(events.c.id == delivery_id)
            )
            if lock:
                query = query.with_for_update(of=events)
            row = conn.execute(query).first()
        if row is None:
            raise NotFound("delivery_not_found", f"no webhook delivery {delivery_id[:60]!r}")
        return row

    def get(self, conn: Connection, delivery_id: str) -> dict[str, Any]:
        """The delivery with every attempt (oldest first) and the body it sends (None
        once ``webhooks.retention`` dropped it)."""
        row = self._row(conn, delivery_id)
        attempts = conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.event_seq == row.seq)
            .order_by(webhook_attempts.c.seq)
        )
        return {
            **delivery_view(row),
            "attempts": [attempt_view(a) for a in attempts],
            "payload": None if row.pruned_at is not None else json_codec.loads(row.payload),
        }

    def redeliver(self, conn: Connection, delivery_id: str, now: datetime) -> dict[str, Any]:
        """Queue the delivery again now, same webhook-id, a fresh set of attempts. A
        delivery that never had a target takes the order's or the configured one now;
        one whose body retention dropped is refused (``delivery_pruned``)."""
        row = self._row(conn, delivery_id, lock=True)
        if row.pruned_at is not None:
            raise Conflict(
                "delivery_pruned",
                f"the body of this delivery was dropped at {iso(row.pruned_at)}, "
                "webhooks.retention after it was delivered; it cannot be sent again",
            )
        if row.lease_until is not None and row.lease_until > now:
            raise Conflict(
                "delivery_in_flight", "an attempt is under way; redeliver once it has finished"
            )
        columns = self.targets.for_order(row.callback_url)
        url = row.target_url or columns.target_url
        if url is None:
            raise Conflict(
                "no_webhook_target",
                "the order has no callback_url and webhooks.url is not configured",
            )
        endpoint = columns.endpoint if row.target_url is None else None
        changes: dict[str, Any] = {
            "target_url": url,
            "delivery_status": str(DeliveryStatus.PENDING),
            "attempts": 0,
            "next_attempt_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        if endpoint is not None:
            changes["endpoint"] = endpoint
        conn.execute(update(events).where(events.c.seq == row.seq).values(**changes))
        return self.get(conn, delivery_id)
