"""With ``ws_url``, newHeads is the trigger and polling a slow safety net (real anvil).

Two watchers (``ChainWatcher.run``, each on its own event loop in a thread, each with
its own SQLite database) follow one anvil that mines a block every second, each
through its own counting JSON-RPC proxy, both polling every 0.25 s; one also has the
node's WebSocket, through a TCP relay the test can cut. Over the same blocks the
JSON-RPC calls each asks are counted and printed per block.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

import pytest

from chains.evm.source import EvmSource
from daemon.runtime.container import Container
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.sources import build_source
from tests.integration.evm.watching import order, state
from tests.support.anvil import Anvil, anvil_available, anvil_node
from tests.support.keys import ETH_XPUB
from tests.support.rpc_proxy import HEAD, RpcProxy
from tests.support.tcp_relay import TcpRelay
from tests.support.watching import temp_container

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")

ETHER = 10**18
POLL = 0.25  # the watcher's poll interval (a config's durations are whole seconds)
BLOCKS = 8  # counted over
SLACK = 0.5  # a round's own work and three processes on two shared cores


def config(database_url: str, url: str, ws_url: str | None) -> str:
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
    backend: {{urls: ["{url}"], poll_interval: 1s{ws}}}
"""


class Running:
    """``ChainWatcher.run`` on its own event loop in a thread; notes each credit."""

    def __init__(self, container: Container) -> None:
        source = build_source("eth", container.config.chains["eth"])
        assert source is not None
        self.credits = 0
        self.credited_at: list[float] = []
        self.watcher = ChainWatcher(
            chain="eth",
            source=source,
            db=container.db,
            changes=container.orders.changes,
            clock=container.clock,
            settings=WatcherSettings(poll_interval=POLL, batch_size=20),
            on_credit=lambda chain, asset, count: self.credited_at.append(time.monotonic()),
        )
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        async def go() -> None:
            self._stop = asyncio.Event()
            try:
                await self.watcher.run(self._stop)
            finally:
                await self.watcher.source.aclose()

        self._loop.run_until_complete(go())
        self._loop.close()

    def until(self, what: str, done: Callable[[], bool], seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, f"never: {what}"
            time.sleep(0.02)

    def synced(self) -> bool:
        return self.watcher.status.last_sync_at is not None

    def seen_after(self, anvil: Anvil, address: str, what: str) -> float:
        """Pay ``address``; seconds from its block (as the test sees it) to the credit."""
        before = len(self.credited_at)
        tx = anvil.send(address, ETHER, wait=False)
        anvil.receipt(tx, wait=10)
        included = time.monotonic()
        self.until(f"{what}: the payment seen", lambda: len(self.credited_at) > before, 15)
        took = self.credited_at[before] - included
        print(f"{what}: payment seen {took * 1000:.0f} ms after its block")
        return took

    def close(self) -> None:
        stop = self._stop
        if stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)


def per_block(calls: Counter[str], blocks: int) -> str:
    return f"{sum(calls.values()) / blocks:.2f} calls/block ({HEAD}: {calls[HEAD] / blocks:.2f})"


def test_new_heads_trigger_rounds_polling_is_a_safety_net_and_a_dropped_socket_polls() -> None:
    with anvil_node("--block-time", "1") as anvil:
        polled, headed, relay = RpcProxy(anvil.url), RpcProxy(anvil.url), TcpRelay(anvil.port)
        try:
            with (
                temp_container(lambda db: config(db, polled.url, None)) as c_polled,
                temp_container(lambda db: config(db, headed.url, relay.ws_url)) as c_headed,
            ):
                orders: list[Mapping[str, object]] = [
                    order(c_headed, "eth", "ETH", "1", f"ws-{i}") for i in range(2)
                ]
                polling, heads = Running(c_polled), Running(c_headed)
                try:
                    check(anvil, polled, headed, relay, polling, heads, orders)
                finally:
                    polling.close()
                    heads.close()
                for paid in orders:
                    on_chain = anvil.balance(str(paid["address"]))
                    assert state(c_headed, str(paid["id"]))[::2] == ("paid", on_chain)
        finally:
            polled.close()
            headed.close()
            relay.close()


def check(
    anvil: Anvil,
    polled: RpcProxy,
    headed: RpcProxy,
    relay: TcpRelay,
    polling: Running,
    heads: Running,
    orders: list[Mapping[str, object]],
) -> None:
    source = heads.watcher.source
    assert isinstance(source, EvmSource)
    assert source.newheads is not None
    newheads = source.newheads
    for running in (polling, heads):
        running.until("synced", running.synced)
    heads.until("two heads announced", lambda: newheads.heads_seen >= 2)

    # The socket healthy: one round per announced block (its head asked over HTTP, the
    # block fetched over HTTP), against polling's rounds every 0.25 s.
    polled.take_calls()
    headed.take_calls()
    first = anvil.height()
    heads.until(f"{BLOCKS} blocks", lambda: anvil.height() >= first + BLOCKS)
    blocks = anvil.height() - first
    with_ws, without = headed.take_calls(), polled.take_calls()
    print(f"\nover {blocks} blocks (1 s), polling every {POLL:g} s:")
    print(f"  without a WebSocket: {per_block(without, blocks)}  {dict(without)}")
    print(f"  with a WebSocket:    {per_block(with_ws, blocks)}  {dict(with_ws)}")
    assert sum(with_ws.values()) <= sum(without.values())
    assert with_ws[HEAD] <= 1.5 * blocks  # not a poll every 0.25 s
    assert with_ws["eth_getBlockByNumber"] >= blocks - 1  # every block fetched over HTTP
    took = heads.seen_after(anvil, str(orders[0]["address"]), "WebSocket healthy")
    assert took <= 1.0 + SLACK  # the head, not a safety poll (3 s), woke it

    # The socket drops: polling every 0.25 s at once (about 12 heads asked in 3 s).
    relay.cut()
    heads.until("the drop noticed", lambda: not newheads.connected, 10)
    headed.take_calls()
    time.sleep(3.0)
    asked = headed.take_calls()[HEAD]
    print(f"socket cut: {asked} heads asked in 3 s (polling every {POLL:g} s)")
    assert asked >= 6
    took = heads.seen_after(anvil, str(orders[1]["address"]), "WebSocket cut")
    assert took <= 2 * POLL + 2 * SLACK  # within a poll interval or two
