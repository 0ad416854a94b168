"""The daemon's watcher on anvil: orders for ETH, USDC and POL from pending to paid."""

from __future__ import annotations

import asyncio

import pytest

from chains.watching import ChainUnavailable
from daemon.watching.engine import ChainWatcher
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import events_of, evm_container, order, state, watcher
from tests.support.anvil import Anvil, anvil_node, call_data
from tests.support.single import address_of

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
        anvil.send(address_of(a), 125 * ETHER // 100, wait=False)
        transfer = call_data("transfer(address,uint256)", b["address"], 49_990_000)
        anvil.send(contracts.token, 0, data=transfer, wait=False)
        anvil.mine()
        polygon.send(address_of(p), 10 * ETHER)
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


def test_exact_under_over_split_batch_forwarded_and_late_payments(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    with evm_container(anvil.url, contracts.token) as c:
        eth = watcher(c, "eth", anvil.height())
        sync(loop, eth)
        exact = order(c, "eth", "ETH", "1", "exact")
        under = order(c, "eth", "USDC", "10", "under")
        over = order(c, "eth", "USDC", "10", "over")
        split = order(c, "eth", "ETH", "3", "split")
        batch_a = order(c, "eth", "USDC", "5", "batch-a")
        batch_b = order(c, "eth", "USDC", "7", "batch-b")
        forwarded = order(c, "eth", "ETH", "2", "forwarded")
        late = order(c, "eth", "ETH", "1", "late")
        token = contracts.token

        def pay_token(to: str, amount: int) -> None:
            anvil.send(token, 0, data=call_data("transfer(address,uint256)", to, amount))

        anvil.send(address_of(exact), ETHER)
        pay_token(address_of(under), 9 * USDC)
        pay_token(address_of(over), 11 * USDC)
        anvil.send(address_of(split), ETHER)
        anvil.send(address_of(split), 2 * ETHER)
        receivers = [batch_a["address"], batch_b["address"]]
        pay_batch = call_data(
            "payToken(address,address[],uint256[])", token, receivers, [5 * USDC, 7 * USDC]
        )
        anvil.send(contracts.batch, 0, data=pay_batch)
        anvil.send(
            contracts.forwarder, 2 * ETHER, data=call_data("forward(address)", forwarded["address"])
        )
        anvil.mine(2)
        sync(loop, eth)
        c.clock.advance(minutes=20)  # type: ignore[attr-defined]
        anvil.send(address_of(late), ETHER)
        anvil.mine(2)
        sync(loop, eth)
        assert state(c, exact["id"]) == ("paid", "none", ETHER)
        assert state(c, under["id"])[1:] == ("underpaid", 9 * USDC)
        assert state(c, over["id"]) == ("paid", "overpaid", 11 * USDC)
        assert state(c, split["id"]) == ("paid", "none", 3 * ETHER)
        assert state(c, batch_a["id"]) == ("paid", "none", 5 * USDC)
        assert state(c, batch_b["id"]) == ("paid", "none", 7 * USDC)
        assert state(c, forwarded["id"]) == ("paid", "none", 2 * ETHER)
        assert state(c, late["id"])[1:] == ("paid_late", ETHER)
        assert "order.paid_late" in events_of(c, late["id"])
        loop.run_until_complete(eth.source.aclose())


def test_reorgs_drop_and_move_payments(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    with evm_container(anvil.url, contracts.token) as c:
        eth = watcher(c, "eth", anvil.height())
        sync(loop, eth)
        dropped = order(c, "eth", "ETH", "1", "dropped")
        moved = order(c, "eth", "ETH", "1", "moved")
        tx = anvil.send(address_of(moved), ETHER)  # first: its nonce is free to replay
        anvil.send(address_of(dropped), ETHER)
        anvil.mine(2)
        sync(loop, eth)
        assert state(c, dropped["id"])[0] == "paid"
        assert state(c, moved["id"])[0] == "paid"
        moved_events = events_of(c, moved["id"])
        before = anvil.receipt(tx)["blockNumber"]
        raw = anvil.rpc("eth_getRawTransactionByHash", tx)  # the same signed transaction
        anvil.rpc("anvil_reorg", 4, [[raw, 2]])  # 4 blocks replaced; only one payment again
        anvil.mine(2)
        sync(loop, eth)
        assert state(c, dropped["id"])[2] == 0
        assert events_of(c, dropped["id"])[-1] == "order.payment_reversed"
        assert state(c, moved["id"]) == ("paid", "none", ETHER)
        assert int(anvil.receipt(tx)["blockNumber"], 16) == int(before, 16) + 2
        assert events_of(c, moved["id"]) == moved_events  # moved, still paid: nothing new
        loop.run_until_complete(eth.source.aclose())


def test_node_restarted_while_payments_arrive_misses_nothing(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    with evm_container(anvil.url, contracts.token) as c:
        eth = watcher(c, "eth", anvil.height())
        sync(loop, eth)
        orders = [order(c, "eth", "ETH", "1", f"r{i}") for i in range(4)]
        anvil.send(address_of(orders[0]), ETHER)
        sync(loop, eth)
        anvil.send(address_of(orders[1]), ETHER)
        anvil.mine(3)
        anvil.stop()  # the watcher has not seen the second payment yet
        with pytest.raises(ChainUnavailable):
            loop.run_until_complete(eth.sync_once())
        anvil.start()
        anvil.send(address_of(orders[2]), ETHER)
        anvil.mine(30)
        anvil.send(address_of(orders[3]), ETHER)
        anvil.mine(2)
        sync(loop, eth)
        assert [state(c, o["id"]) for o in orders] == [("paid", "none", ETHER)] * 4
        loop.run_until_complete(eth.source.aclose())
