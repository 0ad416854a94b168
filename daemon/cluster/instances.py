"""The ``instances`` table: each `paywatch run` registers, beats every few seconds, and
marks itself stopped at a clean exit. Live = not stopped and a fresh heartbeat (by the
database's clock on PostgreSQL; on SQLite, which runs one instance, by this host's)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from daemon.storage.tables import instances

STALE_SECONDS = 6.0  # a heartbeat older than this: the instance is not live


def new_instance_id() -> str:
    """``host:pid:random`` (the random part tells apart a pid used again)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def db_now(conn: Connection) -> Any:
    """The database's clock on PostgreSQL; this host's on SQLite."""
    if conn.dialect.name == "postgresql":
        return func.clock_timestamp()
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    live: bool

    def view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "started_at": _iso(self.started_at),
            "heartbeat_at": _iso(self.heartbeat_at),
            "stopped_at": None if self.stopped_at is None else _iso(self.stopped_at),
            "live": self.live,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def register(conn: Connection, instance_id: str) -> None:
    host, pid = instance_id.split(":", maxsplit=1)[0], os.getpid()
    now = db_now(conn)
    conn.execute(
        instances.insert().values(
            id=instance_id, host=host, pid=pid, started_at=now, heartbeat_at=now
        )
    )


def beat(conn: Connection, instance_id: str) -> None:
    conn.execute(
        update(instances).where(instances.c.id == instance_id).values(heartbeat_at=db_now(conn))
    )


def stopped(conn: Connection, instance_id: str) -> None:
    conn.execute(
        update(instances).where(instances.c.id == instance_id).values(stopped_at=db_now(conn))
    )


def listed(conn: Connection, *, recent: timedelta = timedelta(hours=1)) -> list[Instance]:
    """Instances live or seen within ``recent``, oldest first."""
    now: datetime = datetime.now(UTC)
    if conn.dialect.name == "postgresql":
        now = conn.execute(select(func.clock_timestamp())).scalar_one()
    rows = conn.execute(
        select(instances)
        .where(instances.c.heartbeat_at > now - recent)
        .order_by(instances.c.started_at, instances.c.id)
    ).all()
    stale = now - timedelta(seconds=STALE_SECONDS)
    return [
        Instance(
            row.id,
            row.host,
            row.pid,
            row.started_at,
            row.heartbeat_at,
            row.stopped_at,
            row.stopped_at is None and row.heartbeat_at > stale,
        )
        for row in rows
    ]


def live_count(conn: Connection) -> int:
    return sum(1 for instance in listed(conn) if instance.live)
