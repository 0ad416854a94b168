"""Reading an order's events back (the webhook outbox), for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from daemon.domain.states import EventType
from daemon.services import json_codec
from daemon.services.order_records import OrderRecord
from daemon.storage.tables import events


def event_types(conn: Connection, order: OrderRecord) -> list[EventType]:
    rows = conn.execute(
        select(events.c.type).where(events.c.order_seq == order.seq).order_by(events.c.seq)
    )
    return [EventType(r.type) for r in rows]


def event_payloads(conn: Connection, order: OrderRecord) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(events.c.payload).where(events.c.order_seq == order.seq).order_by(events.c.seq)
    )
    return [json_codec.loads(r.payload) for r in rows]
