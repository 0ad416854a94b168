"""After-commit callbacks run exactly once per committed unit of work, on a real SQLite
file with group commit: a batch in which one unit fails is rolled back and its units
run again one by one, yet each committed unit's callback runs once and a failed
unit's never."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from daemon.storage.after_commit import NoUnitOfWork, on_commit
from daemon.storage.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'units.db'}")
    database.write(lambda c: c.execute(text("CREATE TABLE units (name TEXT PRIMARY KEY)")))
    yield database
    database.close()


def stored(db: Database) -> set[str]:
    return set(db.read(lambda c: c.execute(text("SELECT name FROM units")).scalars().all()))


class Units:
    """Units of work that insert their name and count, by name, their attempts and the
    after-commit callbacks that ran."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.called: Counter[str] = Counter()

    def unit(self, name: str, *, fail: bool = False) -> Callable[[Connection], str]:
        def work(conn: Connection) -> str:
            self.attempts[name] += 1
            conn.execute(text("INSERT INTO units (name) VALUES (:name)"), {"name": name})
            on_commit(conn, lambda: self.called.update([name]))
            if fail:
                raise ValueError(f"{name} fails")
            return name

        return work


def test_a_failed_batch_runs_again_and_each_committed_unit_calls_back_once(
    db: Database,
) -> None:
    asyncio.run(_failed_batch(db))


async def _failed_batch(db: Database) -> None:
    assert db._committer is not None  # SQLite: group commit
    units = Units()
    gate, started = threading.Event(), threading.Event()

    def first(conn: Connection) -> str:
        started.set()
        assert gate.wait(timeout=30)  # the writer is busy while the others queue up
        return units.unit("u0")(conn)

    first_done = asyncio.create_task(db.run(first))
    assert await asyncio.to_thread(started.wait, 30)
    names = ["u1", "u2", "u3", "u4", "u5"]
    returned: list[str] = []

    async def run(name: str) -> str:
        result = await db.run(units.unit(name, fail=name == "u3"))
        assert units.called[name] == 1  # the callback ran before run() returned
        returned.append(result)
        return result

    tasks = [asyncio.create_task(run(name)) for name in names]
    await asyncio.sleep(0)  # each task has queued its unit
    assert len(db._committer._pending) == len(names)
    gate.set()
    assert await first_done == "u0"
    results = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(results[2], ValueError)
    assert sorted(returned) == ["u1", "u2", "u4", "u5"]
    # The five went in one batch: u1 and u2 ran, u3 failed and rolled all back; then
    # each ran again alone (u4 and u5 for the first time).
    assert units.attempts == {"u0": 1, "u1": 2, "u2": 2, "u3": 2, "u4": 1, "u5": 1}
    assert units.called == {"u0": 1, "u1": 1, "u2": 1, "u4": 1, "u5": 1}
    assert stored(db) == {"u0", "u1", "u2", "u4", "u5"}


def test_a_batch_that_commits_calls_back_once_per_unit(db: Database) -> None:
    units = Units()
    names = [f"u{i}" for i in range(20)]

    async def run_all() -> None:
        await asyncio.gather(*(db.run(units.unit(name)) for name in names))

    asyncio.run(run_all())
    assert units.called == dict.fromkeys(names, 1)
    assert units.attempts == dict.fromkeys(names, 1)


def test_a_callback_that_raises_does_not_undo_the_commit(db: Database) -> None:
    def broken() -> None:
        raise RuntimeError("a broken counter")  # logged

    def unit(conn: Connection) -> None:
        conn.execute(text("INSERT INTO units (name) VALUES ('kept')"))
        on_commit(conn, broken)

    asyncio.run(db.run(unit))
    assert stored(db) == {"kept"}


def test_write_calls_back_after_the_commit_and_not_after_a_roll_back(db: Database) -> None:
    units = Units()
    db.write(units.unit("kept"))
    with pytest.raises(ValueError, match="dropped fails"):
        db.write(units.unit("dropped", fail=True))
    assert units.called == {"kept": 1}
    assert stored(db) == {"kept"}


def test_a_read_has_no_commit_to_wait_for(db: Database) -> None:
    with pytest.raises(NoUnitOfWork):
        db.read(lambda conn: on_commit(conn, lambda: None))


def test_either_database_calls_back_after_each_commit_and_never_after_a_failure(
    make_database_url: Callable[[], str],
) -> None:
    """The same on PostgreSQL (a unit per transaction, several workers) as on SQLite."""
    db = Database(make_database_url())
    db.write(lambda c: c.execute(text("CREATE TABLE units (name TEXT PRIMARY KEY)")))
    units = Units()
    names = [f"u{i}" for i in range(12)]

    async def run_all() -> list[str | BaseException]:
        runs = (db.run(units.unit(name, fail=name == "u5")) for name in names)
        return await asyncio.gather(*runs, return_exceptions=True)

    try:
        results = asyncio.run(run_all())
        assert isinstance(results[5], ValueError)
        committed = set(names) - {"u5"}
        assert units.called == dict.fromkeys(committed, 1)
        assert stored(db) == committed
    finally:
        db.close()
