"""A balance-check transfer (no transaction of its own) read back: its amount against the
address's balance at its block, what sent it named as not checkable."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from chains.evm.reconcile import EvmReconciler
from daemon.accounting.reconcile import reconcile
from daemon.services.orders import NewOrder
from daemon.storage.tables import transfers
from daemon.watching.balance_check import BalanceCheck, balance_key
from tests.integration.conftest import ContainerFactory
from tests.integration.evm.conftest import Contracts, SourceFactory
from tests.support.anvil import Anvil, call_data
from tests.support.single import address_of
from tests.support.watching import processed

ETHER = 10**18


def test_a_balance_check_transfer_is_checked_against_the_balance(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    c = make_container()
    request = NewOrder(order_id="B-1", chain="eth", asset="ETH", amount="1.5")
    view = c.db.write(lambda conn: c.orders.create(conn, request, c.clock())).view
    anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", view["address"]))
    processed(c, "eth", anvil.header(), block_row=False)  # booked by height, no hash
    source = make_source([anvil.url], trace_api="none")
    check = BalanceCheck("eth", source, c.db, c.orders.changes, c.clock, native_symbol="ETH")
    assert loop.run_until_complete(check.run_once()).changed == [view["id"]]
    info = c.registry.get("eth")
    assert info is not None

    report = loop.run_until_complete(reconcile(c.db, info, EvmReconciler(source)))
    assert report.checked == 1
    assert report.differences == []
    (unchecked,) = report.unchecked  # what sent it is not known
    assert unchecked["node_says"].startswith(f"balance check: {ETHER} <= balance {ETHER}")

    key = balance_key(address_of(view)).tx_hash
    c.db.write(
        lambda conn: conn.execute(
            update(transfers).where(transfers.c.tx_hash == key).values(amount_base=2 * ETHER)
        )
    )
    report = loop.run_until_complete(reconcile(c.db, info, EvmReconciler(source)))
    (difference,) = report.differences
    assert difference["kind"] == "amount_differs"
    assert f"is {ETHER}, less than the {2 * ETHER} credited" in difference["node_says"]
