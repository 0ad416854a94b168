"""Slow and dead endpoints, refused targets, secret rotation, and logs without secrets."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from daemon.webhooks.transport import HttpAnswer, TargetRefused, WebhookClient
from tests.integration.webhooks.conftest import OLD_SECRET, SECRET, ShopFactory
from tests.support.receiver import Answer, always, webhook_receiver


@pytest.fixture
def db_kind() -> str:
    return "sqlite"  # delivery behaviour; the storage side runs on both in test_outbox.py


async def wait_for(condition: object, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


def test_a_hanging_receiver_times_out_and_is_retried(make_shop: ShopFactory) -> None:
    with webhook_receiver(SECRET, always(200, delay=5)) as store:
        shop = make_shop(store.url, timeout="1s")
        shop.order()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                assert await dispatcher.run_once() == 1

        asyncio.run(scenario())
        row = shop.deliveries()[0]
        assert (row.delivery_status, row.last_status_code) == ("retrying", None)
        assert row.last_error.startswith("timeout")


def test_a_dead_endpoint_never_holds_up_another(make_shop: ShopFactory) -> None:
    hanging = Answer(200, delay=30)
    with webhook_receiver(SECRET, lambda n, r: hanging) as dead, webhook_receiver(SECRET) as live:
        shop = make_shop(dead.url, timeout="20s", max_in_flight=8, max_in_flight_per_endpoint=2)
        for n in range(6):
            shop.order(f"dead-{n}")  # queued first, to the hanging store
        for n in range(4):
            shop.order(f"live-{n}", callback_url=live.url)

        async def scenario() -> None:
            stop = asyncio.Event()
            async with shop.dispatching() as dispatcher:
                running = asyncio.create_task(dispatcher.run(stop))
                await wait_for(lambda: live.completed == 4, "the live store's deliveries")
                # The live store was served in full while the dead one still holds its
                # first requests, and the dead one never had more than its cap at once.
                assert dead.completed == 0
                assert len(dead.received) == dead.max_concurrent == 2

                def live_delivered() -> bool:
                    rows = [r for r in shop.deliveries() if r.target_url == live.url]
                    return all(r.delivery_status == "delivered" for r in rows)

                await wait_for(live_delivered, "the live deliveries to be recorded")
                stop.set()
                await running

        asyncio.run(scenario())
        # Stopped: the two attempts cut off are given back (not counted, due again).
        stuck = [r for r in shop.deliveries() if r.target_url == dead.url]
        assert {(r.delivery_status, r.attempts, r.lease_owner) for r in stuck} == {
            ("pending", 0, None)
        }


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused(make_shop: ShopFactory) -> None:
    """DNS rebinding: public when the order was created, 127.0.0.1 when it is delivered."""
    with webhook_receiver(SECRET) as store:
        port = store.url.split(":")[2].split("/")[0]
        url = f"http://shop.example:{port}/hooks"
        shop = make_shop(None, allow_private=False)
        answers = {"shop.example": ["93.184.216.34"]}

        async def resolver(host: str, port: int) -> list[str]:
            return answers[host]

        async def scenario() -> None:
            await shop.container.orders.targets.check_resolved(url, resolver)  # accepted
            shop.order(callback_url=url)
            answers["shop.example"] = ["127.0.0.1"]
            async with shop.dispatching(resolver=resolver) as dispatcher:
                assert await dispatcher.run_once() == 1

        asyncio.run(scenario())
        row = shop.deliveries()[0]
        assert row.delivery_status == "retrying"
        assert "shop.example resolves to 127.0.0.1, a loopback address" in row.last_error
        assert store.received == []  # nothing was sent


@pytest.mark.parametrize("allow_private", [False, True])
def test_the_client_checks_the_system_resolvers_answer(allow_private: bool) -> None:
    with webhook_receiver(SECRET, host="localhost") as store:

        async def post() -> HttpAnswer:
            client = WebhookClient(timeout=5, allow_private=allow_private, max_connections=4)
            try:
                return await client.post(store.url, b"{}", {}, 100)
            finally:
                await client.aclose()

        if allow_private:
            assert asyncio.run(post()).status == 200
            return
        with pytest.raises(TargetRefused) as refused:
            asyncio.run(post())
        assert "localhost resolves to" in str(refused.value)
        assert store.received == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hooks", "http://[::1]:9/hooks"])
def test_the_client_refuses_private_ip_literals(url: str) -> None:
    async def post() -> HttpAnswer:
        client = WebhookClient(timeout=5, allow_private=False, max_connections=4)
        try:
            return await client.post(url, b"{}", {}, 100)
        finally:
            await client.aclose()

    with pytest.raises(TargetRefused, match="loopback"):
        asyncio.run(post())


def test_during_a_rotation_both_secrets_verify(make_shop: ShopFactory) -> None:
    with webhook_receiver([SECRET, OLD_SECRET]) as store:
        until = datetime.now(UTC) + timedelta(days=1)
        shop = make_shop(
            store.url, previous_secret=OLD_SECRET, previous_secret_until=until.isoformat()
        )
        shop.order()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                await dispatcher.run_once()

        asyncio.run(scenario())
        (request,) = store.received
        assert request.verified == (True, True)  # a store on either secret accepts it
        assert len(request.headers["webhook-signature"].split(" ")) == 2


def test_after_the_overlap_only_the_new_secret_signs(make_shop: ShopFactory) -> None:
    with webhook_receiver([SECRET, OLD_SECRET]) as store:
        ended = datetime.now(UTC) - timedelta(minutes=1)
        shop = make_shop(
            store.url, previous_secret=OLD_SECRET, previous_secret_until=ended.isoformat()
        )
        shop.order()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                await dispatcher.run_once()

        asyncio.run(scenario())
        (request,) = store.received
        assert request.verified == (True, False)
        with pytest.raises(WebhookVerificationError):
            Webhook(OLD_SECRET).verify(request.body, request.headers)


def test_the_secret_never_reaches_a_log(
    make_shop: ShopFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with webhook_receiver(SECRET, always(500)) as store:
        shop = make_shop(
            store.url, previous_secret=OLD_SECRET, previous_secret_until="2099-01-01T00:00:00Z"
        )
        shop.order()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                await dispatcher.run_once()
                logging.getLogger("test").info(
                    "config: %r dispatcher: %r", shop.container.config, dispatcher.sender.__dict__
                )

        asyncio.run(scenario())
    assert "attempt 1: HTTP 500" in caplog.text  # the failure was logged...
    signature = store.received[0].headers["webhook-signature"]
    for secret in (SECRET, OLD_SECRET):
        for part in (secret, secret.removeprefix("whsec_")):
            assert part not in caplog.text  # ...but no secret, in any form
    assert signature.split(" ")[0] not in caplog.text
