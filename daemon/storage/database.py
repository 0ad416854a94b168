"""The database handle: engines, transactions, and one thread hop per unit of work.

Each unit of work is a plain function over a SQLAlchemy Core connection, run
in one transaction on a worker thread. On SQLite there is one worker, so
writers never contend for the file lock inside the daemon; on PostgreSQL the
workers match the pool. What a unit does outside the database (a counter, a
wake-up) it registers with :func:`daemon.storage.after_commit.on_commit`: run once,
after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from daemon.storage.after_commit import call_all, collecting, run_unit
from daemon.storage.group_commit import GroupCommitter

T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver for both."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_db_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # Two connections: the daemon's writer keeps one; reads and the CLI use the other.
        engine = create_engine(url, pool_size=2, max_overflow=0, pool_timeout=30)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Take transaction control from the driver so a write transaction can begin
    # IMMEDIATE (no lock upgrade, no deadlock between two writers).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    readonly = conn.get_execution_options().get("paywatch_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = normalize_url(url)
        self.engine = create_db_engine(self.url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        workers = 1 if self.dialect == "sqlite" else pool_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")
        self._writer: Connection | None = None
        self._commit_listeners: list[Callable[[], None]] = []
        self._committer = (
            GroupCommitter(self._writer_transaction, self._executor)
            if self.dialect == "sqlite"
            else None
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any error; the
        after-commit callbacks registered in it run (in this thread) once it committed."""
        with self.engine.begin() as conn, collecting(conn) as callbacks:
            yield conn
        call_all(callbacks)

    @contextlib.contextmanager
    def _writer_transaction(self) -> Iterator[Connection]:
        """The SQLite writer's transaction, on a connection it keeps (no pool round trip)."""
        if self._writer is None or self._writer.invalidated or self._writer.closed:
            self._writer = self.engine.connect()
        try:
            with self._writer.begin():
                yield self._writer
        except BaseException:
            self._writer.close()  # start the next batch on a fresh connection
            self._writer = None
            raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as plain:
            conn = plain.execution_options(paywatch_readonly=True)
            with conn.begin():
                yield conn

    def write(self, work: Callable[[Connection], T]) -> T:
        with self.transaction() as conn:
            return work(conn)

    def read(self, work: Callable[[Connection], T]) -> T:
        with self.reading() as conn:
            return work(conn)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run a write unit of work off the event loop, committed before this returns.

        ``work`` must only touch the database through ``conn`` (it may be run twice:
        see :mod:`daemon.storage.group_commit`); anything else it registers with
        :func:`~daemon.storage.after_commit.on_commit`, run on the event loop once the
        unit committed, before this returns.
        """
        if self._committer is not None:
            result = await self._committer.submit(work)
        else:
            loop = asyncio.get_running_loop()

            def commit() -> T:
                with self.engine.begin() as conn:
                    result, callbacks = run_unit(work, conn)
                loop.call_soon_threadsafe(call_all, callbacks)  # ahead of run's own wake-up
                return result

            result = await loop.run_in_executor(self._executor, commit)
        # In the caller's task (a listener may tell its own commits from others').
        for listener in self._commit_listeners:
            listener()
        return result

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (on the event loop) after each unit of work :meth:`run` commits:
        the webhook dispatcher looks for new events then."""
        self._commit_listeners.append(listener)

    def remove_commit_listener(self, listener: Callable[[], None]) -> None:
        self._commit_listeners.remove(listener)

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.read, work)

    def exists(self) -> bool:
        """False only for an SQLite file that was never created (reading would create it)."""
        url = make_url(self.url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return True
        return Path(url.database).exists()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()
