"""Fresh databases for benchmark runs: SQLite files in a temporary folder, or databases
on a throwaway PostgreSQL cluster (tests/support/postgres.py), one per run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from tests.support.postgres import postgres_cluster

KINDS = ("sqlite", "postgresql")


@contextmanager
def databases(kind: str) -> Iterator[Iterator[str]]:
    """Fresh database URLs of ``kind``, one per run."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="paywatch-bench-") as tmp:
            yield (f"sqlite:///{tmp}/bench-{n}.db" for n in range(1000))
        return
    with postgres_cluster() as server:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")

        def fresh() -> Iterator[str]:
            for n in range(1000):
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "bench_{n}"'))
                yield f"{server}/bench_{n}"

        try:
            yield fresh()
        finally:
            admin.dispose()
