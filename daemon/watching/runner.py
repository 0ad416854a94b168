"""Running the chain watchers inside the daemon: each supervised on its own.

A watcher that crashes (anything but a node outage, which it handles itself) is
restarted with backoff and reported; it never takes another watcher or the API
down. Its cursor is in the database, so a restart resumes where it committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from daemon.watching.engine import ChainWatcher

log = logging.getLogger(__name__)

MAX_RESTART_DELAY = 60.0


async def supervise(
    name: str,
    job: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    on_crash: Callable[[Exception], None] | None = None,
) -> None:
    """Run ``job`` until ``stop`` is set, restarting it with backoff when it crashes."""
    delay = 1.0
    while not stop.is_set():
        try:
            await job(stop)
        except Exception as exc:
            if on_crash is not None:
                on_crash(exc)
            log.exception("%s crashed; restarting in %.0fs", name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)
        else:
            delay = 1.0


async def watch(watcher: ChainWatcher, stop: asyncio.Event) -> None:
    def crashed(exc: Exception) -> None:
        watcher.status.failed(f"watcher crashed: {exc!r}", watcher.clock())
        watcher.status.restarts += 1

    try:
        await supervise(f"chain {watcher.chain}: watcher", watcher.run, stop, crashed)
    finally:
        with contextlib.suppress(Exception):
            await watcher.source.aclose()


def start_watchers(
    watchers: Mapping[str, ChainWatcher], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    tasks = []
    for name, watcher in watchers.items():
        log.info("chain %s: watching", name)
        tasks.append(asyncio.create_task(watch(watcher, stop), name=f"watch-{name}"))
    return tasks
