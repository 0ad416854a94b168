from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.storage.migrations import upgrade
from tests.conftest import DbFactory
from tests.support.clock import ManualClock
from tests.support.configs import config_yaml

ContainerFactory = Callable[..., Container]


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop per test, so sources (and their sockets) live across awaits."""
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture
def make_container(make_database_url: DbFactory) -> Iterator[ContainerFactory]:
    """Containers on fresh, migrated databases of the parametrized kind; closed afterwards."""
    built: list[Container] = []

    def make(
        *,
        clock: ManualClock | None = None,
        extra: str = "",
        url: str | None = None,
        api: str = "",
    ) -> Container:
        config = parse_config(config_yaml(url or make_database_url(), extra=extra, api=api))
        container = build(config, clock=clock or ManualClock())
        upgrade(container.db.engine)
        built.append(container)
        return container

    yield make
    for container in built:
        container.close()
