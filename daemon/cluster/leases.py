"""Leases in the database (PostgreSQL): one row per name, ``chain:NAME`` or ``jobs``.

Every time is the database's (``clock_timestamp()``), so the instances' own clocks do
not matter. A lease is free when it has no holder or its expiry has passed; taking it
gives it a new fencing token (the old one plus one), renewing keeps the token, and a
lease that expired is never renewed (it must be taken again, with a new token).
Each function is one step of a unit of work on the caller's connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

JOBS = "jobs"


def chain_lease(chain: str) -> str:
    return f"chain:{chain}"


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str | None
    token: int
    expires_at: datetime
    free_for: float  # seconds since it became free (negative: held for that much longer)


def ensure(conn: Connection, names: Iterable[str]) -> None:
    """Create the rows of leases never held (free since now)."""
    for name in names:
        conn.execute(
            text(
                "INSERT INTO leases (name, holder, token, expires_at)"
                " VALUES (:name, NULL, 0, clock_timestamp()) ON CONFLICT (name) DO NOTHING"
            ),
            {"name": name},
        )


def read(conn: Connection, names: Iterable[str] | None = None) -> list[Lease]:
    """The leases (``names`` only, when given), as they are now."""
    query = (
        "SELECT name, holder, token, expires_at,"
        " EXTRACT(EPOCH FROM clock_timestamp() - expires_at) AS free_for FROM leases"
    )
    rows = conn.execute(text(query + " ORDER BY name")).all()
    wanted = None if names is None else set(names)
    return [
        Lease(row.name, row.holder, int(row.token), row.expires_at, float(row.free_for))
        for row in rows
        if wanted is None or row.name in wanted
    ]


def take(conn: Connection, name: str, holder: str, seconds: float) -> int | None:
    """Take ``name`` if it is free now; its new fencing token, or None. Waits (up to the
    caller's ``lock_timeout``) for units of work fenced by the old holder to commit."""
    row = conn.execute(
        text(
            "SELECT holder, expires_at > clock_timestamp() AS live FROM leases"
            " WHERE name = :name FOR UPDATE"
        ),
        {"name": name},
    ).first()
    if row is None or (row.holder is not None and row.live):
        return None
    token = conn.execute(
        text(
            "UPDATE leases SET holder = :holder, token = token + 1,"
            " expires_at = clock_timestamp() + make_interval(secs => :seconds),"
            " acquired_at = clock_timestamp() WHERE name = :name RETURNING token"
        ),
        {"name": name, "holder": holder, "seconds": seconds},
    ).scalar_one()
    return int(token)


def renew(conn: Connection, holder: str, held: Mapping[str, int], seconds: float) -> set[str]:
    """Extend the leases ``held`` (name -> token) that are still ours and unexpired; the
    names renewed (the others are lost)."""
    renewed = set()
    for name, token in held.items():
        row = conn.execute(
            text(
                "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => :seconds)"
                " WHERE name = :name AND holder = :holder AND token = :token"
                " AND expires_at > clock_timestamp() RETURNING name"
            ),
            {"name": name, "holder": holder, "token": token, "seconds": seconds},
        ).first()
        if row is not None:
            renewed.add(name)
    return renewed


def release(conn: Connection, holder: str, held: Mapping[str, int]) -> None:
    """Give the leases up now (another instance may take them at once)."""
    for name, token in held.items():
        conn.execute(
            text(
                "UPDATE leases SET holder = NULL, expires_at = clock_timestamp()"
                " WHERE name = :name AND holder = :holder AND token = :token"
            ),
            {"name": name, "holder": holder, "token": token},
        )
