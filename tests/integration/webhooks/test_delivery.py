"""Deliveries to real HTTP receivers on loopback; the retry schedule on a manual clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from daemon.webhooks.retry_policy import MAX_ATTEMPTS, SCHEDULE
from tests.integration.webhooks.conftest import SECRET, ShopFactory
from tests.support.receiver import Answer, Received, always, fail_times, webhook_receiver


def test_every_event_arrives_signed_verifiable_and_byte_exact(make_shop: ShopFactory) -> None:
    with webhook_receiver(SECRET) as default, webhook_receiver(SECRET) as own:
        shop = make_shop(default.url)
        first = shop.order("A-1")
        second = shop.order("A-2", callback_url=own.url)
        shop.cancel(first)

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                while await dispatcher.run_once():
                    pass

        asyncio.run(scenario())
        rows = {row.id: row for row in shop.deliveries()}
        assert len(rows) == 3
        assert {r.delivery_status for r in rows.values()} == {"delivered"}
        # The default URL got order A-1's two events, in order; A-2's went to its own URL.
        assert [r.type for r in default.received] == ["order.created", "order.cancelled"]
        assert [r.payload["data"]["id"] for r in own.received] == [second["id"]]
        for request in default.received + own.received:
            assert request.verified == (True,)  # standardwebhooks' Webhook.verify accepted it
            row = rows[request.webhook_id]  # webhook-id is the event's id
            assert request.body == row.payload.encode()  # the stored body, byte for byte
            assert request.headers["webhook-signature"].startswith("v1,")
            assert request.headers["content-type"] == "application/json"
            assert request.payload["type"] == row.type
            attempts = shop.attempts(row.id)
            assert [(a.attempt, a.status_code, a.outcome) for a in attempts] == [
                (1, 200, "delivered")
            ]
            assert attempts[0].response_excerpt == "ok"


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_retries_follow_the_schedule_on_a_manual_clock(make_shop: ShopFactory) -> None:
    # 500 to one delivery only: the store is up (a 503, or a second delivery failing,
    # would make the endpoint failing and probed instead: see test_endpoint_health.py).
    with webhook_receiver(SECRET, fail_times(3, status=500)) as store:
        shop = make_shop(store.url)
        shop.order()
        event = shop.deliveries()[0].id

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                for n in (1, 2, 3):
                    assert await dispatcher.run_once() == 1
                    row = shop.delivery(event)
                    assert (row.delivery_status, row.attempts) == ("retrying", n)
                    wait = row.next_attempt_at - shop.clock()
                    assert SCHEDULE[n] * 0.8 <= wait <= SCHEDULE[n] * 1.2
                    # Not due yet: nothing is sent before the scheduled time...
                    shop.clock.now = row.next_attempt_at - timedelta(seconds=1)
                    assert await dispatcher.run_once() == 0
                    # ...and at that time it is.
                    shop.clock.now = row.next_attempt_at
                assert await dispatcher.run_once() == 1

        asyncio.run(scenario())
        row = shop.delivery(event)
        assert row.delivery_status == "delivered"
        assert [(a.status_code, a.outcome) for a in shop.attempts(event)] == [
            (500, "retrying"),
            (500, "retrying"),
            (500, "retrying"),
            (200, "delivered"),
        ]
        assert shop.attempts(event)[0].error == "HTTP 500"
        assert set(store.ids()) == {event}  # the same webhook-id on every attempt


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_dead_letter_after_the_last_attempt_then_the_next_event_goes(
    make_shop: ShopFactory,
) -> None:
    def created_fails(n: int, request: Received) -> Answer:
        return Answer(500) if request.type == "order.created" else Answer(200)

    with webhook_receiver(SECRET, created_fails) as store:
        shop = make_shop(store.url)
        order = shop.order()
        shop.cancel(order)
        created, cancelled = (row.id for row in shop.deliveries())
        start = shop.clock()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                for _ in range(MAX_ATTEMPTS):
                    assert await dispatcher.run_once() == 1
                    assert shop.delivery(cancelled).attempts == 0  # held behind the first
                    due = shop.delivery(created).next_attempt_at
                    if due is not None:
                        shop.clock.now = due
                # Dead-lettered: it no longer holds up the order's next event.
                assert await dispatcher.run_once() == 1

        asyncio.run(scenario())
        dead = shop.delivery(created)
        assert (dead.delivery_status, dead.attempts, dead.next_attempt_at) == ("dead", 10, None)
        assert shop.delivery(cancelled).delivery_status == "delivered"
        assert [r.type for r in store.received] == ["order.created"] * 10 + ["order.cancelled"]
        # About three days in all: the sum of the schedule, each wait within its jitter.
        last = shop.attempts(created)[-1].attempted_at
        assert sum(SCHEDULE, timedelta()) * 0.8 <= last - start <= sum(SCHEDULE, timedelta()) * 1.2
        assert timedelta(days=2.4) < last - start < timedelta(days=3.8)


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_later_event_waits_while_an_earlier_one_is_retried(make_shop: ShopFactory) -> None:
    with webhook_receiver(SECRET, fail_times(1)) as store:
        shop = make_shop(store.url)
        shop.cancel(shop.order())

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                assert await dispatcher.run_once() == 1  # order.created fails once
                assert [r.type for r in store.received] == ["order.created"]
                shop.clock.advance(hours=1)
                # The 503 made the endpoint failing: order.created goes again as its
                # probe, alone (a probe carries no followers); only then order.cancelled.
                assert await dispatcher.run_once() == 1
                assert await dispatcher.run_once() == 1
                assert await dispatcher.run_once() == 0

        asyncio.run(scenario())
        assert [r.type for r in store.received] == [
            "order.created",
            "order.created",
            "order.cancelled",
        ]


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(
    ("answer", "at_least"),
    [
        (Answer(429, {"Retry-After": "7200"}), timedelta(hours=2)),
        (Answer(503, {"Retry-After": "Wed, 01 Jan 2026 15:00:00 GMT"}), timedelta(hours=3)),
    ],
)
def test_retry_after_is_honoured(
    make_shop: ShopFactory, answer: Answer, at_least: timedelta
) -> None:
    with webhook_receiver(SECRET, lambda n, r: answer) as store:
        shop = make_shop(store.url)
        shop.order()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                await dispatcher.run_once()

        asyncio.run(scenario())
        row = shop.deliveries()[0]
        assert row.delivery_status == "retrying"
        # The clock reads 2026-01-01 12:00 UTC: both answers mean "not before" 2 or 3 hours.
        assert row.next_attempt_at - shop.clock() >= at_least
        assert row.last_status_code == answer.status


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_410_means_the_endpoint_is_gone_and_nothing_is_retried(make_shop: ShopFactory) -> None:
    with webhook_receiver(SECRET, always(410)) as store:
        shop = make_shop(store.url)
        shop.order()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                assert await dispatcher.run_once() == 1
                shop.clock.advance(days=4)
                assert await dispatcher.run_once() == 0

        asyncio.run(scenario())
        row = shop.deliveries()[0]
        assert (row.delivery_status, row.next_attempt_at, row.attempts) == ("gone", None, 1)
        assert len(store.received) == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_redirects_are_not_followed(make_shop: ShopFactory) -> None:
    with webhook_receiver(SECRET) as elsewhere:
        moved = Answer(307, {"Location": elsewhere.url})
        with webhook_receiver(SECRET, lambda n, r: moved) as store:
            shop = make_shop(store.url)
            shop.order()

            async def scenario() -> None:
                async with shop.dispatching() as dispatcher:
                    await dispatcher.run_once()

            asyncio.run(scenario())
        row = shop.deliveries()[0]
        assert (row.delivery_status, row.last_status_code) == ("retrying", 307)
        assert "redirect" in row.last_error
        assert elsewhere.received == []
