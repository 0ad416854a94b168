"""The daemon's periodic jobs, on APScheduler's asyncio scheduler in the daemon's loop.

Each job runs at most once at a time (a slow round is never stacked on itself), missed
rounds collapse into one, and a job that fails is logged and counted and simply runs
again at its next time: one failing job never stops another. At shutdown no new round
starts, and rounds already running are given a grace period to finish their
transaction before they are cancelled. A job given ``when`` runs a round only while
``when()`` is true (the cluster's jobs lease, a chain's lease); the rounds it sits out
are not counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("paywatch.jobs")


@dataclass
class JobStats:
    """What a job did lately, for logs, metrics and ``/readyz``."""

    runs: int = 0
    failures: int = 0
    last_run_at: float | None = None  # time.time() of the last finished round
    last_error: str | None = None
    last_seconds: float = 0.0


@dataclass
class Jobs:
    """Named periodic jobs; ``start()`` inside the running loop, ``shutdown()`` at the end."""

    stats: dict[str, JobStats] = field(default_factory=dict)
    _scheduler: AsyncIOScheduler | None = None
    _pending: list[tuple[str, float, float, Callable[[], Awaitable[object]]]] = field(
        default_factory=list
    )
    _when: dict[str, Callable[[], bool]] = field(default_factory=dict)
    _running: set[asyncio.Task[None]] = field(default_factory=set)
    _closing: bool = False

    def every(
        self,
        name: str,
        seconds: float,
        job: Callable[[], Awaitable[object]],
        *,
        first_after: float = 0.0,
        when: Callable[[], bool] | None = None,
    ) -> None:
        """Run ``job`` every ``seconds``, the first time ``first_after`` seconds from start
        (each round only while ``when()`` is true, when given)."""
        if name in self.stats:
            raise ValueError(f"a job named {name} is already scheduled")
        self.stats[name] = JobStats()
        if when is not None:
            self._when[name] = when
        self._pending.append((name, seconds, first_after, job))
        if self._scheduler is not None:
            self._add(self._scheduler, name, seconds, first_after, job)

    def start(self) -> None:
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        for name, seconds, first_after, job in self._pending:
            self._add(scheduler, name, seconds, first_after, job)
        scheduler.start()
        self._scheduler = scheduler

    def _add(
        self,
        scheduler: AsyncIOScheduler,
        name: str,
        seconds: float,
        first_after: float,
        job: Callable[[], Awaitable[object]],
    ) -> None:
        async def round_() -> None:
            if self._closing:
                return
            when = self._when.get(name)
            if when is not None and not when():
                return
            task = asyncio.current_task()
            assert task is not None
            task.set_name(f"job {name}")
            self._running.add(task)
            try:
                await self._run(name, job)
            finally:
                self._running.discard(task)

        scheduler.add_job(
            round_,
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_after),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    async def _run(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        stats = self.stats[name]
        began = time.perf_counter()
        try:
            await job()
        except Exception as exc:
            stats.failures += 1
            stats.last_error = repr(exc)
            log.exception("job %s failed; it runs again at its next time", name)
        else:
            stats.last_error = None
        finally:
            stats.runs += 1
            stats.last_run_at = time.time()
            stats.last_seconds = time.perf_counter() - began

    async def shutdown(self, grace: float = 2.0) -> None:
        """Start no new round; let running ones finish within ``grace`` seconds."""
        self._closing = True
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.pause()
        running = list(self._running)
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                log.warning("%s cut short by shutdown", task.get_name())
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)  # cancels nothing now: no round is running
