"""Shared fixtures: factories that clean up after themselves."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.anvil import Anvil, anvil_available, anvil_node
from tests.support.postgres import postgres_cluster

DbFactory = Callable[[], str]
_counter = itertools.count()


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    """A fresh anvil (chain id 31337); the test skips where anvil is missing, but fails
    under CI (see :func:`tests.support.anvil.anvil_available`)."""
    if not anvil_available():
        pytest.skip("anvil missing: ./dev setup")
    with anvil_node() as node:
        yield node


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_database_url(
    db_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[DbFactory]:
    """A factory of empty databases of the parametrized kind, dropped afterwards."""
    created: list[str] = []
    admin_url = request.getfixturevalue("postgres_server") if db_kind == "postgresql" else ""

    def make() -> str:
        n = next(_counter)
        if db_kind == "sqlite":
            return f"sqlite:///{tmp_path / f'paywatch-{n}.db'}"
        name = f"paywatch_test_{n}"
        engine = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        created.append(name)
        return f"{admin_url}/{name}"

    yield make
    if created:
        engine = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
