"""Who does what among the `paywatch run` processes on one database.

One :class:`Leadership` per process. Every ``RENEW_SECONDS`` it beats its ``instances``
row, renews the leases it holds, and takes free ones: a chain's lease while it holds
fewer chains than its fair share (ceil(chains / live instances)) or once the lease has
been free for a whole lease period (no chain is left unwatched), and the ``jobs`` lease
whenever it is free. It gives up a chain when it holds more than its share (another
instance started), so chains spread. A lease it fails to renew is lost: the work under
it stops (:meth:`Leadership.while_leading`), and the fence refuses any commit meanwhile.

On SQLite there is one instance (see :mod:`daemon.cluster.sqlite_lock`): every lease is
its own from the start, with :data:`~daemon.cluster.fence.NO_FENCE`; only the heartbeat
is written.

For tests and tools: ``holds(name)``, ``wait_for(name, stop)``, ``while_leading(...)``,
``tick()`` (one round now) and ``close()`` (release everything, mark stopped).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection, text

from chains.waiting import wait_for_any
from daemon.cluster import instances, leases
from daemon.cluster.fence import NO_FENCE, Deposed, Fence, LeaseFence
from daemon.storage.database import Database

log = logging.getLogger("paywatch.cluster")
T = TypeVar("T")

LEASE_SECONDS = 6.0
RENEW_SECONDS = 2.0
LOCK_TIMEOUT = "1500ms"  # how long taking a lease waits for the old holder's commit


@dataclass
class Term:
    """One holding of a lease: its fencing token, and ``lost`` once it ended."""

    name: str
    token: int
    fence: Fence
    valid_until: float  # time.monotonic() by which a renewal must have succeeded
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class Leadership:
    def __init__(
        self,
        db: Database,
        instance_id: str,
        chains: Sequence[str],
        *,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.db = db
        self.me = instance_id
        self.enabled = db.dialect == "postgresql"
        self.chains = [leases.chain_lease(chain) for chain in chains]
        self.names = [*self.chains, leases.JOBS]
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.terms: dict[str, Term] = {}
        self.known: list[leases.Lease] = []  # every lease, as the last round read them
        self._changed = asyncio.Event()
        self._registered = False
        if not self.enabled:
            for name in self.names:
                self.terms[name] = Term(name, 0, NO_FENCE, math.inf)

    # -- asking -------------------------------------------------------------------------

    def holds(self, name: str) -> bool:
        term = self.terms.get(name)
        return term is not None and not term.lost.is_set()

    def leader_of(self, name: str) -> str | None:
        """Who holds ``name`` (this instance's id when it does), as last read."""
        if self.holds(name):
            return self.me
        for lease in self.known:
            if lease.name == name and lease.holder is not None and lease.free_for < 0:
                return lease.holder
        return None

    async def wait_for(self, name: str, stop: asyncio.Event) -> Term | None:
        """The term once this instance holds ``name``; None once ``stop`` is set."""
        while not stop.is_set():
            term = self.terms.get(name)
            if term is not None and not term.lost.is_set():
                return term
            await wait_for_any(stop, self._changed)
        return None

    async def while_leading(
        self,
        name: str,
        stop: asyncio.Event,
        work: Callable[[Term, asyncio.Event], Awaitable[None]],
    ) -> None:
        """Run ``work(term, ended)`` each time this instance holds ``name``, until
        ``stop``; ``ended`` is set when ``stop`` is or the term is lost. A
        :class:`Deposed` from ``work`` ends the term: the instance follows again."""
        while not stop.is_set():
            term = await self.wait_for(name, stop)
            if term is None:
                return
            ended = asyncio.Event()
            relay = asyncio.create_task(_relay(ended, stop, term.lost))
            try:
                await work(term, ended)
            except Deposed as exc:
                self.lose(term, str(exc))
            finally:
                relay.cancel()
                await asyncio.gather(relay, return_exceptions=True)

    def lose(self, term: Term, reason: str) -> None:
        if self.terms.get(term.name) is term:
            del self.terms[term.name]
        if not term.lost.is_set():
            log.warning("%s: no longer led by this instance (%s)", term.name, reason)
            term.lost.set()
            self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- the round ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """A round every ``renew_seconds`` until ``stop`` (errors are logged; a lease not
        renewed in time is lost)."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                log.warning("cluster: heartbeat and leases failed: %s", exc)
                self._expire_overdue()
            await wait_for_any(stop, timeout=self.renew_seconds)

    async def tick(self) -> None:
        """One round: heartbeat, renew, read, give up a surplus chain, take free leases."""
        began = time.monotonic()
        await self._write(self._beat)
        if not self.enabled:
            return
        held = {name: term.token for name, term in self.terms.items()}
        renewed: set[str] = set()
        if held:
            seconds = self.lease_seconds
            renewed = await self._write(lambda c: leases.renew(c, self.me, held, seconds))
        for name in held:
            term = self.terms.get(name)
            if term is None:
                continue
            if name in renewed:
                term.valid_until = began + self.lease_seconds
            else:
                self.lose(term, "its lease was not renewed in time")
        self.known, live = await self._write(self._read)
        share = math.ceil(len(self.chains) / max(live, 1))
        mine = [name for name in self.chains if self.holds(name)]
        if len(mine) > share:
            await self.resign(mine[-1], f"more than a fair share of {share} chain(s)")
        for lease in self.known:
            if lease.name not in self.names or self.holds(lease.name):
                continue
            if lease.holder is not None and lease.free_for < 0:
                continue
            is_chain = lease.name != leases.JOBS
            mine_now = sum(1 for name in self.chains if self.holds(name))
            if is_chain and mine_now >= share and lease.free_for < self.lease_seconds:
                continue
            await self._take(lease.name, began)
        self._expire_overdue()

    def _beat(self, conn: Connection) -> None:
        if not self._registered:
            instances.register(conn, self.me)
            self._registered = True
            if self.enabled:
                leases.ensure(conn, self.names)
        else:
            instances.beat(conn, self.me)

    def _read(self, conn: Connection) -> tuple[list[leases.Lease], int]:
        return leases.read(conn), instances.live_count(conn)

    async def _take(self, name: str, began: float) -> None:
        def take(conn: Connection) -> int | None:
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            return leases.take(conn, name, self.me, self.lease_seconds)

        try:
            token = await self._write(take)
        except Exception as exc:  # the old holder is committing: next round
            log.info("%s: not taken this round: %s", name, exc)
            return
        if token is None:
            return
        fence = LeaseFence(name, self.me, token)
        self.terms[name] = Term(name, token, fence, began + self.lease_seconds)
        log.info("%s: led by this instance now (fencing token %d)", name, token)
        self._signal()

    async def resign(self, name: str, reason: str) -> None:
        """Give ``name`` up now: the work under it stops, another instance may take it."""
        term = self.terms.get(name)
        if term is None:
            return
        self.lose(term, reason)
        if self.enabled:
            await self._write(lambda c: leases.release(c, self.me, {name: term.token}))

    def _expire_overdue(self) -> None:
        now = time.monotonic()
        for term in list(self.terms.values()):
            if now > term.valid_until:
                self.lose(term, "its lease ran out before it could be renewed")

    async def close(self) -> None:
        """Release every lease at once and mark this instance stopped (at SIGTERM, once
        the work under the leases has stopped)."""
        held = {name: term.token for name, term in self.terms.items()}
        if self.enabled:
            for term in list(self.terms.values()):
                self.lose(term, "shutting down")

        def leave(conn: Connection) -> None:
            if self.enabled and held:
                leases.release(conn, self.me, held)
            if self._registered:
                instances.stopped(conn, self.me)

        try:
            await self._write(leave)
        except Exception as exc:
            log.warning("cluster: could not release the leases at exit: %s", exc)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        # Not Database.run: the leases' rounds must not wake the commit listeners.
        return await asyncio.get_running_loop().run_in_executor(None, self.db.write, work)


async def _relay(ended: asyncio.Event, *events: asyncio.Event) -> None:
    await wait_for_any(*events)
    ended.set()
