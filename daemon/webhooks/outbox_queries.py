"""The outbox's queries, built once: due deliveries (per-order ordering kept), a
failing endpoint's probe, and the per-attempt writes (one ``executemany`` each).

A delivery is claimable only while no earlier event of the same order is still
pending or retrying (:data:`HELD_UP`); every query skips rows another dispatcher
holds a live lease on, and on PostgreSQL locks what it returns ``SKIP LOCKED``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    exists,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from daemon.storage.prepared import Prepared
from daemon.storage.tables import events, webhook_attempts
from daemon.webhooks.retry_policy import WAITING

EARLIER = events.alias("earlier")
WAITING_NAMES = [str(s) for s in WAITING]
_WAITING_LITERALS: list[ColumnElement[str]] = [
    literal_column(f"'{name}'") for name in WAITING_NAMES
]


def waiting(status: Any) -> ColumnElement[bool]:
    """``status IN ('pending', 'retrying')`` written out (not bound), so that the
    planners use the partial index on waiting events (ix_events_waiting_order_seq)."""
    return status.in_(_WAITING_LITERALS)  # type: ignore[no-any-return]


CLAIM_COLUMNS = (
    events.c.seq,
    events.c.id,
    events.c.order_seq,
    events.c.target_url,
    events.c.endpoint,
    events.c.attempts,
    events.c.next_attempt_at,
    events.c.created_at,
)
HELD_UP = exists().where(
    EARLIER.c.order_seq == events.c.order_seq,
    EARLIER.c.seq < events.c.seq,
    waiting(EARLIER.c.delivery_status),
)
NOW = bindparam("now", type_=events.c.next_attempt_at.type)
LATER = events.alias("later")
# Whether a later event of the order waits too (then it may follow in the same slot:
# daemon/webhooks/claims.py); most deliveries have none, and skip that look-up.
FOLLOWED = (
    exists()
    .where(
        LATER.c.order_seq == events.c.order_seq,
        LATER.c.seq > events.c.seq,
        waiting(LATER.c.delivery_status),
    )
    .label("followed")
)


def due_query(*, skip_endpoints: bool, locking: bool) -> Select[Any]:
    """Due deliveries of one waiting status, oldest due first; built once and run with
    parameters (status, now, window, and the endpoints to skip)."""
    now = NOW
    query = (
        select(*CLAIM_COLUMNS, FOLLOWED)
        .where(
            events.c.delivery_status == bindparam("status"),
            events.c.next_attempt_at <= now,
            or_(events.c.lease_until.is_(None), events.c.lease_until < now),
            ~HELD_UP,
        )
        .order_by(events.c.next_attempt_at)
        .limit(bindparam("window"))
    )
    if skip_endpoints:
        query = query.where(events.c.endpoint.not_in(bindparam("full", expanding=True)))
    if locking:
        query = query.with_for_update(skip_locked=True, of=events)
    return query


DUE = {
    (skip, locking): due_query(skip_endpoints=skip, locking=locking)
    for skip in (False, True)
    for locking in (False, True)
}


def probe_query(*, locking: bool) -> Select[Any]:
    """A failing endpoint's probe: its oldest waiting delivery that the order rule lets
    go, due or not yet."""
    query = (
        select(*CLAIM_COLUMNS)
        .where(
            events.c.endpoint == bindparam("endpoint"),
            events.c.delivery_status.in_(WAITING_NAMES),
            or_(events.c.lease_until.is_(None), events.c.lease_until < NOW),
            ~HELD_UP,
        )
        .order_by(events.c.next_attempt_at, events.c.seq)
        .limit(1)
    )
    if locking:
        query = query.with_for_update(skip_locked=True, of=events)
    return query


PROBE = {locking: probe_query(locking=locking) for locking in (False, True)}


# The per-attempt writes, run as one executemany each on the driver's cursor.
INSERT_ATTEMPTS = Prepared(insert(webhook_attempts))
RECORD_RESULTS = Prepared(
    update(events)
    .where(events.c.seq == bindparam("b_seq"), events.c.lease_owner == bindparam("b_owner"))
    .values(
        delivery_status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        lease_owner=None,
        lease_until=None,
        attempts=events.c.attempts - bindparam("b_uncount"),
        last_attempt_at=bindparam("b_at"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered"),
    )
)
