"""The daemon's watcher on anvil: orders for ETH, USDC and POL from pending to paid."""

from __future__ import annotations

import asyncio

from daemon.watching.engine import ChainWatcher
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import events_of, evm_container, order, state, watcher
from tests.support.anvil import Anvil, anvil_node, call_data

ETHER = 10**18
USDC = 10**6


def sync(loop: asyncio.AbstractEventLoop, *watchers: ChainWatcher) -> None:
    for w in watchers:
        loop.run_until_complete(w.sync_once())


def test_eth_usdc_and_pol_orders_go_from_pending_to_paid(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    with (
        anvil_node("--chain-id", "137") as polygon,
        evm_container(anvil.url, contracts.token, polygon.url) as c,
    ):
        eth = watcher(c, "eth", anvil.height())
        pol = watcher(c, "polygon", polygon.height())
        sync(loop, eth, pol)
        a = order(c, "eth", "ETH", "1.25", "A")
        b = order(c, "eth", "USDC", "49.99", "B")
        p = order(c, "polygon", "MATIC", "10", "P")
        anvil.rpc("evm_setAutomine", False)  # both payments in one block
        anvil.send(a["address"], 125 * ETHER // 100, wait=False)
        transfer = call_data("transfer(address,uint256)", b["address"], 49_990_000)
        anvil.send(contracts.token, 0, data=transfer, wait=False)
        anvil.mine()
        polygon.send(p["address"], 10 * ETHER)
        sync(loop, eth, pol)
        assert state(c, a["id"])[0] == "processing"
        assert state(c, b["id"])[0] == "processing"
        assert state(c, p["id"])[0] == "processing"  # not finalized yet
        anvil.mine(1)
        polygon.mine(70)  # anvil's finalized tag trails the head
        sync(loop, eth, pol)
        assert state(c, a["id"]) == ("paid", "none", 125 * ETHER // 100)
        assert state(c, b["id"]) == ("paid", "none", 49_990_000)
        assert state(c, p["id"]) == ("paid", "none", 10 * ETHER)
        for o in (a, b, p):
            assert events_of(c, o["id"]) == [
                "order.created",
                "order.payment_detected",
                "order.payment_confirmed",
                "order.paid",
            ]
        loop.run_until_complete(eth.source.aclose())
        loop.run_until_complete(pol.source.aclose())
