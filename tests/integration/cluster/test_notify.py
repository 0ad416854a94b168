"""Wake-ups across instances on one PostgreSQL (LISTEN/NOTIFY): an event written by
one instance is delivered by another's dispatcher at once, not at its next poll; a
Tatum notification verified by one instance nudges the watcher another runs; a lost
listening connection comes back and wakes everyone once.

Each instance is a whole daemon (``serve``) in a thread of the test process, on one
database. Dispatchers and watchers poll only every 30 s here, so news within a few
seconds came through a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, text

from daemon.cluster.leases import chain_lease
from daemon.cluster.notify import APP_NAME, Listener, announce_nudge
from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.services.orders import NewOrder
from daemon.storage.database import Database
from daemon.storage.migrations import upgrade
from tests.conftest import DbFactory
from tests.integration.conftest import ContainerFactory
from tests.integration.tatum.conftest import API_KEY, evm_gateway
from tests.integration.tatum.daemon import (
    create_order,
    eventually,
    get_order,
    subscribed,
    tatum_yaml,
)
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.anvil import anvil_available, anvil_node, free_port
from tests.support.configs import config_yaml
from tests.support.receiver import Receiver, webhook_receiver
from tests.support.server import RunningApi, running_api
from tests.support.tatum_standin import tatum_standin

pytestmark = pytest.mark.postgres

POLL_SECONDS = 30
FAST = POLL_SECONDS / 6  # well before any poll: a notification did it
ROUNDS = 20  # events whose wake-up latency is measured
ETH_LEASE = chain_lease("eth")


@pytest.fixture
def db_kind() -> str:
    return "postgresql"


def instance(url: str, extra: str, *, migrate: bool = False) -> Container:
    container = build(parse_config(config_yaml(url, extra=extra)))
    if migrate:
        upgrade(container.db.engine)
    return container


def listeners(container: Container) -> set[int]:
    """The backends of the instances' listening connections that are listening."""
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE application_name = :name"
        " AND datname = current_database() AND query IN ('LISTEN paywatch_nudge', 'SELECT 1')"
    )
    found = container.db.read(lambda c: list(c.execute(query, {"name": APP_NAME}).scalars()))
    return {int(pid) for pid in found}


def both_listening(container: Container) -> set[int] | None:
    pids = listeners(container)
    return pids if len(pids) == 2 else None


def terminate(container: Container, pids: set[int]) -> None:
    query = text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid")
    container.db.write(lambda c: c.execute(query, {"pids": sorted(pids)}))


def new_order(api: RunningApi, callback_url: str, ref: str) -> float:
    """Create an order through ``api`` (its order.created event is committed by this
    instance); the moment the request was answered."""
    body = {
        "order_id": ref,
        "chain": "btc",
        "asset": "BTC",
        "amount": "0.01",
        "callback_url": callback_url,
    }
    created = httpx.post(f"{api.base_url}/v1/orders", json=body, headers=api.auth, timeout=10)
    assert created.status_code == 201, created.text
    return time.monotonic()


def delivered_after(receiver: Receiver, count: int, since: float) -> float:
    """Seconds from ``since`` until the receiver has had ``count`` webhooks."""
    deadline = since + POLL_SECONDS - 5
    while len(receiver.received) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"webhook {count} not delivered within {POLL_SECONDS - 5}s")
        time.sleep(0.002)
    return time.monotonic() - since


@contextlib.contextmanager
def two_instances(url: str, receiver: Receiver) -> Iterator[tuple[RunningApi, RunningApi]]:
    """A (webhook delivery off: no secret) and B (delivering, polling every 30 s)."""
    off = "metrics: {enabled: false}\n"
    writer = instance(url, off + "webhooks: {allow_private_targets: true}\n", migrate=True)
    deliverer = instance(url, off + webhooks_yaml(None, poll_interval=f"{POLL_SECONDS}s"))
    with (
        contextlib.closing(writer),
        contextlib.closing(deliverer),
        running_api(writer) as a,
        running_api(deliverer) as b,
    ):
        eventually(lambda: both_listening(writer), 10, "both instances to listen")
        yield a, b


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms over {len(ordered)}"
    )


def test_an_event_written_by_one_instance_is_delivered_by_another_at_once(
    make_database_url: DbFactory,
) -> None:
    with (
        webhook_receiver(SECRET) as receiver,
        two_instances(make_database_url(), receiver) as (
            a,
            _,
        ),
    ):
        latencies = []
        for n in range(ROUNDS):
            answered = new_order(a, receiver.url, f"wake-{n}")
            latencies.append(delivered_after(receiver, n + 1, answered))
        print(f"\nwake-up latency, event committed by A -> delivered by B: {summary(latencies)}")
        assert [r.type for r in receiver.received] == ["order.created"] * ROUNDS
        assert all(all(r.verified) for r in receiver.received)
        assert max(latencies) < FAST, summary(latencies)


def test_a_lost_listening_connection_comes_back_and_wakes_its_dispatcher(
    make_database_url: DbFactory,
) -> None:
    with (
        webhook_receiver(SECRET) as receiver,
        two_instances(make_database_url(), receiver) as (
            a,
            b,
        ),
    ):
        before = listeners(b.container)
        terminate(b.container, before)
        # Written while nobody listens: its notification is lost; B's listener wakes
        # its dispatcher once it is back.
        answered = new_order(a, receiver.url, "while-away")
        missed = delivered_after(receiver, 1, answered)
        print(f"\nan event written while the listeners were down: delivered after {missed:.2f}s")
        assert missed < FAST
        after = eventually(lambda: both_listening(b.container), 10, "both to listen again")
        assert not after & before
        latencies = []
        for n in range(5):
            answered = new_order(a, receiver.url, f"after-{n}")
            latencies.append(delivered_after(receiver, n + 2, answered))
        print(f"wake-up latency after the reconnect: {summary(latencies)}")
        assert max(latencies) < FAST, summary(latencies)


def test_nudges_reach_every_listener_with_their_chain_and_transaction(
    make_database_url: DbFactory,
) -> None:
    url = make_database_url()
    heard: list[tuple[str | None, str | None]] = []
    tx_id = "ab" * 32

    async def main() -> float:
        db = Database(url)
        listener = Listener(db.url)
        listener.add_nudge_listener(lambda chain, tx: heard.append((chain, tx)))
        stop = asyncio.Event()
        (task,) = listener.start(stop)
        try:
            await asyncio.wait_for(listener.connected.wait(), 10)
            assert heard == [(None, None)]  # every chain once, on (re)connect
            await announce_nudge(db, "ltc", tx_id)
            await announce_nudge(db, "eth")
            for _ in range(500):
                if len(heard) == 3:
                    break
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            began = time.monotonic()
            await asyncio.wait_for(task, 5)
            db.close()
        return time.monotonic() - began

    stopped_in = asyncio.run(main())
    assert heard == [(None, None), ("ltc", tx_id), ("eth", None)]
    assert stopped_in < 1.0  # well inside the daemon's stop grace


def test_events_wake_listeners_once_per_commit_and_never_for_a_rollback(
    make_container: ContainerFactory,
) -> None:
    container = make_container()
    db = container.db
    woke: list[str] = []

    def create_and_cancel(ref: str, *, fail: bool = False) -> Callable[[Connection], None]:
        def work(conn: Connection) -> None:
            request = NewOrder(order_id=ref, chain="btc", asset="BTC", amount="0.01")
            view = container.orders.create(conn, request, container.clock()).view
            container.orders.cancel(conn, view["id"], container.clock())  # a second event
            if fail:
                raise RuntimeError("rolled back")

        return work

    async def main() -> None:
        listener = Listener(db.url)
        listener.add_event_listener(lambda: woke.append("events"))
        listener.add_nudge_listener(lambda chain, _: woke.append(f"nudge {chain}"))
        stop = asyncio.Event()
        (task,) = listener.start(stop)
        try:
            await asyncio.wait_for(listener.connected.wait(), 10)
            woke.clear()
            await db.run(create_and_cancel("kept"))
            with pytest.raises(RuntimeError):
                await db.run(create_and_cancel("doomed", fail=True))
            await db.run(lambda conn: None)  # a commit without events
            # Notifications arrive in commit order: once the marker is here, every
            # notification sent before it is too.
            await announce_nudge(db, "marker")
            for _ in range(500):
                if "nudge marker" in woke:
                    break
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert woke == ["events", "nudge marker"]


@dataclasses.dataclass
class Stamps:
    times: list[float] = dataclasses.field(default_factory=list)

    def wrap(self, call: Callable[[], None]) -> Callable[[], None]:
        def stamped() -> None:
            self.times.append(time.monotonic())
            call()

        return stamped


def test_a_tatum_notification_to_one_instance_nudges_the_watcher_another_runs(
    make_database_url: DbFactory,
) -> None:
    if not anvil_available():
        pytest.skip("anvil missing: ./dev setup")
    url = make_database_url()
    with tatum_standin(API_KEY) as standin, anvil_node("--chain-id", "1") as anvil:
        gateway = evm_gateway(standin, anvil)
        port_a, port_b = free_port(), free_port()
        # One config for both (Tatum notifies A's URL), each on its own API port.
        config = "metrics: {enabled: false}\n" + tatum_yaml(
            url,
            standin,
            port=port_a,
            eth=gateway,
            poll=f"{POLL_SECONDS}s",
            start_heights={"eth": anvil.height()},
        )
        a = build(parse_config(config))
        upgrade(a.db.engine)
        own = f'listen: "127.0.0.1:{port_a}"'
        b = build(parse_config(config.replace(own, f'listen: "127.0.0.1:{port_b}"')))
        at_a, at_b = Stamps(), Stamps()
        hints = a.tatum_hints
        assert hints is not None
        hints.chains["eth"] = dataclasses.replace(
            hints.chains["eth"], nudge=at_a.wrap(hints.chains["eth"].nudge)
        )
        watcher = b.watchers["eth"]
        watcher.nudge = at_b.wrap(watcher.nudge)  # type: ignore[method-assign]
        # B starts first and leads the chain; A, started after, follows: it verifies the
        # notifications Tatum sends it and nudges its own watcher, which waits.
        with contextlib.ExitStack() as running:
            running.enter_context(contextlib.closing(a))
            running.enter_context(contextlib.closing(b))
            running.enter_context(running_api(b))
            eventually(lambda: b.cluster.holds(ETH_LEASE), 20, "B to lead eth")
            api_a = running.enter_context(running_api(a))
            eventually(lambda: both_listening(a), 10, "both instances to listen")
            order = create_order(api_a, "eth", "ETH", "0.5", "nudged")
            eventually(lambda: subscribed(standin, order["address"]), what="subscribed")
            time.sleep(1.5)  # B's watcher's first rounds are over: it only polls now
            at_a.times.clear()
            at_b.times.clear()
            paid_at = time.monotonic()
            anvil.send(order["address"], 5 * 10**17)
            view: dict[str, Any] = eventually(
                lambda: (v := get_order(api_a, order["id"]))["status"] == "paid" and v,
                timeout=POLL_SECONDS - 5,
                what="the order to be paid",
            )
            took = time.monotonic() - paid_at
            assert view["received_confirmed"] == "0.5"
            assert at_a.times, "A's hint desk did not nudge"
            assert at_b.times, "B's watcher was not nudged"
            assert b.cluster.holds(ETH_LEASE)
            assert not a.cluster.holds(ETH_LEASE)
            hop = at_b.times[0] - at_a.times[0]
            print(
                f"\nnotification verified by A -> B's watcher nudged: {hop * 1000:.1f} ms;"
                f" paid {took:.2f}s after the payment was sent"
            )
            assert took < FAST, f"paid after {took:.1f}s: not through the nudge"
            assert 0 <= hop < FAST
