"""Node failover through the real watcher engine, timed.

Two endpoints [A, B], each a :class:`~tests.support.rpc_proxy.RpcProxy` in front of one
anvil that mines a block every second (so a frozen head differs from a quiet chain);
poll interval 1 s, 1 confirmation. A goes wrong, an order is paid, and the time from
the payment's inclusion (seen by the test on the node directly, polled every 10 ms) to
the watcher committing it is measured and printed. The bound is two poll intervals
plus SLACK: 0.5 s for the round's own work (the head probes, the batch of blocks, the
SQLite commit: ~50 ms here) and the scheduling of three processes on two shared cores.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from daemon.runtime.container import Container
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.sources import build_source
from tests.integration.evm.watching import order, state
from tests.support.anvil import Anvil, anvil_node
from tests.support.keys import ETH_XPUB
from tests.support.rpc_proxy import RpcProxy
from tests.support.watching import temp_container

ETHER = 10**18
POLL = 1.0
SLACK = 0.5
BOUND = 2 * POLL + SLACK
# The watcher runs this long before A goes wrong: more than five block times, so what
# each endpoint showed at the start is old by then (a pool that judged B by its head
# from its last probe, up to 30 s before, took it for stale and waited: 15-30 s).
WARM_UP = 6.0


def config(database_url: str, urls: list[str], poll: float, ws_url: str | None) -> str:
    ws = f', ws_url: "{ws_url}"' if ws_url else ""
    return f"""
database_url: {database_url}
api: {{listen: "127.0.0.1:0"}}
orders: {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0}}
chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: 1
    block_time: 1s
    native: {{symbol: ETH, decimals: 18}}
    backend: {{urls: [{", ".join(f'"{u}"' for u in urls)}], poll_interval: {poll:g}s{ws}}}
"""


class Running:
    """``ChainWatcher.run`` on its own event loop in a thread; notes when it credits."""

    def __init__(self, container: Container, poll: float) -> None:
        source = build_source("eth", container.config.chains["eth"])
        assert source is not None
        self.credited = threading.Event()
        self.credited_at = 0.0
        self.watcher = ChainWatcher(
            chain="eth",
            source=source,
            db=container.db,
            changes=container.orders.changes,
            clock=container.clock,
            settings=WatcherSettings(poll_interval=poll, batch_size=20),
            on_credit=self._credit,
        )
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _credit(self, chain: str, asset: str, count: int) -> None:
        if not self.credited.is_set():
            self.credited_at = time.monotonic()
            self.credited.set()

    def _main(self) -> None:
        async def go() -> None:
            self._stop = asyncio.Event()
            try:
                await self.watcher.run(self._stop)
            finally:
                await self.watcher.source.aclose()

        self._loop.run_until_complete(go())
        self._loop.close()

    def synced(self) -> None:
        deadline = time.monotonic() + 20
        while self.watcher.status.last_sync_at is None:
            assert time.monotonic() < deadline, "the watcher never synced"
            time.sleep(0.02)

    def close(self) -> None:
        stop = self._stop
        if stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)


@dataclass
class Rig:
    anvil: Anvil
    a: RpcProxy
    b: RpcProxy
    container: Container
    running: Running
    order: Mapping[str, object]

    def pay(self) -> float:
        """Pay the order; the moment the test sees the payment in a block."""
        tx = self.anvil.send(str(self.order["address"]), ETHER, wait=False)
        self.anvil.receipt(tx, wait=10)
        return time.monotonic()

    def seen_after(self, since: float, what: str) -> float:
        assert self.running.credited.wait(15), f"{what}: the payment was never seen"
        took = self.running.credited_at - since
        print(f"\n{what}: payment seen after {took:.2f} s")
        return took

    def preferred(self) -> str:
        (used,) = [h.url for h in self.running.watcher.source.health() if h.extra.get("preferred")]
        return used

    def check_money(self) -> None:
        """What the watcher recorded is what the node says the address holds."""
        self.running.close()
        on_chain = self.anvil.balance(str(self.order["address"]))
        status, _, received = state(self.container, str(self.order["id"]))
        assert (status, received) == ("paid", on_chain)


@contextmanager
def rig(
    *,
    poll: float = POLL,
    ws: bool = False,
    before: Callable[[RpcProxy, RpcProxy], None] | None = None,
) -> Iterator[Rig]:
    with anvil_node("--block-time", "1") as anvil:
        a, b = RpcProxy(anvil.url), RpcProxy(anvil.url)
        try:
            if before is not None:
                before(a, b)
            ws_url = anvil.ws_url if ws else None
            text = lambda url: config(url, [a.url, b.url], poll, ws_url)  # noqa: E731
            with temp_container(text) as container:
                paid = order(container, "eth", "ETH", "1", "failover")
                running = Running(container, poll)
                try:
                    running.synced()
                    yield Rig(anvil, a, b, container, running, paid)
                finally:
                    running.close()
        finally:
            a.close()
            b.close()


def switches(caplog: pytest.LogCaptureFixture, url: str) -> int:
    return sum(1 for r in caplog.records if f"using {url} instead of" in r.getMessage())


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("refused", "ConnectError"),
        ("502", "HTTP 502"),
        ("frozen", "lagging"),
        ("lagging", "lagging"),
        ("slow", "slow|no head within"),  # slow, then its probe times out
    ],
)
def test_a_failing_first_endpoint_is_left_within_two_polls(
    mode: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chains.endpoints")
    with rig() as r:
        time.sleep(WARM_UP)
        assert r.preferred() == r.a.url
        r.a.set(mode)  # type: ignore[arg-type]
        took = r.seen_after(r.pay(), f"A {mode}")
        assert took <= BOUND
        assert r.preferred() == r.b.url
        (health_a, health_b) = r.running.watcher.source.health()
        assert not health_a.healthy
        assert re.search(reason, str(health_a.error))
        assert health_b.healthy
        time.sleep(2 * POLL)  # a few more rounds on B: the switch is logged once
        assert switches(caplog, r.b.url) == 1
        r.check_money()


def test_a_recovered_endpoint_is_used_again_at_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="chains.endpoints")
    with rig(before=lambda a, b: b.set("refused")) as r:
        time.sleep(2 * POLL)
        assert not r.running.watcher.source.health()[1].healthy
        r.b.set("ok")
        time.sleep(1.5 * POLL)  # B answers again (one round or two), and is healthy
        assert r.running.watcher.source.health()[1].healthy
        r.a.set("refused")
        took = r.seen_after(r.pay(), "B back, then A refused")
        assert took <= BOUND
        assert r.preferred() == r.b.url
        r.check_money()


def test_watching_resumes_within_two_polls_after_every_endpoint_was_down() -> None:
    with rig() as r:
        r.a.set("refused")
        r.b.set("refused")
        r.pay()  # mined while nothing answers
        time.sleep(20)
        assert not r.running.credited.is_set()
        r.b.set("ok")
        back = time.monotonic()
        took = r.seen_after(back, "both down 20 s, then B back")
        assert took <= BOUND
        r.check_money()


def test_with_a_websocket_head_feed_failover_takes_under_two_seconds() -> None:
    # Poll 5 s, but the node's newHeads (directly, not through A) wakes the watcher.
    with rig(poll=5.0, ws=True) as r:
        time.sleep(WARM_UP)  # subscribed long since
        r.a.set("frozen")
        took = r.seen_after(r.pay(), "A frozen, WebSocket up, poll 5 s")
        assert took <= 2.0 + SLACK
        assert r.preferred() == r.b.url
        r.check_money()
