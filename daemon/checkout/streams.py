"""The checkout pages' live updates: one loop for every open event stream.

Each open ``/pay/{token}/events`` stream waits on a queue of its order. One task
(started with the first stream, ended with the last) finds which watched orders
changed and puts their new digest (:func:`daemon.checkout.state.digest`) on their
queues:

- after each commit of this instance (a commit listener wakes it), it reads the
  events written since it last looked (every change of status or money writes one: the
  webhook outbox is the change feed) and reloads the digests of those orders only;
- every ``poll`` seconds it reloads the digests of every watched order: confirmations
  counted up without an event, and changes committed by another instance.

So a status change reaches the page within milliseconds of its commit here, and
within ``poll`` seconds in any case. The number of streams is bounded in all and per
order (429 ``too_many_streams``); :meth:`Streams.close` ends them all at shutdown.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import time
from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from chains.waiting import wait_for_any
from daemon.checkout.state import digest
from daemon.services.errors import TooManyRequests
from daemon.storage.database import Database
from daemon.storage.tables import events, order_addresses, orders, transfers

log = logging.getLogger("paywatch.checkout")

CHUNK = 250  # orders per digest query
REFUSALS = ("rate_limited", "too_many_streams")  # what the limits refuse, counted
Queue = asyncio.Queue[str | None]  # a digest; None: the stream must end


class Streams:
    def __init__(self, db: Database, *, total: int, per_order: int, poll: float = 2.0) -> None:
        self.db = db
        self.total = total
        self.per_order = per_order
        self.poll = poll
        self._queues: dict[int, set[Queue]] = {}
        self._digests: dict[int, str] = {}
        self._fresh: set[int] = set()  # orders whose streams just opened: look at once
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.open_count = 0
        self.refused: collections.Counter[str] = collections.Counter()  # by REFUSALS

    def admit(self, order_seq: int) -> None:
        """Raise 429 ``too_many_streams`` if a stream of the order could not open now."""
        if self._closed:
            raise _too_many("the server is shutting down")
        if self.open_count >= self.total:
            raise _too_many("too many open event streams")
        if len(self._queues.get(order_seq, ())) >= self.per_order:
            raise _too_many("too many open event streams for this order")

    def open(self, order_seq: int) -> Queue:
        """A queue of the order's digests (its current one first, within a round). The
        caller must :meth:`release` it: open it where its ``finally`` is sure to run."""
        self.admit(order_seq)
        queue: Queue = asyncio.Queue()
        self._queues.setdefault(order_seq, set()).add(queue)
        self.open_count += 1
        self._fresh.add(order_seq)
        self._digests.pop(order_seq, None)  # the new stream gets the digest as it is
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="checkout-streams")
        self._wake.set()
        return queue

    def release(self, order_seq: int, queue: Queue) -> None:
        queues = self._queues.get(order_seq)
        if queues is None or queue not in queues:
            return
        queues.discard(queue)
        self.open_count -= 1
        if not queues:
            del self._queues[order_seq]
            self._digests.pop(order_seq, None)

    def wake(self) -> None:
        """Something was committed here: look for changes now."""
        self._wake.set()

    def close(self) -> None:
        """End every stream (shutdown): their clients reconnect to another instance or
        poll; the loop stops."""
        self._closed = True
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)
        self._wake.set()

    async def _run(self) -> None:
        self.db.add_commit_listener(self.wake)
        try:
            last_event: int | None = None
            full_at = time.monotonic() + self.poll
            while self._queues and not self._closed:
                try:
                    if last_event is None:
                        last_event = await self.db.run_read(_last_event)
                    last_event, full_at = await self._round(last_event, full_at)
                except Exception:  # the database, say: the streams wait, the loop goes on
                    log.exception("the checkout pages' update round failed")
                    last_event = None
                    await asyncio.sleep(self.poll)
        finally:
            self.db.remove_commit_listener(self.wake)

    async def _round(self, last_event: int, full_at: float) -> tuple[int, float]:
        await wait_for_any(self._wake, timeout=max(full_at - time.monotonic(), 0))
        self._wake.clear()
        watched = set(self._queues)
        if time.monotonic() >= full_at:
            targets, full_at = watched, time.monotonic() + self.poll
            last_event = await self.db.run_read(_last_event)
        else:
            changed, last_event = await self.db.run_read(
                functools.partial(_changed_since, after=last_event)
            )
            targets = (changed | self._fresh) & watched
        self._fresh.clear()
        # A read per chunk: on SQLite reads share the one database thread with writes,
        # which then get in between (a commit waited for a whole look at 1,000 orders).
        wanted = sorted(targets)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            self._publish(await self.db.run_read(functools.partial(digests, seqs=chunk)))
        return last_event, full_at

    def _publish(self, found: dict[int, str]) -> None:
        for seq, value in found.items():
            if self._digests.get(seq) == value:
                continue
            self._digests[seq] = value
            for queue in self._queues.get(seq, ()):
                queue.put_nowait(value)


def _last_event(conn: Connection) -> int:
    return int(conn.execute(select(func.max(events.c.seq))).scalar() or 0)


def _changed_since(conn: Connection, after: int) -> tuple[set[int], int]:
    rows = conn.execute(
        select(events.c.seq, events.c.order_seq).where(events.c.seq > after).order_by(events.c.seq)
    ).all()
    return {r.order_seq for r in rows}, (rows[-1].seq if rows else after)


def digests(conn: Connection, seqs: Iterable[int]) -> dict[int, str]:
    """The page digest of each order (a chunk of them: one ``IN`` list), from the tables
    (as :func:`checkout_state` computes it from the records)."""
    found: dict[int, str] = {}
    chunk = sorted(seqs)
    moved = {
        r.order_seq: (r.n, r.confirmations, r.removed)
        for r in conn.execute(
            select(
                transfers.c.order_seq,
                func.count().label("n"),
                func.coalesce(func.sum(transfers.c.confirmations), 0).label("confirmations"),
                func.count().filter(transfers.c.removed).label("removed"),
            )
            .where(transfers.c.order_seq.in_(chunk))
            .group_by(transfers.c.order_seq)
        )
    }
    picked = {
        int(row.order_seq): int(row.n)
        for row in conn.execute(
            select(order_addresses.c.order_seq, func.count().label("n"))
            .where(order_addresses.c.order_seq.in_(chunk))
            .group_by(order_addresses.c.order_seq)
        )
    }
    rows = conn.execute(
        select(
            orders.c.seq,
            orders.c.status,
            orders.c.exception,
            orders.c.received_base,
            orders.c.received_confirmed_base,
        ).where(orders.c.seq.in_(chunk))
    )
    for r in rows:
        n, confirmations, removed = moved.get(r.seq, (0, 0, 0))
        found[r.seq] = digest(
            r.status,
            r.exception,
            int(r.received_base),
            int(r.received_confirmed_base),
            int(n),
            int(confirmations),
            int(removed),
            int(picked.get(r.seq, 0)),
        )
    return found


def _too_many(message: str) -> TooManyRequests:
    return TooManyRequests("too_many_streams", message, retry_after=30)
