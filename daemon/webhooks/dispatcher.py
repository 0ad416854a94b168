"""The dispatcher: claims due deliveries and sends them concurrently.

At most ``max_in_flight`` attempts run at once, and at most
``max_in_flight_per_endpoint`` to one scheme://host:port, so a slow or dead
store holds only its own slots while every other endpoint is served. It wakes
when the daemon commits a write (new events) or an attempt finishes, on PostgreSQL
when any process commits events (``paywatch_events``, daemon/cluster/notify.py),
and polls every ``poll_interval`` for retries that came due and for events whose
wake-up was missed (written while it was not listening). Results are written in
batches (one transaction for all attempts that finished meanwhile). On stop it
claims nothing more, lets in-flight attempts finish for a short grace period,
gives the rest back, and returns. An
:class:`~daemon.webhooks.replies.AttemptObserver` (the daemon's metrics) hears of every
finished attempt. A delivery is sent with the order's next events claimed with it, each
once the one before was delivered (:mod:`daemon.webhooks.claims`).

A failed attempt (other than 410) stops this dispatcher from starting more to that
endpoint until the result is written: what it had claimed ahead for it is given
back in that transaction, and from then on the endpoint's health in the database
decides (a failing endpoint gets one probe at a time; the dispatcher wakes for it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from chains.waiting import wait_for_any
from daemon.storage.database import Database
from daemon.webhooks.claims import AttemptRecord, Claimed
from daemon.webhooks.outbox import Outbox
from daemon.webhooks.replies import AttemptObserver, judge_reply, observe
from daemon.webhooks.retry_policy import DeliveryStatus
from daemon.webhooks.sender import Reply, Sender

log = logging.getLogger("paywatch.webhooks")
Clock = Callable[[], datetime]
COALESCE_SECONDS = 0.005
AHEAD = 4  # claimed, at most this many times what may run (per endpoint and in all)
LOOK_PAST_SECONDS = 1.0


class Dispatcher:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        sender: Sender,
        clock: Clock,
        *,
        max_in_flight: int,
        per_endpoint: int,
        poll_interval: float,
        grace: float = 2.0,
        rng: random.Random | None = None,
        observer: AttemptObserver | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.sender = sender
        self.clock = clock
        self.max_in_flight = max_in_flight
        self.per_endpoint = per_endpoint
        self.poll_interval = poll_interval
        self.grace = grace
        self.rng = rng or random.Random()
        self.observer = observer
        self._tasks: dict[asyncio.Task[None], Claimed] = {}
        self._by_endpoint: Counter[str] = Counter()  # attempts under way
        # Claimed ahead, started the moment a slot frees: no wait for a claim's round trip.
        self._queued: dict[str, collections.deque[Claimed]] = {}
        self._finished: list[AttemptRecord] = []
        self._unsent: list[Claimed] = []  # followers not sent: given back with the results
        self._halted: set[str] = set()  # endpoints whose attempt failed, result not written
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._news = True
        self._looked_past = -math.inf
        self._runner: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for due deliveries now (called after the daemon commits a write). The
        dispatcher's own claims are no news (waking on them kept an idle dispatcher
        claiming in a loop, ~120 claims/s, holding the database's one writer)."""
        if self._runner is not None and _current_task() is self._runner:
            return
        self._news = True
        self._wake.set()

    def _idle(self) -> bool:
        """No attempt under way or waiting to start: nothing to gather by waiting."""
        return not self._queued and all(task.done() for task in self._tasks)

    def _should_claim(self) -> bool:
        """After news (a commit, a result written, the poll interval), or when what was
        claimed ahead runs low; not after every single finished attempt."""
        if self._news:
            return True
        return sum(len(q) for q in self._queued.values()) <= 2 * self.per_endpoint

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish or give back what is in flight."""
        self._runner = asyncio.current_task()
        if self.db.dialect == "sqlite":
            freed = await self.db.run(lambda c: self.outbox.release_abandoned(c, self.clock()))
            if freed:
                log.warning("%d webhook attempts were cut off by a stop; retrying them", freed)
        try:
            while not stop.is_set():
                self._wake.clear()
                if self._should_claim():
                    self._news = False
                    try:
                        await self.claim_and_start()
                    except Exception:
                        log.exception("claiming webhook deliveries failed; retrying")
                await self._sleep(stop)
                if not self._wake.is_set():
                    self._news = True  # the poll interval passed: retries may be due
                # Let a burst of completions and commits gather: one claim for all of them
                # (when idle, a lone commit is not a burst: claim at once).
                if not self._idle():
                    await asyncio.sleep(COALESCE_SECONDS)
        finally:
            await self._shut_down()
            self._runner = None

    async def _sleep(self, stop: asyncio.Event) -> None:
        timeout = self.poll_interval
        probe = self.outbox.next_probe_at
        if probe is not None:  # a failing endpoint's next probe comes before the poll
            timeout = max(0.0, min(timeout, (probe - self.clock()).total_seconds() + 0.01))
        await wait_for_any(self._wake, stop, timeout=timeout)

    async def claim_and_start(self) -> int:
        queued = sum(len(q) for q in self._queued.values())
        room = AHEAD * self.max_in_flight - len(self._tasks) - queued
        if room <= 0:
            return 0
        now = self.clock()
        held = Counter(self._by_endpoint)
        for endpoint, waiting in self._queued.items():
            held[endpoint] += len(waiting)
        for endpoint in self._halted:
            held[endpoint] = max(held[endpoint], self.per_endpoint)
        # Looking past one endpoint's backlog for the others costs a walk over it:
        # at most once a second (a busy endpoint delays a new one by that much).
        moment = time.monotonic()
        look_past = moment - self._looked_past >= LOOK_PAST_SECONDS
        if look_past:
            self._looked_past = moment
        claimed = await self.db.run(
            lambda conn: self.outbox.claim(
                conn, now, room, AHEAD * self.per_endpoint, held, look_past=look_past
            )
        )
        for delivery in claimed:
            self._queued.setdefault(delivery.endpoint, collections.deque()).append(delivery)
        if self.observer is not None:
            self.observer.endpoints_failing(self.outbox.failing)
        self._start_ready()
        return len(claimed)

    def _start_ready(self) -> None:
        for endpoint in list(self._queued):
            if endpoint in self._halted:
                continue
            waiting = self._queued[endpoint]
            while (
                waiting
                and self._by_endpoint[endpoint] < self.per_endpoint
                and len(self._tasks) < self.max_in_flight
            ):
                delivery = waiting.popleft()
                self._by_endpoint[endpoint] += 1
                task = asyncio.create_task(self._attempt(delivery), name=f"webhook {delivery.id}")
                self._tasks[task] = delivery
                task.add_done_callback(self._done)
            if not waiting:
                del self._queued[endpoint]

    async def run_once(self) -> int:
        """Claim what is due now, send it, and record the results (for tests and tools)."""
        started = await self.claim_and_start()
        await self.drain()
        return started

    async def drain(self) -> None:
        """Wait for every attempt in flight and for its result to be written."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    def _done(self, task: asyncio.Task[None]) -> None:
        delivery = self._tasks.pop(task)
        self._by_endpoint[delivery.endpoint] -= 1
        if self._by_endpoint[delivery.endpoint] <= 0:
            del self._by_endpoint[delivery.endpoint]
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook attempt %s crashed", delivery.id, exc_info=task.exception())
        if not self._stopping:
            self._start_ready()
        self._wake.set()

    async def _attempt(self, delivery: Claimed) -> None:
        """The delivery, then the order's next events it was claimed with, each once the
        one before was delivered; the rest given back unsent when one is not, or at stop."""
        chain = (delivery, *delivery.then)
        for n, link in enumerate(chain):
            if n and self._stopping:
                self._unsent.extend(chain[n:])
                return
            attempted_at = self.clock()
            reply = await self.sender.send(link)
            if self._finish(link, attempted_at, reply) is not DeliveryStatus.DELIVERED:
                self._unsent.extend(chain[n + 1 :])
                return

    def _finish(self, delivery: Claimed, attempted_at: datetime, reply: Reply) -> DeliveryStatus:
        now = self.clock()
        record = judge_reply(delivery, attempted_at, reply, now, self.rng)
        status = record.decision.status
        if status in (DeliveryStatus.RETRYING, DeliveryStatus.DEAD):
            self._halted.add(delivery.endpoint)
        if self.observer is not None:
            observe(self.observer, record, reply.latency_ms, now)
        self._finished.append(record)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="webhook results")
        return status

    async def _flush(self) -> None:
        try:
            while self._finished:
                # Let the results of a burst gather: one transaction for all of them
                # (the last result of a burst is written at once: an order's next event
                # waits for it).
                if not self._idle():
                    await asyncio.sleep(2 * COALESCE_SECONDS)
                batch, self._finished = self._finished, []
                halted = set(self._halted)
                give_back = [d for e in halted for d in self._queued.pop(e, ())]
                give_back += self._unsent
                self._unsent = []
                record = functools.partial(
                    self.outbox.record, records=batch, now=self.clock(), give_back=give_back
                )
                recovered: list[str] = []
                try:
                    recovered = await self.db.run(record)
                except Exception:
                    # The leases run out and the deliveries are attempted again.
                    log.exception("recording %d webhook attempts failed", len(batch))
                for endpoint in recovered:
                    log.info("webhook endpoint %s answers again: its backlog is due", endpoint)
                self._halted -= halted
                if give_back or recovered:
                    self._news = True  # claim what was given back, or the backlog now due
                self._wake.set()
        finally:
            self._flusher = None

    async def _shut_down(self) -> None:
        self._stopping = True
        never_started = [d for waiting in self._queued.values() for d in waiting]
        self._queued.clear()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.grace)
        cut_off = list(self._tasks.values()) + never_started
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        with contextlib.suppress(Exception):
            await self.drain()
        if cut_off:
            await self.db.run(lambda conn: self.outbox.release(conn, cut_off))
            log.info("gave back %d webhook deliveries still in flight at stop", len(cut_off))


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # called outside the event loop
        return None
