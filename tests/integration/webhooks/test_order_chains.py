"""An order's events are claimed together and sent one after another in one slot
(daemon/webhooks/claims.py): the store still sees each order's events in order, the next
only once the one before was answered 2xx, and one not delivered stops the rest."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from tests.integration.webhooks.conftest import SECRET, ShopFactory
from tests.support.receiver import Answer, Received, webhook_receiver

SEED = 2022


SLACK = 0.003  # a timer may fire up to a millisecond early (uvloop counts in ms)


class Ordering:
    """A store that answers each request after a random pause (seeded, 10 to 30 ms) and
    notes every request that arrived before the store had answered its order's previous
    event (sent at once, the next one would arrive within a millisecond or two)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.answered_by: dict[str, float] = {}  # order id -> when its last answer goes
        self.seen: dict[str, list[str]] = {}
        self.too_early: list[str] = []

    def __call__(self, n: int, request: Received) -> Answer:
        order = str(request.payload["data"]["id"])
        delay = self.rng.uniform(0.01, 0.03)
        now = time.monotonic()
        with self.lock:
            early = self.answered_by.get(order, 0.0) - now
            if early > SLACK:
                self.too_early.append(f"{order} {request.type} {early * 1000:.1f} ms early")
            self.seen.setdefault(order, []).append(request.type)
            self.answered_by[order] = now + delay
        return Answer(200, delay=delay)


def test_each_orders_events_reach_the_store_in_order_one_answer_after_another(
    make_shop: ShopFactory,
) -> None:
    print(f"seed {SEED}")
    store = Ordering(SEED)
    with webhook_receiver(SECRET, store) as receiver:
        shop = make_shop(receiver.url, max_in_flight_per_endpoint=4)
        for n in range(12):
            shop.cancel(shop.order(f"chain-{n}"))

        async def scenario() -> int:
            async with shop.dispatching() as dispatcher:
                return await dispatcher.run_once()

        claimed = asyncio.run(scenario())
    # One claim sent both events of each order it took: the second went in the first's
    # slot, without a claim of its own.
    assert claimed == 12  # every order, each with its follower
    rows = shop.deliveries()
    assert [r.delivery_status for r in rows] == ["delivered"] * 24
    assert store.too_early == []
    assert all(seen == ["order.created", "order.cancelled"] for seen in store.seen.values())
    assert len(store.seen) == 12
    assert {(r.attempts, r.lease_owner) for r in rows if r.delivery_status == "delivered"} == {
        (1, None)
    }


@pytest.mark.parametrize("status", [500, 410])
def test_an_event_not_delivered_stops_its_order_and_its_followers_are_not_counted(
    make_shop: ShopFactory, status: int
) -> None:
    def created_fails_once(n: int, request: Received) -> Answer:
        first = n == 1 and request.type == "order.created"
        return Answer(status) if first else Answer(200)

    with webhook_receiver(SECRET, created_fails_once) as receiver:
        shop = make_shop(receiver.url)
        shop.cancel(shop.order())
        _created, cancelled = shop.deliveries()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                assert await dispatcher.run_once() == 1
                assert [r.type for r in receiver.received] == ["order.created"]
                given_back = shop.delivery(cancelled.id)
                assert (given_back.delivery_status, given_back.attempts) == ("pending", 0)
                assert given_back.lease_owner is None
                assert shop.attempts(cancelled.id) == []
                shop.clock.advance(hours=1)
                while await dispatcher.run_once():
                    pass

        asyncio.run(scenario())
    received = [r.type for r in receiver.received]
    if status == 500:  # retried, delivered, and only then the order's next event
        assert received == ["order.created", "order.created", "order.cancelled"]
    else:  # gone: not retried; the next event goes on its own claim
        assert received == ["order.created", "order.cancelled"]
    assert shop.delivery(cancelled.id).attempts == 1
