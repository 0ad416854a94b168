"""The periodic balance check on anvil: coin a contract sent, credited once, never twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from daemon.domain.payments import Transfer, TransferKey
from daemon.services.order_changes import Observation
from daemon.services.order_records import load_order
from daemon.services.orders import NewOrder
from daemon.storage.tables import transfers
from daemon.watching.balance_check import BalanceCheck, balance_key
from tests.integration.conftest import ContainerFactory
from tests.integration.evm.conftest import Contracts, SourceFactory
from tests.support.anvil import Anvil, call_data
from tests.support.single import address_of
from tests.support.watching import processed

ETHER = 10**18


def test_balance_check_credits_untraced_coin_once(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    c = make_container()
    eth = NewOrder(order_id="B-1", chain="eth", asset="ETH", amount="1.5")
    view = c.db.write(lambda conn: c.orders.create(conn, eth, c.clock())).view
    address, script = address_of(view), bytes.fromhex(address_of(view)[2:])
    fwd = anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", address))
    head = anvil.header()
    height, block_hash = head.height, head.hash
    processed(c, "eth", head, block_row=False)
    source = make_source([anvil.url], trace_api="none")
    check = BalanceCheck("eth", source, c.db, c.orders.changes, c.clock, native_symbol="ETH")

    first = loop.run_until_complete(check.run_once())
    assert (first.height, first.checked, first.changed) == (height, 1, [view["id"]])
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert order.received_base == ETHER
    assert order.status == "pending"  # underpaid so far: 1 of 1.5

    again = loop.run_until_complete(check.run_once())
    assert again.changed == []  # a repeat check never double-counts

    # The trace path later sees the same coin (a node with a trace API took over).
    traced = Transfer(TransferKey(fwd, -2), ETHER, c.clock())
    c.db.write(
        lambda conn: c.orders.changes.record(
            conn, [Observation("eth", script, "ETH", traced, height, block_hash)], c.clock()
        )
    )
    settled = loop.run_until_complete(check.run_once())
    assert settled.changed == [view["id"]]
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert order.received_base == ETHER  # not 2 ETH
    rows = c.db.read(
        lambda conn: conn.execute(
            select(transfers.c.tx_hash, transfers.c.removed).order_by(transfers.c.seq)
        ).all()
    )
    assert [tuple(r) for r in rows] == [(balance_key(address).tx_hash, True), (fwd, False)]


def test_balance_check_skips_swept_addresses_and_waits_for_the_watcher(
    anvil: Anvil,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    c = make_container()
    eth = NewOrder(order_id="B-2", chain="eth", asset="ETH", amount="1")
    view = c.db.write(lambda conn: c.orders.create(conn, eth, c.clock())).view
    source = make_source([anvil.url], trace_api="none")
    check = BalanceCheck("eth", source, c.db, c.orders.changes, c.clock, native_symbol="ETH")
    assert loop.run_until_complete(check.run_once()).checked == 0  # no cursor yet

    anvil.rpc("anvil_setBalance", view["address"], hex(ETHER))
    anvil.rpc("anvil_setNonce", view["address"], "0x1")  # the merchant swept it once
    anvil.mine()
    processed(c, "eth", anvil.header())
    result = loop.run_until_complete(check.run_once())
    assert (result.checked, result.swept, result.changed) == (1, [view["id"]], [])


def test_balance_check_credits_a_multi_option_orders_address(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """A fiat order offering ETH on eth and POL on polygon (one address on both): coin a
    contract sent on eth is credited to the ETH option, once, under a key naming eth."""
    rates = "rates: {sources: [], currencies: [EUR], fixed: {ETH/EUR: '2000', POL/EUR: '0.5'}}"
    c = make_container(extra=rates)
    both = (("eth", "ETH"), ("polygon", "POL"))
    new = NewOrder(order_id="B-9", price=("4000.00", "EUR"), accept=both)
    view = c.db.write(lambda conn: c.orders.create(conn, new, c.clock())).view
    [address] = {o["address"] for o in view["options"]}
    assert address is not None
    source = make_source([anvil.url], trace_api="none")
    check = BalanceCheck("eth", source, c.db, c.orders.changes, c.clock, native_symbol="ETH")

    def forward_and_check() -> list[str]:
        anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", address))
        processed(c, "eth", anvil.header(), block_row=False)
        return loop.run_until_complete(check.run_once()).changed

    assert forward_and_check() == [view["id"]]
    order = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert order["received_value"] == {"amount": "2000.00", "currency": "EUR"}
    assert (order["status"], order["exception"]) == ("pending", "underpaid")
    [payment] = order["payments"]
    assert payment["tx_hash"] == f"balance:eth:{address.lower()}"
    assert (payment["chain"], payment["asset"], payment["counted"]) == ("eth", "ETH", True)
    assert loop.run_until_complete(check.run_once()).changed == []  # never twice

    assert forward_and_check() == [view["id"]]
    order = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert order["received_value"] == {"amount": "4000.00", "currency": "EUR"}
    assert order["status"] in ("processing", "paid")
    assert order["exception"] == "none"
    assert anvil.balance(address) == 2 * ETHER  # the node's truth: what was credited
