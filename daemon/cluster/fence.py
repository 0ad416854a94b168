"""Fencing: a watcher's unit of work proves, in its own transaction, that this instance
still holds the chain's lease with the token it was given.

The check reads the lease row ``FOR KEY SHARE``: a new holder takes the row ``FOR
UPDATE`` first, so it waits until every unit of work that passed the check has
committed, and every unit that checks after the takeover sees another token and is
refused (:class:`Deposed`). The expiry is judged by the database's clock, so a leader
paused past its lease (SIGSTOP, a long GC, a frozen VM) cannot commit when it wakes,
whoever holds the lease by then.

On SQLite (one instance only, see :mod:`daemon.cluster.sqlite_lock`) the fence is
:data:`NO_FENCE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, text

from daemon.errors import ClusterError


class Deposed(ClusterError):
    """This instance no longer holds the lease: its unit of work is rolled back, and the
    work stops (the instance goes back to following; it is not a crash)."""


class Fence(Protocol):
    def check(self, conn: Connection) -> None:
        """Raise :class:`Deposed` unless the lease is still held (call it inside the unit
        of work's transaction, after the chain's writer lock)."""


@dataclass(frozen=True, slots=True)
class _Open:
    def check(self, conn: Connection) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Closed:
    reason: str

    def check(self, conn: Connection) -> None:
        raise Deposed(self.reason)


NO_FENCE: Fence = _Open()  # SQLite, the CLI (rescan, resume), tests
NOT_LEADING: Fence = _Closed("this instance does not lead the chain")

_HELD = text(
    "SELECT token FROM leases WHERE name = :name AND holder = :holder AND token = :token"
    " AND expires_at > clock_timestamp() FOR KEY SHARE"
)


@dataclass(frozen=True, slots=True)
class LeaseFence:
    """The lease ``name`` as held by ``holder`` with fencing token ``token``."""

    name: str
    holder: str
    token: int

    def check(self, conn: Connection) -> None:
        held = conn.execute(
            _HELD, {"name": self.name, "holder": self.holder, "token": self.token}
        ).first()
        if held is None:
            raise Deposed(f"lease {self.name} (token {self.token}) is no longer ours")
