"""Running the chain watchers inside the daemon: each supervised on its own.

A watcher that crashes (anything but a node outage, which it handles itself) is
restarted with backoff and reported; it never takes another watcher or the API
down. Its cursor is in the database, so a restart resumes where it committed.

With a :class:`~daemon.cluster.leadership.Leadership` a watcher runs only while this
instance holds its chain's lease, each of its commits fenced by that lease; a watcher
deposed (its commit refused) is not a crash: it stops and waits to lead again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from chains.retry import Backoff, Retry
from chains.waiting import wait_for_any
from daemon.cluster.fence import NOT_LEADING, Deposed
from daemon.cluster.leadership import Leadership, Term
from daemon.cluster.leases import chain_lease
from daemon.watching.engine import ChainWatcher

log = logging.getLogger(__name__)

RESTART = Retry(initial=1.0, factor=2.0, maximum=60.0)  # 1, 2, 4 ... 60 s


async def supervise(
    name: str,
    job: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    on_crash: Callable[[Exception], None] | None = None,
) -> None:
    """Run ``job`` until ``stop`` is set, restarting it with backoff when it crashes."""
    backoff = Backoff(RESTART)
    while not stop.is_set():
        try:
            await job(stop)
        except Deposed:
            raise  # not a crash: the caller goes back to following
        except Exception as exc:
            if on_crash is not None:
                on_crash(exc)
            pause = backoff.failed()
            log.exception("%s crashed; restarting in %.0fs", name, pause)
            await wait_for_any(stop, timeout=pause)
        else:
            backoff.succeeded()


async def watch(
    watcher: ChainWatcher, stop: asyncio.Event, leadership: Leadership | None = None
) -> None:
    def crashed(exc: Exception) -> None:
        watcher.status.failed(f"watcher crashed: {exc!r}", watcher.clock())
        watcher.status.restarts += 1

    name = f"chain {watcher.chain}: watcher"

    async def lead(term: Term, ended: asyncio.Event) -> None:
        watcher.lead(term.fence)
        try:
            await supervise(name, watcher.run, ended, crashed)
        finally:
            watcher.lead(NOT_LEADING)

    try:
        if leadership is None or not leadership.enabled:
            await supervise(name, watcher.run, stop, crashed)
        else:
            await leadership.while_leading(chain_lease(watcher.chain), stop, lead)
    finally:
        with contextlib.suppress(Exception):
            await watcher.source.aclose()


def start_watchers(
    watchers: Mapping[str, ChainWatcher],
    stop: asyncio.Event,
    leadership: Leadership | None = None,
) -> list[asyncio.Task[None]]:
    tasks = []
    for name, watcher in watchers.items():
        if leadership is not None and leadership.enabled:
            log.info("chain %s: watched by whichever instance holds its lease", name)
        else:
            log.info("chain %s: watching", name)
        task = watch(watcher, stop, leadership)
        tasks.append(asyncio.create_task(task, name=f"watch-{name}"))
    return tasks
