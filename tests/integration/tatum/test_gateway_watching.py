"""The same watcher through Tatum's RPC gateway (the stand-in passing JSON-RPC to anvil and
litecoind): payments, a constant number of calls per block, and 429 bursts."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from chains.bitcoin.source import BitcoinSource
from daemon.storage.tables import chain_blocks
from daemon.watching.engine import ChainWatcher
from tests.integration.evm.watching import events_of, order, state
from tests.integration.tatum.conftest import evm_gateway, ltc_gateway
from tests.integration.tatum.daemon import eventually, tatum_container
from tests.support.anvil import ACCOUNTS, Anvil, call_data, load_artifact
from tests.support.litecoind import Litecoind
from tests.support.single import address_of
from tests.support.tatum_standin import TatumStandin
from tests.support.watching import chain_watcher

ETHER = 10**18


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def calls_since(standin: TatumStandin, start: int) -> int:
    return sum(len(c.methods) for c in standin.gateway_log[start:])


def test_eth_and_usdc_orders_are_paid_through_the_gateway(
    standin: TatumStandin, anvil: Anvil, loop: asyncio.AbstractEventLoop
) -> None:
    token = anvil.deploy(load_artifact("TestToken"))
    anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
    gateway = evm_gateway(standin, anvil)
    with tatum_container(standin, eth=gateway, token=token) as c:
        watcher = chain_watcher(c, "eth", start_height=anvil.height(), batch_size=20)
        loop.run_until_complete(watcher.sync_once())
        eth = order(c, "eth", "ETH", "0.25", "eth")
        usdc = order(c, "eth", "USDC", "12.5", "usdc")
        anvil.send(address_of(eth), ETHER // 4)
        anvil.send(
            token, 0, data=call_data("transfer(address,uint256)", usdc["address"], 12_500_000)
        )
        loop.run_until_complete(watcher.sync_once())
        assert state(c, eth["id"]) == ("paid", "none", ETHER // 4)
        assert state(c, usdc["id"]) == ("paid", "none", 12_500_000)
        assert all(call.status == 200 for call in standin.gateway_log)
        loop.run_until_complete(watcher.source.aclose())


def test_the_calls_per_block_do_not_grow_with_blocks_or_orders(
    standin: TatumStandin, anvil: Anvil, loop: asyncio.AbstractEventLoop
) -> None:
    """Each call costs the merchant credits: catching up must cost the same per block
    whether 5 or 100 orders are open, and a long catch-up no more per block than a short."""
    gateway = evm_gateway(standin, anvil)
    with tatum_container(standin, eth=gateway) as c:
        watcher = chain_watcher(c, "eth", start_height=anvil.height(), batch_size=50)
        loop.run_until_complete(watcher.sync_once())
        per_block = []
        for orders_open, blocks in ((5, 20), (100, 100)):
            for n in range(orders_open):
                order(c, "eth", "ETH", "1", f"o{blocks}-{n}")
            anvil.mine(blocks)
            start = len(standin.gateway_log)
            loop.run_until_complete(watcher.sync_once())
            per_block.append(calls_since(standin, start) / blocks)
        loop.run_until_complete(watcher.source.aclose())
    print(f"\nJSON-RPC calls per block through the gateway: {per_block}")
    # A block and its traces (anvil has trace_block), plus a few calls per round.
    assert per_block[1] <= per_block[0]
    assert per_block[1] <= 2.1


def test_a_429_burst_slows_the_watcher_down_without_losing_a_block(
    standin: TatumStandin, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    with tatum_container(standin, eth=gateway, poll="1s") as c:
        watcher = chain_watcher(c, "eth", start_height=anvil.height(), poll_interval=1.0)
        stop, runner = run_in_thread(watcher)
        try:
            eventually(lambda: watcher.status.report(c.clock())["in_sync"], what="in sync")
            orders = [order(c, "eth", "ETH", "1", f"burst-{n}") for n in range(3)]
            standin.rate_limit(12)  # no Retry-After: the client's own backoff
            burst = len(standin.gateway_log)
            for o in orders:
                anvil.send(address_of(o), ETHER)  # a block each
                anvil.mine(2)
            eventually(
                lambda: all(state(c, o["id"])[0] == "paid" for o in orders),
                timeout=60,
                what="every order paid after the burst",
            )
        finally:
            stop()
            runner.join(15)
        limited = [call for call in standin.gateway_log[burst:] if call.status == 429]
        assert len(limited) == 12
        gaps = [b.at - a.at for a, b in itertools.pairwise(limited)]
        assert max(gaps) >= 1.0  # it backed off instead of hammering
        assert (limited[-1].at - limited[0].at) / len(limited) > 0.3
        tip = anvil.height()
        heights = c.db.read(
            lambda conn: [h for (h,) in conn.execute(select(chain_blocks.c.height))]
        )
        first = min(heights)
        assert sorted(heights) == list(range(first, tip + 1))  # no block skipped


def run_in_thread(watcher: ChainWatcher) -> tuple[Callable[[], None], threading.Thread]:
    """``watcher.run`` on a loop of its own; returns a function that stops it."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def main() -> None:
        try:
            loop.run_until_complete(watcher.run(stop))
            loop.run_until_complete(watcher.source.aclose())
        finally:
            loop.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()

    def stopper() -> None:
        loop.call_soon_threadsafe(stop.set)

    return stopper, thread


def test_an_ltc_order_goes_through_the_mempool_to_paid_through_the_gateway(
    standin: TatumStandin, litecoind: Litecoind, loop: asyncio.AbstractEventLoop
) -> None:
    """Fetching every mempool transaction through Tatum would cost credits for each: only
    those a notification named are fetched; the rest count from their block."""
    gateway = ltc_gateway(standin, litecoind)
    with tatum_container(standin, ltc=gateway) as c:
        watcher = chain_watcher(c, "ltc", start_height=litecoind.height())
        assert isinstance(watcher.source, BitcoinSource)
        loop.run_until_complete(watcher.sync_once())
        o = order(c, "ltc", "LTC", "0.3", "ltc")
        txid = litecoind.send(address_of(o), Decimal("0.3"))
        litecoind.send(litecoind.new_address(), Decimal("0.1"))  # someone else's
        start = len(standin.gateway_log)
        loop.run_until_complete(watcher.sync_once())
        assert state(c, o["id"])[0] == "pending"
        fetched = [m for call in standin.gateway_log[start:] for m in call.methods]
        assert "getrawtransaction" not in fetched
        watcher.source.hint(txid)  # what a verified notification does
        start = len(standin.gateway_log)
        loop.run_until_complete(watcher.sync_once())
        assert state(c, o["id"]) == ("processing", "none", 30_000_000)
        fetched = [m for call in standin.gateway_log[start:] for m in call.methods]
        assert fetched.count("getrawtransaction") == 1
        litecoind.mine(1)
        loop.run_until_complete(watcher.sync_once())
        assert state(c, o["id"]) == ("paid", "none", 30_000_000)
        loop.run_until_complete(watcher.source.aclose())


def test_a_reorg_seen_through_the_gateway_reverses_only_the_vanished_payment(
    standin: TatumStandin, anvil: Anvil, loop: asyncio.AbstractEventLoop
) -> None:
    gateway = evm_gateway(standin, anvil)
    with tatum_container(standin, eth=gateway) as c:
        watcher = chain_watcher(c, "eth", start_height=anvil.height())
        loop.run_until_complete(watcher.sync_once())
        dropped = order(c, "eth", "ETH", "1", "dropped")
        moved = order(c, "eth", "ETH", "1", "moved")
        tx = anvil.send(address_of(moved), ETHER)
        anvil.send(address_of(dropped), ETHER)
        anvil.mine(2)
        loop.run_until_complete(watcher.sync_once())
        assert state(c, dropped["id"])[0] == "paid"
        raw = anvil.rpc("eth_getRawTransactionByHash", tx)
        anvil.rpc("anvil_reorg", 4, [[raw, 2]])  # the same transaction, two blocks later
        anvil.mine(2)
        loop.run_until_complete(watcher.sync_once())
        assert state(c, dropped["id"]) == ("pending", "none", 0)
        assert events_of(c, dropped["id"])[-1] == "order.payment_reversed"
        assert state(c, moved["id"]) == ("paid", "none", ETHER)
        loop.run_until_complete(watcher.source.aclose())
