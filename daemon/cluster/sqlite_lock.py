"""SQLite runs one `paywatch run` at a time: the daemon holds an exclusive ``flock`` on
``<database file>.lock`` for its whole life (the kernel drops it when the process
dies, ``kill -9`` included), and a second daemon on the same file refuses to start,
naming the file and the pid that holds it. (Several instances need PostgreSQL.)"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from daemon.errors import ClusterError


class AlreadyRunning(ClusterError):
    """Another daemon holds the database (`paywatch run` prints the message and exits 1,
    with no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def lock_path(database_url: str) -> Path | None:
    """``<file>.lock`` for an SQLite file; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".lock")


@contextlib.contextmanager
def single_instance(database_url: str) -> Iterator[None]:
    """Hold the SQLite file's lock for the block; raise :class:`AlreadyRunning` if taken."""
    path = lock_path(database_url)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            database = path.with_suffix("")
            raise AlreadyRunning(
                f"another paywatch run (pid {holder}) is using {database}; SQLite takes one"
                " instance at a time (stop it first, or use PostgreSQL to run several)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the lock
