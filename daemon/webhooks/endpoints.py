"""Endpoint health in the database (``webhook_endpoints``), shared by every dispatcher
on it: which endpoints are failing, who may probe one now, what attempts did to
them, and the view ``paywatch webhook endpoints`` prints.

Several instances on one PostgreSQL database agree through the rows themselves: a
probe is taken by a conditional update of ``next_probe_at`` (one winner however
many try), and attempt results update the rows they touch under a row lock in the
transaction that records the attempts. A restart reads the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from daemon.services.order_records import iso
from daemon.storage.tables import events, webhook_endpoints
from daemon.webhooks.endpoint_health import Attempted, EndpointState, after
from daemon.webhooks.retry_policy import WAITING

PROBE_INTERVAL = timedelta(seconds=30)
_WAITING = [str(s) for s in WAITING]
_STATE_COLUMNS = tuple(EndpointState.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Failing:
    endpoint: str
    since: datetime
    next_probe_at: datetime | None


class EndpointHealth:
    def __init__(self, probe_interval: timedelta = PROBE_INTERVAL) -> None:
        self.probe_interval = probe_interval

    @staticmethod
    def failing(conn: Connection) -> list[Failing]:
        rows = conn.execute(
            select(
                webhook_endpoints.c.endpoint,
                webhook_endpoints.c.failing_since,
                webhook_endpoints.c.next_probe_at,
            ).where(webhook_endpoints.c.failing_since.is_not(None))
        )
        return [Failing(r.endpoint, r.failing_since, r.next_probe_at) for r in rows]

    def take_probe(self, conn: Connection, endpoint: str, now: datetime) -> bool:
        """Claim the endpoint's probe due now; the next one waits ``probe_interval``.
        False if it is not due, or another dispatcher took it first."""
        taken = conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.endpoint == endpoint,
                webhook_endpoints.c.failing_since.is_not(None),
                or_(
                    webhook_endpoints.c.next_probe_at.is_(None),
                    webhook_endpoints.c.next_probe_at <= now,
                ),
            )
            .values(next_probe_at=now + self.probe_interval)
        )
        return taken.rowcount == 1

    @staticmethod
    def forget_if_idle(conn: Connection, endpoint: str) -> None:
        """A failing endpoint with nothing left to send (delivered, dead or gone) stops
        being failing: there is nothing to probe, and no alert to raise."""
        waiting = conn.execute(
            select(events.c.seq)
            .where(events.c.endpoint == endpoint, events.c.delivery_status.in_(_WAITING))
            .limit(1)
        ).first()
        if waiting is None:
            conn.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.endpoint == endpoint)
                .values(failing_since=None, next_probe_at=None)
            )

    def record(
        self, conn: Connection, attempts: Sequence[tuple[str, Attempted]], now: datetime
    ) -> list[str]:
        """Move each endpoint's state on by the attempts made to it (in the order they
        started); an endpoint that answers 2xx again has its backlog made due now.
        Returns the endpoints that recovered."""
        if not attempts:
            return []
        names = sorted({endpoint for endpoint, _ in attempts})
        _insert_missing(conn, names)
        query = select(webhook_endpoints).where(webhook_endpoints.c.endpoint.in_(names))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        states = {
            row.endpoint: EndpointState(**{c: getattr(row, c) for c in _STATE_COLUMNS})
            for row in conn.execute(query.order_by(webhook_endpoints.c.endpoint))
        }
        before = dict(states)
        recovered: dict[str, datetime | None] = {}
        for endpoint, attempt in sorted(attempts, key=lambda a: (a[1].attempted_at, a[1].seq)):
            old = states[endpoint]
            states[endpoint], healed = after(old, attempt, now, self.probe_interval)
            if healed and endpoint not in recovered:
                recovered[endpoint] = before[endpoint].last_success_at
        for endpoint in names:
            if states[endpoint] != before[endpoint]:
                conn.execute(
                    update(webhook_endpoints)
                    .where(webhook_endpoints.c.endpoint == endpoint)
                    .values(**asdict(states[endpoint]))
                )
        for endpoint, previous_success in recovered.items():
            _backlog_due(conn, endpoint, previous_success, now)
        return list(recovered)


def _insert_missing(conn: Connection, names: Iterable[str]) -> None:
    rows = [{"endpoint": name, "failures": 0} for name in names]
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(webhook_endpoints).on_conflict_do_nothing(), rows)
    else:
        conn.execute(sqlite.insert(webhook_endpoints).on_conflict_do_nothing(), rows)


def _backlog_due(
    conn: Connection, endpoint: str, previous_success: datetime | None, now: datetime
) -> None:
    """Every waiting delivery of the endpoint that failed since it last answered 2xx
    before the outage is due now (its attempt count is kept). The order rule and the
    in-flight caps still apply when they are claimed."""
    failed_since: ColumnElement[bool] = events.c.last_attempt_at.is_not(None)
    if previous_success is not None:
        failed_since = events.c.last_attempt_at > previous_success
    conn.execute(
        update(events)
        .where(
            events.c.endpoint == endpoint,
            events.c.delivery_status.in_(_WAITING),
            events.c.next_attempt_at > now,
            failed_since,
        )
        .values(next_attempt_at=now)
    )


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def endpoint_views(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Every endpoint that has a state or a backlog: failing ones first (longest
    failing first), then by name."""
    backlog = {
        row.endpoint: (int(row.waiting), int(row.due or 0))
        for row in conn.execute(
            select(
                events.c.endpoint,
                func.count().label("waiting"),
                func.sum(case((events.c.next_attempt_at <= now, 1), else_=0)).label("due"),
            )
            .where(events.c.delivery_status.in_(_WAITING), events.c.endpoint.is_not(None))
            .group_by(events.c.endpoint)
        )
    }
    rows = {row.endpoint: row for row in conn.execute(select(webhook_endpoints))}
    views = []
    for endpoint in sorted(set(backlog) | set(rows)):
        row = rows.get(endpoint)
        waiting, due = backlog.get(endpoint, (0, 0))
        failing_since = row.failing_since if row is not None else None
        views.append(
            {
                "endpoint": endpoint,
                "state": "failing" if failing_since is not None else "healthy",
                "failing_since": _when(failing_since),
                "waiting": waiting,
                "due": due,
                "last_success_at": _when(row.last_success_at) if row is not None else None,
                "last_failure_at": _when(row.last_failure_at) if row is not None else None,
                "last_status_code": row.last_status_code if row is not None else None,
                "last_error": row.last_error if row is not None else None,
                "next_probe_at": _when(row.next_probe_at)
                if row is not None and failing_since is not None
                else None,
            }
        )
    views.sort(key=lambda v: (v["state"] != "failing", v["failing_since"] or "", v["endpoint"]))
    return views
