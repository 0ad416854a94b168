"""After-commit callbacks: what a unit of work does outside the database, done once
its transaction has committed, exactly once per commit.

A unit of work may run more than once: group commit runs the units of a failed batch
again one by one (:mod:`daemon.storage.group_commit`). So a unit never counts, wakes
or reports anything itself; it registers a callback with :func:`on_commit`::

    def settle(conn: Connection) -> int:
        new = store(conn, ...)
        on_commit(conn, lambda: metrics.credited(chain, new))
        return new

The callbacks of the attempt that committed run (``Database.run``: on the event loop,
before ``run`` returns, even if its caller was cancelled meanwhile; ``Database.write``
and ``Database.transaction``: in the caller's thread, after the commit); those of an
attempt that rolled back are dropped with it. A callback that raises is logged and the
others still run: the data is committed whatever a counter does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection

from daemon.errors import StorageError

T = TypeVar("T")
Callback = Callable[[], None]

log = logging.getLogger("paywatch.storage")

_KEY = "paywatch_after_commit"


class NoUnitOfWork(StorageError):
    """:func:`on_commit` on a connection no unit of work is being run on (a read)."""


def on_commit(conn: Connection, callback: Callback) -> None:
    """Run ``callback`` once the unit of work running on ``conn`` has committed."""
    pending = conn.info.get(_KEY)
    if pending is None:
        raise NoUnitOfWork("on_commit is for units of work the Database runs and commits")
    pending.append(callback)


@contextlib.contextmanager
def collecting(conn: Connection) -> Iterator[list[Callback]]:
    """The callbacks registered on ``conn`` inside the block (by one unit of work)."""
    callbacks: list[Callback] = []
    outer = conn.info.get(_KEY)
    conn.info[_KEY] = callbacks
    try:
        yield callbacks
    finally:
        if outer is None:
            del conn.info[_KEY]
        else:
            conn.info[_KEY] = outer


def run_unit(work: Callable[[Connection], T], conn: Connection) -> tuple[T, list[Callback]]:
    """``work``'s result and the callbacks it registered (not run yet: not committed)."""
    with collecting(conn) as callbacks:
        return work(conn), callbacks


def call_all(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed (the data is committed)")
