"""The outbox as the dispatcher sees it: claim due deliveries under a lease,
record what each attempt got, give leases back.

Everything is in the database; a dispatcher holds nothing that a crash could
lose. A claim sets ``lease_owner``/``lease_until`` and counts the attempt; the
result clears the lease in the same statement that records the outcome, and
only if the lease is still ours. A dispatcher that dies leaves leases that
expire (``lease_until``), after which any dispatcher claims the delivery again
with the same webhook-id. On PostgreSQL the claim locks its rows with
``FOR UPDATE SKIP LOCKED``, so several instances never claim the same row; on
SQLite the write transaction does the same.

Per-order ordering and the queries: :mod:`daemon.webhooks.outbox_queries`.

Endpoint health (:mod:`daemon.webhooks.endpoint_health`): deliveries to a failing
endpoint are not claimed on their own schedule; one probe at a time is, the
endpoint's oldest waiting delivery, when its ``next_probe_at`` comes (even before
the delivery's own next attempt: an *early* probe, whose failure is logged but not
counted against the delivery, which keeps its attempt count and its next time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from daemon.storage.tables import events, webhook_attempts
from daemon.webhooks.claims import AttemptRecord, Claimed, followers
from daemon.webhooks.endpoint_health import Attempted
from daemon.webhooks.endpoints import EndpointHealth
from daemon.webhooks.outbox_queries import (
    DUE,
    INSERT_ATTEMPTS,
    PROBE,
    RECORD_RESULTS,
    WAITING_NAMES,
)
from daemon.webhooks.retry_policy import DeliveryStatus

MAX_ERROR = 500
MAX_ROUNDS = 8
MAX_EXCERPT = 1024


class Outbox:
    def __init__(self, owner: str, lease: timedelta, health: EndpointHealth | None = None) -> None:
        self.owner = owner
        self.lease = lease
        self.health = health or EndpointHealth()
        # As the last claim found them: failing endpoints (since when), and the
        # earliest probe still to come (the dispatcher wakes for it).
        self.failing: dict[str, datetime] = {}
        self.next_probe_at: datetime | None = None

    @staticmethod
    def _due(conn: Connection, now: datetime, window: int, full: list[str]) -> list[Row[Any]]:
        """Up to ``window`` due deliveries of each waiting status, oldest due first."""
        query = DUE[(bool(full), conn.dialect.name == "postgresql")]
        rows: list[Row[Any]] = []
        for status in WAITING_NAMES:
            params: dict[str, Any] = {"status": status, "now": now, "window": window}
            if full:
                params["full"] = full
            rows.extend(conn.execute(query, params))
        rows.sort(key=lambda row: (row.next_attempt_at, row.seq))
        return rows

    def claim(
        self,
        conn: Connection,
        now: datetime,
        limit: int,
        per_endpoint: int,
        in_flight: Mapping[str, int],
        *,
        look_past: bool = True,
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries, so that no endpoint has more than
        ``per_endpoint`` in flight counting ``in_flight`` (endpoints already full are
        left out by the query itself, so a backlog for one never hides the others)."""
        if limit <= 0:
            return []
        taken: dict[str, int] = dict(in_flight)
        picked: list[Row[Any]] = []
        seen: set[int] = set()
        failing = self.health.failing(conn)
        self.failing = {f.endpoint: f.since for f in failing}
        later = [f.next_probe_at for f in failing if f.next_probe_at and f.next_probe_at > now]
        self.next_probe_at = min(later, default=None)
        gated = set(self.failing)
        for f in failing:
            if len(picked) >= limit or taken.get(f.endpoint, 0) > 0:
                continue
            if f.next_probe_at is not None and f.next_probe_at > now:
                continue
            probe = self._probe(conn, f.endpoint, now)
            if probe is not None:
                seen.add(probe.seq)
                taken[f.endpoint] = 1
                picked.append(probe)
        # Rounds of small windows, each walking the (status, next_attempt_at) index in
        # order and stopping at its limit (a claim costs the same with ten or a million
        # deliveries waiting). Endpoints at their cap are left out by the query; when
        # one fills up during a round, the next round looks past its backlog, so a
        # backlog for one endpoint never hides the others. Looking past a backlog
        # walks it, so the dispatcher asks for that only now and then (``look_past``).
        window = 2 * min(limit, per_endpoint)
        for _round in range(MAX_ROUNDS):
            if len(picked) >= limit:
                break
            full = sorted(gated | {e for e, n in taken.items() if n >= per_endpoint})
            rows = self._due(conn, now, window, full)
            filled = False
            for row in rows:
                if len(picked) >= limit:
                    break
                if row.seq in seen or taken.get(row.endpoint, 0) >= per_endpoint:
                    continue
                seen.add(row.seq)
                taken[row.endpoint] = taken.get(row.endpoint, 0) + 1
                filled = filled or taken[row.endpoint] >= per_endpoint
                picked.append(row)
            if len(picked) >= limit or len(rows) < window or not filled or not look_past:
                break
        if not picked:
            return []
        probes = {row.seq for row in picked if row.endpoint in gated}
        chains = followers(conn, [row for row in picked if row.seq not in probes], now)
        seqs = [row.seq for row in picked] + [f.seq for c in chains.values() for f in c]
        payloads = dict(
            conn.execute(select(events.c.seq, events.c.payload).where(events.c.seq.in_(seqs))).all()
        )

        def claimed(r: Row[Any], then: tuple[Claimed, ...] = ()) -> Claimed:
            early = r.next_attempt_at is not None and r.next_attempt_at > now
            return Claimed(
                r.seq,
                r.id,
                r.target_url,
                r.endpoint,
                payloads[r.seq],
                r.attempts + 1,
                r.created_at,
                r.next_attempt_at,
                early,
                then,
            )

        chosen = [claimed(r, tuple(claimed(f) for f in chains.get(r.seq, ()))) for r in picked]
        conn.execute(
            update(events)
            .where(events.c.seq.in_(seqs))
            .values(
                lease_owner=self.owner,
                lease_until=now + self.lease,
                attempts=events.c.attempts + 1,
            )
        )
        return chosen

    def _probe(self, conn: Connection, endpoint: str, now: datetime) -> Row[Any] | None:
        """The failing endpoint's probe, if it is due and no other dispatcher took it.
        The endpoint's row is locked first, the delivery's skipping locked ones: never
        waiting on a delivery while holding the endpoint (as recording results does)."""
        if not self.health.take_probe(conn, endpoint, now):
            return None
        query = PROBE[conn.dialect.name == "postgresql"]
        row = conn.execute(query, {"endpoint": endpoint, "now": now}).first()
        if row is None:  # in flight elsewhere, or nothing left to send
            self.health.forget_if_idle(conn, endpoint)
        return row

    def record(
        self,
        conn: Connection,
        records: Sequence[AttemptRecord],
        now: datetime | None = None,
        give_back: Iterable[Claimed] = (),
    ) -> list[str]:
        """Log each attempt, move its delivery on releasing our lease, and move its
        endpoint's health on; give back ``give_back`` (claimed, never started). Returns
        the endpoints that answered 2xx again after failing."""
        self.release(conn, give_back)
        if not records:
            return []
        INSERT_ATTEMPTS.execute_many(
            conn,
            [
                {
                    "event_seq": r.delivery.seq,
                    "attempt": r.delivery.attempt,
                    "attempted_at": r.attempted_at,
                    "target_url": r.delivery.target_url,
                    "status_code": r.status_code,
                    "latency_ms": r.latency_ms,
                    "error": r.error[:MAX_ERROR] if r.error else None,
                    "response_excerpt": r.excerpt[:MAX_EXCERPT] if r.excerpt else None,
                    "outcome": str(r.decision.status) if r.counted else "probe",
                }
                for r in records
            ],
        )
        RECORD_RESULTS.execute_many(
            conn,
            [
                {
                    "b_seq": r.delivery.seq,
                    "b_owner": self.owner,
                    "b_status": str(r.decision.status),
                    "b_next": r.decision.next_attempt_at,
                    "b_uncount": 0 if r.counted else 1,
                    "b_at": r.attempted_at,
                    "b_code": r.status_code,
                    "b_error": r.error[:MAX_ERROR] if r.error else None,
                    "b_delivered": r.attempted_at
                    if r.decision.status is DeliveryStatus.DELIVERED
                    else None,
                }
                for r in records
            ],
        )
        attempted = [
            (
                r.delivery.endpoint,
                Attempted(r.delivery.seq, r.attempted_at, r.status_code, r.error, r.retry_after),
            )
            for r in records
        ]
        latest = max(r.attempted_at for r in records)
        return self.health.record(conn, attempted, now or latest)

    def release(self, conn: Connection, deliveries: Iterable[Claimed]) -> None:
        """Give back leases of attempts that were stopped before they finished (at
        shutdown) or never started, with their followers: the attempt does not count,
        and the delivery is due again (those already recorded are left as they are)."""
        seqs = [link.seq for d in deliveries for link in (d, *d.then)]
        if seqs:
            conn.execute(
                update(events)
                .where(events.c.seq.in_(seqs), events.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None, attempts=events.c.attempts - 1)
            )

    @staticmethod
    def release_abandoned(conn: Connection, now: datetime) -> int:
        """Free every lease at start on SQLite, where one daemon owns the file: any lease
        there is from a process that died mid-attempt. The interrupted attempt is logged."""
        rows = conn.execute(
            select(events.c.seq, events.c.target_url, events.c.attempts, events.c.delivery_status)
            .where(events.c.lease_owner.is_not(None))
            .limit(10000)
        ).all()
        if not rows:
            return 0
        conn.execute(
            insert(webhook_attempts),
            [
                {
                    "event_seq": row.seq,
                    "attempt": row.attempts,
                    "attempted_at": now,
                    "target_url": row.target_url or "",
                    "status_code": None,
                    "latency_ms": 0,
                    "error": "interrupted: the daemon stopped during this attempt",
                    "response_excerpt": None,
                    "outcome": row.delivery_status,
                }
                for row in rows
            ],
        )
        conn.execute(
            update(events)
            .where(events.c.seq.in_([row.seq for row in rows]))
            .values(lease_owner=None, lease_until=None)
        )
        return len(rows)
