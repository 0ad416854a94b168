"""`paywatch run` as a service between a real anvil and a real store endpoint: an order
paid on chain reaches the store as a verified `order.paid`; a SIGTERM in the middle
of a burst exits 0 within seconds and loses nothing; SIGKILLs at random moments of a
stream of payments lose nothing, duplicate no webhook and count no payment twice.

The receiver checks every webhook with the ``standardwebhooks`` library. The kill
moments come from a seeded generator: the seed is printed (pytest shows it on failure)
and ``PAYWATCH_KILL_SEED`` replays it.

One daemon, one anvil and one store serve the module (each start of `paywatch run`
costs seconds on a busy machine); each test works with orders of its own and checks
only those.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.anvil import Anvil, anvil_available, anvil_node
from tests.support.configs import anvil_chain_yaml
from tests.support.postgres import free_port
from tests.support.receiver import Answer, Behaviour, Received, Receiver, webhook_receiver

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")

WEI = 10**18
STOP_SECONDS = 5.0  # SIGTERM to exit, at most
STORE_DELAY = 0.15  # the store answers after 0..this many seconds: deliveries overlap
HOLD_SECONDS = 8.0  # a store request held for longer than a stop may take


def service_config(inst: Installation, node: Anvil, store_url: str) -> str:
    """One EVM chain on anvil (WebSocket heads, HTTP calls, 1 confirmation), webhooks
    to the store, metrics on a port of their own."""
    return f"""
database_url: sqlite:///{inst.workdir / "paywatch.db"}
api: {{listen: "127.0.0.1:{inst.port}"}}
metrics: {{listen: "127.0.0.1:{free_port()}"}}
orders: {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0}}
{anvil_chain_yaml(node.url, ws_url=node.ws_url)}
{webhooks_yaml(store_url, timeout="10s", poll_interval="1s")}"""


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f}s waiting for {what}")
        time.sleep(0.1)


def jittery(seed: int, most: float) -> Behaviour:
    """A store that takes 0..``most`` seconds to answer 200."""
    rng = random.Random(seed)
    return lambda n, request: Answer(200, delay=rng.uniform(0, most))


def amount(i: int) -> str:
    """A distinct amount per order: 0.0101, 0.0102, ..."""
    return str(Decimal("0.01") + Decimal(i + 1) / 10_000)


def wei(value: str) -> int:
    return int(Decimal(value) * WEI)


@dataclass
class Parts:
    """The module's daemon (restartable), its chain, its store, and an API client."""

    inst: Installation
    node: Anvil
    store: Receiver
    client: httpx.Client


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parts]:
    inst = Installation(tmp_path_factory.mktemp("service"), free_port())
    try:
        with (
            anvil_node() as node,
            webhook_receiver(SECRET, jittery(7, STORE_DELAY)) as store,
        ):
            inst.config.write_text(service_config(inst, node, store.url))
            inst.start()  # `paywatch run` migrates the new database itself
            key = inst.cli_json("apikey", "create")["key"]
            auth = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=inst.base_url, headers=auth, timeout=10) as client:
                yield Parts(inst, node, store, client)
    finally:
        inst.stop_all()


@dataclass
class Service:
    """One test's view of the service: the orders it made and what it sent to each."""

    parts: Parts
    created: set[str] = field(default_factory=set)
    sent: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # (tx hash, wei)

    @property
    def store(self) -> Receiver:
        return self.parts.store

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.parts.inst.processes[-1]

    def log(self) -> str:
        return self.parts.inst.log()[-5000:]

    def create(self, order_id: str, amount: str) -> dict[str, Any]:
        body = {"order_id": order_id, "chain": "eth", "asset": "ETH", "amount": amount}
        answer = self.parts.client.post("/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        self.created.add(made["id"])
        return made

    def pay(self, order: dict[str, Any], wei: int) -> None:
        """Send ``wei`` to the order's address (anvil mines it at once)."""
        tx_hash = self.parts.node.send(order["address"], wei)
        self.sent.setdefault(order["id"], []).append((tx_hash, wei))

    def view(self, order_id: str) -> dict[str, Any]:
        answer = self.parts.client.get(f"/v1/orders/{order_id}")
        assert answer.status_code == 200, answer.text
        view: dict[str, Any] = answer.json()
        return view

    def restart(self) -> None:
        assert self.proc.poll() is not None, "the daemon is still running"
        self.parts.inst.start()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL

    def statuses(self, order_ids: Sequence[str]) -> dict[str, str]:
        return {order_id: self.view(order_id)["status"] for order_id in order_ids}

    def outbox_empty(self) -> bool:
        """No webhook left to send (none pending, none retrying)."""
        for status in ("pending", "retrying"):
            params = {"status": status}
            listed = self.parts.client.get("/v1/webhooks/deliveries", params=params)
            assert listed.status_code == 200, listed.text
            if listed.json()["data"]:
                return False
        return True

    def settle(self, paid: Sequence[dict[str, Any]], seconds: float = 45) -> None:
        """Wait until every paid order is `paid` and every webhook has been sent."""
        ids = [o["id"] for o in paid]
        try:
            wait_until(lambda: set(self.statuses(ids).values()) == {"paid"}, "paid", seconds)
            wait_until(self.outbox_empty, "the outbox to empty", seconds)
        except AssertionError as exc:
            late = {k: v for k, v in self.statuses(ids).items() if v != "paid"}
            raise AssertionError(f"{exc}; not paid: {late}\n{self.log()}") from None


@pytest.fixture
def service(parts: Parts) -> Service:
    """The module's service, running (a test before may have left it stopped)."""
    if parts.inst.processes[-1].poll() is not None:
        parts.inst.start()
    return Service(parts)


def paid_webhooks(store: Receiver) -> dict[str, list[Received]]:
    """The `order.paid` requests the store received, by order id."""
    found: dict[str, list[Received]] = {}
    for request in list(store.received):
        if request.type == "order.paid":
            found.setdefault(request.payload["data"]["id"], []).append(request)
    return found


def resent(svc: Service) -> int:
    """Requests about the test's orders that repeated a webhook-id already seen."""
    ids = [r.webhook_id for r in list(svc.store.received) if r.payload["data"]["id"] in svc.created]
    return len(ids) - len(set(ids))


def check(svc: Service, paid: Sequence[dict[str, Any]]) -> None:
    """Every webhook verified, and each event of the test's orders sent under one
    webhook-id (repeats byte for byte). Every paid order: `paid` in the API with exactly
    the transactions sent to it (none counted twice), and one `order.paid` event at the
    store that tells the order as paid. No other order of the test `paid` or told so,
    and each has received what was sent to it."""
    received = list(svc.store.received)
    unverified = [r.webhook_id for r in received if r.verified != (True,)]
    assert unverified == [], f"signatures that do not verify: {unverified}"
    problems: list[str] = []
    # Any event about the test's orders (its body: type, time, the order) is sent under
    # one webhook-id, and a webhook-id always carries the same event.
    ids_of: dict[bytes, set[str]] = {}
    bodies_of: dict[str, set[bytes]] = {}
    for r in received:
        if r.payload["data"]["id"] in svc.created:
            ids_of.setdefault(r.body, set()).add(r.webhook_id)
            bodies_of.setdefault(r.webhook_id, set()).add(r.body)
    problems += [f"one event under webhook-ids {sorted(i)}" for i in ids_of.values() if len(i) > 1]
    problems += [f"{i}: {len(b)} different bodies" for i, b in bodies_of.items() if len(b) > 1]
    by_order = paid_webhooks(svc.store)
    for order in paid:
        name = order["order_id"]
        view = svc.view(order["id"])
        sent = svc.sent[order["id"]]
        total = sum(value for _, value in sent)
        if (view["status"], view["received_base"]) != ("paid", total):
            problems.append(f"{name}: {view['status']}, received {view['received_base']}/{total}")
        payments = sorted((p["tx_hash"], p["amount_base"], p["status"]) for p in view["payments"])
        if payments != sorted((tx, value, "confirmed") for tx, value in sent):
            problems.append(f"{name}: payments {payments}, sent {sent}")
        hooks = by_order.get(order["id"], [])
        webhook_ids = {h.webhook_id for h in hooks}
        if len(webhook_ids) != 1:
            problems.append(f"{name}: order.paid under webhook-ids {sorted(webhook_ids)}")
            continue
        data = hooks[0].payload["data"]
        told = (data["id"], data["order_id"], data["status"], data["amount_base"])
        if told != (order["id"], name, "paid", order["amount_base"]):
            problems.append(f"{name}: order.paid tells {told}")
        if data["received_base"] != total:
            problems.append(f"{name}: order.paid tells {data['received_base']} received")
    paid_ids = {o["id"] for o in paid}
    for order_id in sorted(svc.created - paid_ids):
        if order_id in by_order:
            problems.append(f"{order_id}: order.paid, but it was not paid in full")
        view = svc.view(order_id)
        if view["status"] == "paid":
            problems.append(f"{order_id}: paid, but it was not paid in full")
        total = sum(value for _, value in svc.sent.get(order_id, []))
        if view["received_base"] != total:
            problems.append(f"{order_id}: received {view['received_base']}, sent {total}")
    assert problems == [], "\n".join(problems)


def test_an_order_paid_on_chain_reaches_the_store_as_a_verified_order_paid(
    service: Service,
) -> None:
    order = service.create("shop-1", "0.25")
    service.pay(order, wei("0.25"))
    wait_until(lambda: order["id"] in paid_webhooks(service.store), "order.paid at the store")
    [hook] = paid_webhooks(service.store)[order["id"]]
    assert hook.verified == (True,)
    data = hook.payload["data"]
    assert (data["id"], data["order_id"], data["status"]) == (order["id"], "shop-1", "paid")
    assert (data["amount"], data["received"]) == ("0.25", "0.25")
    assert data["amount_base"] == data["received_base"] == wei("0.25")
    assert service.view(order["id"])["status"] == "paid"


def test_sigterm_in_a_burst_exits_zero_within_seconds_and_loses_nothing(
    service: Service,
) -> None:
    orders = [service.create(f"burst-{i}", amount(i)) for i in range(40)]
    paid: list[str] = []
    errors: list[BaseException] = []

    def pay_all() -> None:
        try:
            for order in orders:
                service.pay(order, wei(order["amount"]))
                paid.append(order["id"])
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    # The store holds some requests far longer than a stop may take (until the SIGTERM).
    held: list[float] = []
    stopping = threading.Event()
    usual = service.store.behaviour

    def hold_some(n: int, request: Received) -> Answer:
        if n % 10 == 0 and not stopping.is_set():
            held.append(time.monotonic())
            return Answer(200, delay=HOLD_SECONDS)
        return usual(n, request)

    service.store.behaviour = hold_some
    payer = threading.Thread(target=pay_all, name="payer", daemon=True)
    payer.start()
    try:
        # The middle of the burst: half the payments on chain, webhooks in flight, one
        # of them held by the store for longer than the stop may take.
        store = service.store
        deadline = time.monotonic() + 60
        while not (
            len(paid) >= len(orders) // 2
            and held
            and time.monotonic() - held[-1] < HOLD_SECONDS - STOP_SECONDS
        ):
            assert time.monotonic() < deadline, f"no webhook held in the burst: {errors}"
            time.sleep(0.002)
        proc = service.proc
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stopping.set()
        on_chain, in_flight = len(paid), store.concurrent
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 30 s after SIGTERM:\n{service.log()}") from None
        took = time.monotonic() - signalled
    finally:
        service.store.behaviour = usual
        stopping.set()
    print(
        f"at SIGTERM: {on_chain}/{len(orders)} paid on chain, {in_flight} webhooks in flight "
        f"({len(held)} held); exit code {code} after {took:.2f}s"
    )
    assert code == 0, f"exit code {code} after SIGTERM:\n{service.log()}"
    assert took < STOP_SECONDS, f"exit {took:.1f}s after SIGTERM:\n{service.log()}"

    payer.join(60)
    assert not payer.is_alive(), "the payments did not finish"
    assert errors == []
    service.restart()
    service.settle(orders)
    check(service, orders)
    again = resent(service)
    print(f"webhooks sent again: {again}")
    assert again >= 1, "the deliveries held at the stop were not sent again"


def test_sigkill_at_random_moments_of_a_payment_stream_loses_and_repeats_nothing(
    service: Service,
) -> None:
    seed = int(os.environ.get("PAYWATCH_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"SIGKILL seed {seed} (PAYWATCH_KILL_SEED={seed} replays the kill moments)")
    rng = random.Random(seed)
    orders = [service.create(f"stream-{i}", amount(i)) for i in range(40)]
    for i in range(2):
        service.create(f"never-paid-{i}", "0.5")
    service.pay(service.create("underpaid", "0.5"), wei("0.2"))
    # The kill moments: after which payments, how long after (the daemon is then
    # somewhere between the new head, the block's commit and the webhooks it sends),
    # and how many payments land while it is down.
    kill_after = set(rng.sample(range(1, len(orders) - 1), 3))
    split = {i for i in range(len(orders)) if rng.random() < 0.2}  # paid in two parts
    down = kills = 0
    for i, order in enumerate(orders):
        due = wei(order["amount"])
        if i in split:
            service.pay(order, due // 3)
            time.sleep(rng.uniform(0, 0.1))
            service.pay(order, due - due // 3)
        else:
            service.pay(order, due)
        if down:
            down -= 1
            if not down:
                service.restart()
        elif i in kill_after:
            time.sleep(rng.uniform(0, 0.3))
            service.kill()
            kills += 1
            down = rng.choice([0, 0, 1, 2])  # payments to make before the restart
            if not down:
                service.restart()
        else:
            time.sleep(rng.uniform(0, 0.1))
    if down:
        service.restart()
    print(f"killed {kills} times, after payments {sorted(kill_after)}; split: {sorted(split)}")
    assert kills >= 2
    service.settle(orders)
    check(service, orders)
    print(f"webhooks sent again: {resent(service)}")
