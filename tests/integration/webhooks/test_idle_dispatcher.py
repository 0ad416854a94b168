"""The running dispatcher sleeps when idle: its own claims are no news that wakes it,
while a commit made elsewhere in the daemon still does, at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from daemon.services.orders import NewOrder
from daemon.webhooks.claims import Claimed
from daemon.webhooks.outbox import Outbox
from tests.integration.webhooks.conftest import SECRET, ShopFactory
from tests.support.receiver import webhook_receiver


class CountingOutbox(Outbox):
    def __init__(self, owner: str, lease: Any) -> None:
        super().__init__(owner, lease)
        self.claims = 0

    def claim(
        self,
        conn: Connection,
        now: datetime,
        limit: int,
        per_endpoint: int,
        in_flight: Mapping[str, int],
        *,
        look_past: bool = True,
    ) -> list[Claimed]:
        self.claims += 1
        return super().claim(conn, now, limit, per_endpoint, in_flight, look_past=look_past)


async def until(check: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_an_idle_dispatcher_does_not_claim_on_its_own_commits(make_shop: ShopFactory) -> None:
    with webhook_receiver(SECRET) as store:
        shop = make_shop(store.url, poll_interval="60s")
        shop.order("A-1")
        db = shop.container.db

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                outbox = CountingOutbox(dispatcher.outbox.owner, dispatcher.outbox.lease)
                dispatcher.outbox = outbox
                db.add_commit_listener(dispatcher.wake)  # as the daemon wires it
                stop = asyncio.Event()
                running = asyncio.create_task(dispatcher.run(stop))
                try:
                    await until(lambda: len(store.received) == 1)
                    await dispatcher.drain()
                    await asyncio.sleep(0.2)  # the claim after the result was written
                    settled = outbox.claims
                    await asyncio.sleep(0.5)
                    # Each claim commits; waking on that kept it claiming ~100 times a second.
                    assert outbox.claims == settled
                    # Another task's commit (a new order's event) is still news, well before
                    # the 60 s poll.
                    order = NewOrder(order_id="A-2", chain="btc", asset="BTC", amount="0.01")
                    await db.run(
                        lambda conn: shop.container.orders.create(conn, order, shop.clock())
                    )
                    await until(lambda: len(store.received) == 2)
                finally:
                    stop.set()
                    await running
                    db.remove_commit_listener(dispatcher.wake)

        asyncio.run(scenario())
        assert [r.payload["data"]["order_id"] for r in store.received] == ["A-1", "A-2"]
