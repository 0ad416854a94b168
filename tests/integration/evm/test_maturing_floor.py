"""Confirmations are counted from the lowest block where a transfer may still mature,
not over the whole recent window (at 50 payments a block the window held 100,000
transfers, read again every round); a credit the balance check commits lower down is
still counted in the watcher's next round."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from chains.watching import Payment
from daemon.services.order_records import load_order
from daemon.services.orders import NewOrder
from daemon.storage.tables import transfers
from daemon.watching.balance_check import BalanceCheck
from daemon.watching.engine import ChainWatcher, WatcherSettings
from tests.integration.conftest import ContainerFactory
from tests.integration.evm.conftest import Contracts, SourceFactory
from tests.support.anvil import Anvil, call_data
from tests.support.model_chain import ModelChain
from tests.support.single import address_of

ETHER = 10**18


def test_a_balance_check_credit_below_the_count_is_counted_next_round(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    c = make_container()
    request = NewOrder(order_id="F-1", chain="eth", asset="ETH", amount="1", confirmations=3)
    view = c.db.write(lambda conn: c.orders.create(conn, request, c.clock())).view
    source = make_source([anvil.url], trace_api="none")  # the coin is seen by its balance only
    watcher = ChainWatcher(
        chain="eth",
        source=source,
        db=c.db,
        changes=c.orders.changes,
        clock=c.clock,
        settings=WatcherSettings(start_height=anvil.height()),
    )
    check = BalanceCheck("eth", source, c.db, c.orders.changes, c.clock, native_symbol="ETH")
    watcher.balance_check = check

    # A contract forwards the coin: an internal transfer, no log, no trace.
    anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", address_of(view)))
    loop.run_until_complete(watcher.sync_once())
    tip = anvil.height()
    assert watcher.effects.maturing_from == tip + 1  # nothing short: the count reads no block

    credited = loop.run_until_complete(check.run_once())
    assert credited.changed == [view["id"]]
    anvil.mine(3)
    loop.run_until_complete(watcher.sync_once())

    depth = c.db.read(lambda conn: conn.execute(select(transfers.c.confirmations)).scalar_one())
    assert depth == 4  # credited at the tip, three blocks mined since
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert order.status == "paid"


class CountFailed(Exception):
    pass


def test_a_count_rolled_back_leaves_the_transfers_it_counted_to_the_next_round(
    make_container: ContainerFactory, loop: asyncio.AbstractEventLoop
) -> None:
    c = make_container()
    request = NewOrder(
        order_id="F-2", chain="eth", asset="ETH", amount_base="1000", confirmations=3
    )
    view = c.db.write(lambda conn: c.orders.create(conn, request, c.clock())).view
    script = bytes.fromhex(address_of(view)[2:])
    model = ModelChain(with_mempool=False)
    watcher = ChainWatcher(
        chain="eth",
        source=model,
        db=c.db,
        changes=c.orders.changes,
        clock=c.clock,
        settings=WatcherSettings(start_height=0),
    )
    tx = "ab" * 32
    model.send(tx, [Payment(tx, -1, script, "ETH", 1000)])
    model.mine()
    model.mine()
    loop.run_until_complete(watcher.sync_once())  # two confirmations of three

    # The round that reaches the third counts it, then its transaction fails.
    counting = watcher.effects.mature

    def count_then_fail(*args: Any, **kwargs: Any) -> int:
        counting(*args, **kwargs)
        raise CountFailed

    watcher.effects.mature = count_then_fail  # type: ignore[method-assign]
    model.mine()
    with pytest.raises(CountFailed):
        loop.run_until_complete(watcher.sync_once())
    watcher.effects.mature = counting  # type: ignore[method-assign]

    model.mine()
    loop.run_until_complete(watcher.sync_once())
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert order.status == "paid"
