"""Orders on Bitcoin- and Litecoin-typed chains followed by the watcher engine on a real
litecoind regtest node: states, events, RBF, reorgs and a node restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from chains.watching import ChainUnavailable
from daemon.watching.engine import ChainWatcher
from tests.integration.bitcoin.watching import Order, watched_container, watcher
from tests.support.litecoind import Litecoind

COIN = Decimal(100_000_000)


def coins(base: int) -> str:
    return str(Decimal(base) / COIN)


def sync(*watchers: ChainWatcher) -> None:
    async def go() -> None:
        for w in watchers:
            await w.sync_once()

    asyncio.run(go())


def close(*watchers: ChainWatcher) -> None:
    async def go() -> None:
        for w in watchers:
            await w.source.aclose()

    asyncio.run(go())


@pytest.mark.parametrize("chain", ["btcreg", "ltcreg"])
def test_order_goes_pending_processing_paid(node: Litecoind, chain: str) -> None:
    with watched_container(node) as container:
        w = watcher(container, node, chain)
        try:
            order = Order(container, chain, 12_345_678, 1)
            sync(w)
            assert order.state()["status"] == "pending"
            txid = node.send(order.pay_to, coins(order.amount_base))
            sync(w)
            state = order.state()
            assert state["status"] == "processing"
            assert state["received_base"] == order.amount_base
            assert [(p["tx_hash"], p["confirmations"]) for p in state["payments"]] == [(txid, 0)]
            node.mine(1)
            sync(w)
            assert order.state()["status"] == "processing"  # 1 of 2 confirmations
            node.mine(1)
            sync(w)
            state = order.state()
            assert state["status"] == "paid"
            assert state["exception"] == "none"
            assert order.events() == [
                "order.created",
                "order.payment_detected",
                "order.payment_confirmed",
                "order.paid",
            ]
        finally:
            close(w)


def payments_of(order: Order) -> list[tuple[str, int, int, str]]:
    return sorted(
        (p["tx_hash"], p["index"], p["amount_base"], p["status"]) for p in order.state()["payments"]
    )


def test_exact_under_over_split_and_one_sendmany_for_several_orders(node: Litecoind) -> None:
    with watched_container(node) as container:
        w = watcher(container, node, "ltcreg")
        try:
            exact, under, over, split = (
                Order(container, "ltcreg", 10_000_000, n) for n in range(4)
            )
            node.send(exact.pay_to, "0.1")
            node.send(under.pay_to, "0.09999999")
            node.send(over.pay_to, "0.2")
            node.send(split.pay_to, "0.04")
            node.send(split.pay_to, "0.06")
            many = [Order(container, "ltcreg", 5_000_000 + n, 10 + n) for n in range(3)]
            txid = node.send_many({o.pay_to: coins(o.amount_base) for o in many})
            sync(w)
            states = {
                name: o.state()
                for name, o in [
                    ("exact", exact),
                    ("under", under),
                    ("over", over),
                    ("split", split),
                ]
            }
            assert {n: (s["status"], s["exception"]) for n, s in states.items()} == {
                "exact": ("processing", "none"),
                "under": ("pending", "underpaid"),
                "over": ("processing", "overpaid"),
                "split": ("processing", "none"),
            }
            assert states["under"]["received_base"] == 9_999_999
            assert states["over"]["received_base"] == 20_000_000
            assert states["split"]["received_base"] == 10_000_000
            assert len(states["split"]["payments"]) == 2
            indexes = set()
            for o in many:
                (payment,) = payments_of(o)
                assert payment[0] == txid
                assert payment[2] == o.amount_base
                indexes.add(payment[1])
                assert o.state()["status"] == "processing"
            assert len(indexes) == 3  # one transaction, three outputs, each counted once
            node.mine(2)
            sync(w)
            assert [o.state()["status"] for o in (exact, over, split, *many)] == ["paid"] * 6
            assert under.state()["status"] == "pending"
        finally:
            close(w)


def test_rbf_bump_keeps_and_redirect_reverses_a_payment(node: Litecoind) -> None:
    with watched_container(node) as container:
        w = watcher(container, node, "btcreg")
        try:
            order = Order(container, "btcreg", 30_000_000, 1)
            txid = node.send(order.pay_to, "0.3")
            sync(w)
            assert order.state()["status"] == "processing"
            bumped = node.bump_fee(txid)  # same payment, a new transaction
            sync(w)
            state = order.state()
            assert state["status"] == "processing"
            assert state["received_base"] == 30_000_000
            live = [p for p in state["payments"] if p["status"] != "removed"]
            assert [p["tx_hash"] for p in live] == [bumped]
            node.redirect(bumped, node.new_address())  # the replacement pays someone else
            sync(w)
            state = order.state()
            assert state["status"] == "pending"
            assert state["received_base"] == 0
            assert {p["status"] for p in state["payments"]} == {"removed"}
            assert "order.payment_reversed" in order.events()
            node.mine(1)
        finally:
            close(w)


def test_reorg_drops_a_payment_and_another_remines_it(node: Litecoind) -> None:
    with watched_container(node) as container:
        w = watcher(container, node, "ltcreg")
        try:
            moved = Order(container, "ltcreg", 1_000_000, 1)
            dropped = Order(container, "ltcreg", 2_000_000, 2)
            moved_tx = node.send(moved.pay_to, "0.01")
            dropped_tx = node.send(dropped.pay_to, "0.02")
            (first,) = node.mine(1)
            node.mine(1)
            sync(w)
            assert moved.state()["status"] == "paid"
            assert dropped.state()["status"] == "paid"
            events_before = moved.events()
            node.invalidate(first)  # both back in the mempool
            node.redirect(dropped_tx, node.new_address())  # a double spend replaces one
            replacement = node.mine(3, node.new_address())  # re-mines the other elsewhere
            sync(w)
            state = moved.state()
            assert state["status"] == "paid"
            (payment,) = [p for p in state["payments"] if p["status"] != "removed"]
            assert payment["tx_hash"] == moved_tx
            assert payment["block_hash"] == replacement[0] != first
            assert moved.events() == events_before  # it only moved: nothing fired
            state = dropped.state()
            assert state["status"] == "pending"
            assert state["received_base"] == 0
            assert dropped.events()[-1] == "order.payment_reversed"
            assert w.status.reorgs == 1
        finally:
            close(w)


def test_node_stopped_and_restarted_while_payments_arrive(node: Litecoind) -> None:
    with watched_container(node) as container:
        w = watcher(container, node, "btcreg")
        try:
            early, late = (
                Order(container, "btcreg", 4_000_000, 1),
                Order(container, "btcreg", 5_000_000, 2),
            )
            early_tx = node.send(early.pay_to, "0.04")
            sync(w)
            assert early.state()["status"] == "processing"
            node.stop()
            with pytest.raises(ChainUnavailable):
                sync(w)
            node.start()  # the mempool comes back from mempool.dat
            late_tx = node.send(late.pay_to, "0.05")
            node.mine(5)
            sync(w)
            for order, txid in ((early, early_tx), (late, late_tx)):
                state = order.state()
                assert state["status"] == "paid"
                assert [p["tx_hash"] for p in state["payments"]] == [txid]
                assert state["payments"][0]["confirmations"] == 5
        finally:
            close(w)
