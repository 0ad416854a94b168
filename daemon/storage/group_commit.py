"""Group commit: many write units of work in one SQLite transaction.

SQLite pays for every commit (a WAL write and its lock); under load the
daemon's single writer thread runs the units that are waiting in one
transaction and commits once. Units of work touch only the database and may
be run again, so when any unit of a batch fails the whole batch is rolled
back and each unit runs again alone: a failure never leaks into another
request's transaction, and a reply is only sent after its commit. What a unit
does outside the database it registers as an after-commit callback
(:mod:`daemon.storage.after_commit`): each unit's callbacks are kept apart, run
once when that unit's transaction commits, and dropped with a rolled-back attempt.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy import Connection

from daemon.storage.after_commit import Callback, call_all, run_unit

T = TypeVar("T")
Work = Callable[[Connection], Any]
_Item = tuple[Work, "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _resolve(
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
    callbacks: list[Callback] | None = None,
) -> None:
    call_all(callbacks or [])  # committed: before the caller resumes, even a cancelled one
    if future.cancelled():
        return  # the caller went away; the work is committed (or not) all the same
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommitter:
    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        executor: Executor,
        max_batch: int = 64,
    ) -> None:
        self._transaction = transaction
        self._executor = executor
        self._max_batch = max_batch
        self._pending: deque[_Item] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    async def submit(self, work: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._pending.append((work, future, loop))
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            self._executor.submit(self._drain_once)
        return await future

    def _drain_once(self) -> None:
        with self._lock:
            batch = [
                self._pending.popleft() for _ in range(min(len(self._pending), self._max_batch))
            ]
        try:
            self._run(batch)
        finally:
            with self._lock:
                more = bool(self._pending)
                self._scheduled = more
            if more:
                # Back of the executor's queue: reads waiting there go first.
                self._executor.submit(self._drain_once)

    def _run_together(self, batch: list[_Item]) -> bool:
        """One transaction for the whole batch; False (all rolled back) if any unit failed."""
        results: list[tuple[Any, list[Callback]]] = []
        try:
            with self._transaction() as conn:
                for work, _, _ in batch:
                    results.append(run_unit(work, conn))
        except Exception:
            return False  # rolled back, callbacks and all: each unit runs alone instead
        for (_, future, loop), (result, callbacks) in zip(batch, results, strict=True):
            loop.call_soon_threadsafe(_resolve, future, result, None, callbacks)
        return True

    def _run(self, batch: list[_Item]) -> None:
        if len(batch) > 1 and self._run_together(batch):
            return
        for work, future, loop in batch:
            try:
                with self._transaction() as conn:
                    result, callbacks = run_unit(work, conn)
            except BaseException as exc:
                loop.call_soon_threadsafe(_resolve, future, None, exc)
            else:
                loop.call_soon_threadsafe(_resolve, future, result, None, callbacks)
