"""A store that goes down and comes back: probed at most once per probe interval while
down, its whole backlog delivered within seconds of its first 2xx, each order's events
in order, none lost; a store that is down or hangs never delays another store."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from daemon.cli.main import cli
from daemon.storage.tables import orders
from daemon.webhooks.endpoints import endpoint_views
from daemon.webhooks.retry_policy import MAX_ATTEMPTS, SCHEDULE
from daemon.webhooks.targets import endpoint_of
from tests.integration.webhooks.conftest import SECRET, Shop, ShopFactory, webhooks_yaml
from tests.support.configs import config_yaml
from tests.support.receiver import Answer, Received, always, webhook_receiver

PROBE = timedelta(seconds=30)


@dataclass
class Hit:
    at: datetime  # the daemon's clock when the request came in
    wall: float  # time.monotonic() then
    webhook_id: str
    type: str
    order: str
    status: int


@dataclass
class Outage:
    """A store that answers ``down`` (503) until ``up`` is set, then 200; it notes when
    each request came, on the daemon's clock and on the monotonic one."""

    clock: Callable[[], datetime] = datetime.now
    down: Answer = field(default_factory=lambda: Answer(503))
    up: bool = False
    up_at: float | None = None  # monotonic time it came back
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def recover(self) -> None:
        self.up, self.up_at = True, time.monotonic()

    def __call__(self, n: int, request: Received) -> Answer:
        answer = Answer(200) if self.up else self.down
        order = str(request.payload["data"]["id"])
        hit = Hit(
            self.clock(), time.monotonic(), request.webhook_id, request.type, order, answer.status
        )
        with self.lock:
            self.hits.append(hit)
        return answer

    def delivered(self) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.status == 200]


@asynccontextmanager
async def dispatcher_running(shop: Shop) -> AsyncIterator[None]:
    """The shop's dispatcher running on its own while the block runs, woken by each
    commit as the daemon wires it; stopped (and awaited) afterwards."""
    stop = asyncio.Event()
    async with shop.dispatching() as dispatcher:
        shop.container.db.add_commit_listener(dispatcher.wake)
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            yield
        finally:
            stop.set()
            await running
            shop.container.db.remove_commit_listener(dispatcher.wake)


def check_order_and_completeness(shop: Shop, store: Outage) -> None:
    """Every event delivered exactly as stored, none lost; an order's events arrived in
    the order they were written, each only after the one before it was answered 2xx."""
    rows = shop.deliveries()
    assert {r.delivery_status for r in rows} == {"delivered"}
    assert {h.webhook_id for h in store.delivered()} == {r.id for r in rows}
    written: dict[int, list[str]] = {}
    for row in rows:  # by seq: the order they were written in
        written.setdefault(row.order_seq, []).append(row.id)
    first_200: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for i, hit in enumerate(store.hits):
        first_seen.setdefault(hit.webhook_id, i)
        if hit.status == 200:
            first_200.setdefault(hit.webhook_id, i)
    for ids in written.values():
        for earlier, later in itertools.pairwise(ids):
            assert first_200[earlier] < first_seen[later], "an order's events out of order"


def outage_hits(store: Outage, after: datetime) -> list[datetime]:
    """When the store was asked while down, after the first round (the attempts already
    under way when it went down)."""
    return sorted(h.at for h in store.hits if h.status != 200 and h.at > after)


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_a_ten_minute_outage_then_the_backlog_within_30s(make_shop: ShopFactory) -> None:
    store = Outage()
    with webhook_receiver(SECRET, store) as receiver:
        shop = make_shop(receiver.url, max_in_flight_per_endpoint=2)
        store.clock = shop.clock
        start = shop.clock()
        for n in range(6):
            shop.cancel(shop.order(f"O-{n}"))  # order.created, then order.cancelled
        # Up again 1 s after a probe failed: the worst case, the next probe is 29 s away.
        recover_at = start + timedelta(minutes=10, seconds=1)
        done_at = None

        async def scenario() -> None:
            nonlocal done_at
            async with shop.dispatching() as dispatcher:
                while shop.clock() < start + timedelta(minutes=12):
                    now = shop.clock()
                    if now == start + timedelta(minutes=5):
                        for n in range(3):  # written during the outage, never attempted yet
                            shop.order(f"late-{n}")
                    if now >= recover_at and not store.up:
                        store.recover()
                    while await dispatcher.run_once():
                        pass  # whatever came due meanwhile (an order's next event)
                    if store.up and all(
                        r.delivery_status == "delivered" for r in shop.deliveries()
                    ):
                        done_at = shop.clock()
                        return
                    shop.clock.advance(seconds=1)

        asyncio.run(scenario())
        assert done_at is not None, "the backlog was not delivered"
        backlog = len(shop.deliveries())
        took = (done_at - recover_at).total_seconds()
        print(f"10 min outage: backlog of {backlog} delivered {took:.0f} s after recovery")
        assert took <= PROBE.total_seconds()
        # While down: the first round (the attempts started before the first failure was
        # known: two, the cap), then one request per 30 s at most.
        first_round = [h for h in store.hits if h.at == start]
        print(f"10 min outage: {len(first_round)} requests at first")
        assert len(first_round) <= 2 * 2
        probes = outage_hits(store, start)
        gaps = [b - a for a, b in zip([start, *probes], probes, strict=False)]
        print(f"10 min outage: {len(probes)} probes, closest {min(gaps).total_seconds():.0f} s")
        assert min(gaps) >= PROBE
        assert 15 <= len(probes) <= 20
        check_order_and_completeness(shop, store)
        # Lifetimes: the probes did not use up the deliveries' attempts. Each delivery's
        # count is its attempts on its own schedule (at most: at once, after ~5 s and
        # ~5 min, then the one after recovery); the early probes are logged apart.
        early = 0
        for row in shop.deliveries():
            logged = shop.attempts(row.id)
            counted = [a for a in logged if a.outcome != "probe"]
            early += len(logged) - len(counted)
            assert row.attempts == len(counted) <= 4
        print(f"10 min outage: {early} early probes (not counted)")
        # Written at 5 min: not charged for the time they waited (their first attempt,
        # whenever it came, is their attempt 1).
        late = [r for r in shop.deliveries() if r.order_seq > 6]
        assert len(late) == 3
        assert all(shop.attempts(r.id)[0].attempt == 1 for r in late)
        # The backlog went at once, within the per-endpoint cap.
        assert receiver.max_concurrent <= 2


@pytest.mark.parametrize("db_kind", ["sqlite"])  # real time: once is enough
def test_a_thirty_second_outage_in_real_time(make_shop: ShopFactory) -> None:
    """The measured case of the issue: 503 for 30 s, then up (it used to take 325 s)."""
    store = Outage()
    with webhook_receiver(SECRET, store) as receiver:
        shop = make_shop(receiver.url, running=True)
        store.clock = shop.clock

        async def scenario() -> None:
            async with dispatcher_running(shop):
                for n in range(4):
                    await shop.order_async(f"R-{n}", cancel=True)
                deadline = time.monotonic() + 80
                while not store.hits:
                    await asyncio.sleep(0.05)
                first_failure = store.hits[0].wall
                while time.monotonic() < first_failure + 30:
                    await asyncio.sleep(0.05)
                store.recover()
                while len(store.delivered()) < 8:
                    assert time.monotonic() < deadline, "the backlog was not delivered"
                    await asyncio.sleep(0.05)

        asyncio.run(scenario())
        assert store.up_at is not None
        took = max(h.wall for h in store.delivered()) - store.up_at
        print(f"30 s outage: backlog of 8 delivered {took:.1f} s after recovery")
        assert took <= PROBE.total_seconds() + 2  # the next probe, and the backlog at once
        down = [h.wall for h in store.hits if h.status != 200]
        first = [w for w in down if w - down[0] < 10]  # the first round, before it failed
        probes = down[len(first) :]
        gaps = [b - a for a, b in zip(down[len(first) - 1 :], probes, strict=False)]
        print(f"30 s outage: {len(first)} at first, then probes {[round(g, 1) for g in gaps]} s")
        assert all(g >= PROBE.total_seconds() - 0.5 for g in gaps)
        check_order_and_completeness(shop, store)


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("trouble", ["down", "hanging"])
def test_a_store_down_or_hanging_never_delays_another(make_shop: ShopFactory, trouble: str) -> None:
    answer = Answer(503) if trouble == "down" else Answer(200, delay=30)
    arrived: dict[str, float] = {}

    def live_store(n: int, request: Received) -> Answer:
        arrived[request.webhook_id] = time.monotonic()
        return Answer(200)

    with (
        webhook_receiver(SECRET, lambda n, r: answer) as troubled,
        webhook_receiver(SECRET, live_store) as live,
    ):
        shop = make_shop(troubled.url, running=True, timeout="2s")
        written: dict[str, float] = {}

        async def scenario() -> None:
            async with dispatcher_running(shop):
                for n in range(15):  # over ~6 s: the troubled store fails meanwhile
                    await shop.order_async(f"T-{n}")
                    started = time.monotonic()
                    order = await shop.order_async(f"L-{n}", callback_url=live.url)
                    written[order["id"]] = started
                    await asyncio.sleep(0.4)
                deadline = time.monotonic() + 20
                while len(arrived) < 15:
                    assert time.monotonic() < deadline, "the live store's webhooks"
                    await asyncio.sleep(0.02)

        asyncio.run(scenario())
        order_of_event = {r.id: r.order_seq for r in shop.deliveries()}
        order_id = dict(
            shop.container.db.read(
                lambda conn: conn.execute(select(orders.c.seq, orders.c.id)).all()
            )
        )
        latencies = [at - written[order_id[order_of_event[e]]] for e, at in arrived.items()]
        print(
            f"beside a {trouble} store: the live store's {len(latencies)} webhooks after "
            f"median {statistics.median(latencies) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms; the {trouble} store got "
            f"{len(troubled.received)} requests"
        )
        assert max(latencies) < 1.5  # no probe spacing, no timeout in the way
        assert len(troubled.received) <= 8 + 1  # the first round, then one probe at most


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_the_state_survives_a_restart_and_one_probe_goes_among_dispatchers(
    make_shop: ShopFactory,
) -> None:
    with webhook_receiver(SECRET, always(503)) as store:
        shop = make_shop(store.url)
        for n in range(3):
            shop.order(f"S-{n}")

        async def scenario() -> None:
            async with shop.dispatching() as first:
                assert await first.run_once() == 3  # all fail: the endpoint is failing
            # A restart, two instances: nothing goes before the probe is due...
            async with shop.dispatching() as one, shop.dispatching() as two:
                shop.clock.advance(seconds=29)
                assert await one.run_once() == 0
                assert await two.run_once() == 0
                # ...and when it is, one of them sends it, the other nothing.
                shop.clock.advance(seconds=1)
                claimed = await asyncio.gather(one.run_once(), two.run_once())
                assert sorted(claimed) == [0, 1]

        asyncio.run(scenario())
        assert len(store.received) == 3 + 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_delivery_probed_for_days_dead_letters_after_its_schedule(
    make_shop: ShopFactory,
) -> None:
    """Lifetime rule: only attempts at or after a delivery's own next time count; it
    dead-letters after its tenth, about three days on, however many probes it served."""
    with webhook_receiver(SECRET, always(503)) as store:
        shop = make_shop(store.url, probe_interval="10m")
        shop.order()
        event = shop.deliveries()[0].id
        start = shop.clock()

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                while shop.delivery(event).delivery_status != "dead":
                    await dispatcher.run_once()
                    shop.clock.advance(minutes=10)
                    assert shop.clock() < start + timedelta(days=5)

        asyncio.run(scenario())
        row = shop.delivery(event)
        logged = shop.attempts(event)
        counted = [a for a in logged if a.outcome != "probe"]
        assert (row.attempts, len(counted)) == (MAX_ATTEMPTS, MAX_ATTEMPTS)
        assert len(logged) > 3 * MAX_ATTEMPTS  # many probes, none counted
        life = counted[-1].attempted_at - start
        total = sum(SCHEDULE, timedelta())
        print(f"probed {len(logged) - len(counted)} times; dead after {life}")
        # The schedule with its jitter, each step late by up to one probe interval.
        assert total * 0.8 <= life <= total * 1.2 + MAX_ATTEMPTS * timedelta(minutes=10)


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_one_event_the_store_refuses_does_not_make_it_failing(make_shop: ShopFactory) -> None:
    def refuses_created(n: int, request: Received) -> Answer:
        return Answer(500) if request.payload["data"]["order_id"] == "bad" else Answer(200)

    with webhook_receiver(SECRET, refuses_created) as store:
        shop = make_shop(store.url)
        shop.order("bad")

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                assert await dispatcher.run_once() == 1
                shop.clock.advance(seconds=10)
                assert await dispatcher.run_once() == 1  # its own retry, at ~5 s
                shop.order("good")  # not held up by a probe: sent at once
                assert await dispatcher.run_once() == 1

        asyncio.run(scenario())
        views = shop.container.db.read(lambda conn: endpoint_views(conn, shop.clock()))
        assert [v["state"] for v in views] == ["healthy"]
        assert store.received[-1].payload["data"]["order_id"] == "good"


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_cli_lists_each_endpoint_with_its_state(make_shop: ShopFactory, tmp_path: Path) -> None:
    with (
        webhook_receiver(SECRET, always(503, headers={"Retry-After": "120"})) as down,
        webhook_receiver(SECRET) as up,
    ):
        shop = make_shop(down.url)
        shop.order("D-1")
        shop.order("D-2")
        shop.order("U-1", callback_url=up.url)

        async def scenario() -> None:
            async with shop.dispatching() as dispatcher:
                assert await dispatcher.run_once() == 3

        asyncio.run(scenario())
        config = tmp_path / "config.yaml"
        url = shop.container.config.database_url
        config.write_text(config_yaml(url, extra=webhooks_yaml(down.url)))
        runner = CliRunner()
        listed = runner.invoke(cli, ["--config", str(config), "webhook", "endpoints", "--json"])
        assert listed.exit_code == 0, listed.output
        views = {v["endpoint"]: v for v in json.loads(listed.stdout)["data"]}
        failing, healthy = views[endpoint_of(down.url)], views[endpoint_of(up.url)]
        assert failing["state"] == "failing"
        assert failing["failing_since"] == "2026-01-01T12:00:00Z"
        assert (failing["waiting"], failing["last_status_code"]) == (2, 503)
        assert failing["last_success_at"] is None
        # Retry-After: 120 stretches the probe spacing (30 s) to two minutes.
        assert failing["next_probe_at"] == "2026-01-01T12:02:00Z"
        assert healthy["state"] == "healthy"
        assert (healthy["waiting"], healthy["last_success_at"]) == (0, "2026-01-01T12:00:00Z")
        assert healthy["next_probe_at"] is None
        text = runner.invoke(cli, ["--config", str(config), "webhook", "endpoints"])
        assert text.exit_code == 0, text.output
        assert "failing since 2026-01-01T12:00:00Z" in text.stdout
        assert "2 (2 due)" in text.stdout  # the CLI reads the real clock: long due
