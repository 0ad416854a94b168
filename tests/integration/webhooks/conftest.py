"""Webhook tests: an order service and a dispatcher on a fresh database, a manual clock."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from daemon.runtime.container import Container
from daemon.services.order_shape import Order
from daemon.services.orders import NewOrder
from daemon.storage.tables import events, webhook_attempts
from daemon.webhooks.dispatcher import Dispatcher
from daemon.webhooks.runner import build_dispatcher
from daemon.webhooks.targets import Resolver
from tests.integration.conftest import ContainerFactory
from tests.support.clock import ManualClock

SECRET = "whsec_" + "Y2F0cyBhcmUgZnVubnkgYW5pbWFscywgZG9ncyB0b28h"  # 32 bytes
OLD_SECRET = "whsec_" + "b2xkIHNlY3JldCB0aGF0IHdhcyB1c2VkIGJlZm9yZSE="  # 32 bytes


def webhooks_yaml(url: str | None, *, allow_private: bool = True, **keys: Any) -> str:
    lines = ["webhooks:", f"  secret: {SECRET}", f"  allow_private_targets: {allow_private}"]
    if url is not None:
        lines.append(f"  url: {url}")
    lines += [f"  {key}: {value}" for key, value in {"timeout": "2s", **keys}.items()]
    return "\n".join(lines) + "\n"


class RunningClock(ManualClock):
    """A manual clock that also runs: real time passes on it (for the dispatcher's own
    loop), and ``advance`` still jumps it."""

    def __init__(self) -> None:
        super().__init__()
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._started)


@dataclass
class Shop:
    """Orders and their webhooks on one database, with the clock in the test's hand."""

    container: Container
    clock: ManualClock

    def order(self, order_id: str = "A-1", callback_url: str | None = None) -> Order:
        request = NewOrder(
            order_id=order_id, chain="btc", asset="BTC", amount="0.01", callback_url=callback_url
        )
        c = self.container
        return c.db.write(lambda conn: c.orders.create(conn, request, self.clock())).view

    async def order_async(
        self, order_id: str, callback_url: str | None = None, *, cancel: bool = False
    ) -> Order:
        """An order written the daemon's way (its commit wakes a listening dispatcher)."""
        request = NewOrder(
            order_id=order_id, chain="btc", asset="BTC", amount="0.01", callback_url=callback_url
        )
        c = self.container
        view = (await c.db.run(lambda conn: c.orders.create(conn, request, self.clock()))).view
        if cancel:
            await c.db.run(lambda conn: c.orders.cancel(conn, view["id"], self.clock()))
        return view

    def cancel(self, order: Order) -> None:
        c = self.container
        c.db.write(lambda conn: c.orders.cancel(conn, order["id"], self.clock()))

    @contextlib.asynccontextmanager
    async def dispatching(self, resolver: Resolver | None = None) -> AsyncIterator[Dispatcher]:
        """A dispatcher built as the daemon builds it; its HTTP client closed afterwards."""
        c = self.container
        dispatcher, close = build_dispatcher(c.config.webhooks, c.db, self.clock, resolver=resolver)
        try:
            yield dispatcher
        finally:
            await dispatcher.drain()
            await close()

    def deliveries(self) -> Sequence[Any]:
        return self.container.db.read(
            lambda conn: conn.execute(select(events).order_by(events.c.seq)).all()
        )

    def delivery(self, event_id: str) -> Any:
        return next(d for d in self.deliveries() if d.id == event_id)

    def attempts(self, event_id: str) -> Sequence[Any]:
        row = self.delivery(event_id)
        return self.container.db.read(
            lambda conn: conn.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.event_seq == row.seq)
                .order_by(webhook_attempts.c.seq)
            ).all()
        )


ShopFactory = Callable[..., Shop]


@pytest.fixture
def make_shop(make_container: ContainerFactory) -> ShopFactory:
    """Shops whose default webhook URL is ``url`` (extra webhooks keys as keywords)."""

    def make(
        url: str | None, *, allow_private: bool = True, running: bool = False, **keys: Any
    ) -> Shop:
        clock = RunningClock() if running else ManualClock()
        extra = webhooks_yaml(url, allow_private=allow_private, **keys)
        return Shop(make_container(clock=clock, extra=extra), clock)

    return make
