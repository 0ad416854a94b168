"""The balance check dates coin sent by a contract by the block it arrived in, not by
when the check ran: paid before expiry, checked after, the order is paid, not late."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from daemon.domain.payments import Transfer
from daemon.services.order_changes import Observation
from daemon.services.order_records import load_order
from daemon.services.orders import NewOrder
from daemon.watching.balance_check import BalanceCheck, balance_key
from tests.integration.conftest import ContainerFactory
from tests.integration.evm.conftest import Contracts, SourceFactory
from tests.support.anvil import Anvil, call_data
from tests.support.clock import ManualClock
from tests.support.events import event_types
from tests.support.single import address_of
from tests.support.watching import processed

ETHER = 10**18


def test_coin_sent_by_a_contract_in_time_is_not_late_when_the_check_runs_after_expiry(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    # The daemon's clock starts at the chain's time, so block times and the clock agree.
    start = anvil.header().timestamp
    clock = ManualClock(datetime.fromtimestamp(start, UTC))
    c = make_container(clock=clock)
    eth = NewOrder(order_id="D-1", chain="eth", asset="ETH", amount="1")
    view = c.db.write(lambda conn: c.orders.create(conn, eth, clock())).view  # expires +15 min
    address, script = address_of(view), bytes.fromhex(address_of(view)[2:])
    source = make_source([anvil.url], trace_api="none")
    check = BalanceCheck("eth", source, c.db, c.orders.changes, clock, native_symbol="ETH")

    anvil.mine(3)
    processed(c, "eth", anvil.header(), block_row=False)
    assert loop.run_until_complete(check.run_once()).changed == []  # a round: nothing yet

    anvil.mine(5)
    anvil.rpc("evm_setNextBlockTimestamp", hex(start + 120))  # two minutes in: in time
    anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", address))
    paid_at = anvil.height()
    anvil.rpc("anvil_mine", hex(40), hex(60))  # 40 more blocks, a minute apart
    head = anvil.header()
    assert head.timestamp > start + 15 * 60
    processed(c, "eth", head, block_row=False)
    clock.advance(minutes=45)  # the check runs long after the order expired

    result = loop.run_until_complete(check.run_once())
    assert result.changed == [view["id"]]
    # The watcher counts the confirmations later (as Effects.mature does).
    confirmed = Transfer(balance_key(address), ETHER, clock(), confirmations=12)
    c.db.write(
        lambda conn: c.orders.changes.record(
            conn, [Observation("eth", script, "ETH", confirmed, head.height, None)], clock()
        )
    )

    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert (order.status, order.exception, order.received_base) == ("paid", "none", ETHER)
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    seen = datetime.fromisoformat(got["payments"][0]["seen_at"].replace("Z", "+00:00"))
    assert seen == datetime.fromtimestamp(anvil.header(paid_at).timestamp, UTC)
    assert "order.paid_late" not in c.db.read(lambda conn: event_types(conn, order))
