"""The one way to wait for the first of several things: a stop event, a wake-up event,
some work finishing, or a timeout.

``await wait_for_any(stop, wake, timeout=5)`` returns the first of its arguments (in
argument order) that fired, or None when ``timeout`` seconds passed first. An
argument is an :class:`asyncio.Event` (fires when set), a task or future (fires when
done; the caller owns it: it is never cancelled here and its outcome is the caller's
to read), or a coroutine (run meanwhile, cancelled if something else fires first; an
exception it raises is raised here). Everything it started is cancelled and awaited
before it returns, also when the waiting itself is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

__all__ = ["Waitable", "wait_for_any"]

Waitable = asyncio.Event | Awaitable[Any]


async def wait_for_any(*waitables: Waitable, timeout: float | None = None) -> Waitable | None:
    """The first of ``waitables`` that fired (argument order breaks ties), or None after
    ``timeout`` seconds (None: no timeout)."""
    if not waitables and timeout is None:
        raise ValueError("waiting for nothing and no timeout would wait forever")
    watched: list[asyncio.Future[Any]] = []
    started: list[asyncio.Future[Any]] = []
    wrapped: dict[int, asyncio.Future[Any]] = {}  # argument index -> the coroutine's task
    for i, waitable in enumerate(waitables):
        if isinstance(waitable, asyncio.Event):
            future: asyncio.Future[Any] = asyncio.ensure_future(waitable.wait())
            started.append(future)
        elif asyncio.isfuture(waitable):
            future = waitable
        else:
            future = asyncio.ensure_future(waitable)
            started.append(future)
            wrapped[i] = future
        watched.append(future)
    try:
        if watched:
            limit = None if timeout is None else max(timeout, 0.0)
            await asyncio.wait(watched, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(max(timeout or 0.0, 0.0))
        fired = _first_fired(waitables, watched)
    finally:
        for future in started:
            future.cancel()
        if started:
            await asyncio.gather(*started, return_exceptions=True)
    task = wrapped.get(fired) if fired is not None else None
    if task is not None and not task.cancelled() and (error := task.exception()) is not None:
        raise error
    return None if fired is None else waitables[fired]


def _first_fired(waitables: tuple[Waitable, ...], watched: list[asyncio.Future[Any]]) -> int | None:
    for i, waitable in enumerate(waitables):
        if waitable.is_set() if isinstance(waitable, asyncio.Event) else watched[i].done():
            return i
    return None
