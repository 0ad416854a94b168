"""The balance check's schedule on anvil: each order's address is checked soon after
creation, at expiry and at the end of its late window (and on demand), so its calls
follow the orders made, not the rounds run or the orders open."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chains.evm.source import EvmSource
from daemon.api.app import create_app
from daemon.runtime.container import Container
from daemon.services.apikeys import create_key
from daemon.services.order_records import load_order
from daemon.services.orders import NewOrder
from daemon.watching.balance_check import BalanceCheck, CheckResult
from tests.integration.conftest import ContainerFactory
from tests.integration.evm.conftest import Contracts, SourceFactory
from tests.support.anvil import Anvil, call_data
from tests.support.clock import ManualClock
from tests.support.configs import anvil_chain_yaml
from tests.support.watching import processed, temp_container

ETHER = 10**18


def count_calls(source: EvmSource) -> Counter[str]:
    """JSON-RPC calls the source sends, by method (batched calls counted one by one)."""
    seen: Counter[str] = Counter()
    for client in source.pool.clients:
        batch, call = client.batch, client.call

        async def counted_batch(
            calls: Sequence[tuple[str, Sequence[object]]], b: Any = batch
        ) -> Any:
            seen.update(method for method, _ in calls)
            return await b(calls)

        async def counted_call(method: str, params: Any = (), c: Any = call, **kw: Any) -> Any:
            seen[method] += 1
            return await c(method, params, **kw)

        setattr(client, "batch", counted_batch)  # noqa: B010
        setattr(client, "call", counted_call)  # noqa: B010
    return seen


def mine_at(anvil: Anvil, clock: ManualClock, data: str | None = None, to: str = "") -> None:
    """A block stamped with the clock's time (with a payment to ``to`` if given)."""
    anvil.rpc("evm_setNextBlockTimestamp", hex(int(clock().timestamp())))
    if data is None:
        anvil.mine()
    else:
        anvil.send(to, ETHER, data=data)


def start(anvil: Anvil) -> ManualClock:
    return ManualClock(datetime.fromtimestamp(anvil.header().timestamp + 1, UTC))


@dataclass
class Schedule:
    """Chain eth's balance check on anvil (no trace API), its clock a second past the
    chain's, and the JSON-RPC calls it sends."""

    anvil: Anvil
    clock: ManualClock
    c: Container
    check: BalanceCheck
    seen: Counter[str]
    loop: asyncio.AbstractEventLoop
    forwarder: str  # a contract that sends on what it is sent (deployed before the clock)

    def order(self, ref: str) -> Mapping[str, Any]:
        new = NewOrder(order_id=ref, chain="eth", asset="ETH", amount="1")
        return self.c.db.write(lambda conn: self.c.orders.create(conn, new, self.clock())).view

    def round(self, data: str | None = None, to: str = "") -> CheckResult:
        """A block at the clock's time (see :func:`mine_at`), processed by the watcher,
        then one scheduled round."""
        mine_at(self.anvil, self.clock, data, to)
        processed(self.c, "eth", self.anvil.header())
        result = self.loop.run_until_complete(self.check.scheduled_round())
        assert result is not None
        return result


@pytest.fixture
def schedule(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> Schedule:
    clock = start(anvil)
    c = make_container(clock=clock)  # expires in 15 min, late window 24 h
    source = make_source([anvil.url], trace_api="none")
    seen = count_calls(source)
    check = BalanceCheck("eth", source, c.db, c.orders.changes, clock, native_symbol="ETH")
    return Schedule(anvil, clock, c, check, seen, loop, contracts.forwarder)


def test_a_contract_payment_is_found_at_the_check_after_creation(schedule: Schedule) -> None:
    s, clock, c = schedule, schedule.clock, schedule.c
    s.round()  # first: nothing open

    view = s.order("S-1")
    clock.advance(seconds=20)
    early = s.round(call_data("forward(address)", view["address"]), s.forwarder)
    assert (early.checked, early.changed) == (0, [])
    assert s.seen["eth_getTransactionCount"] == 0  # not due yet: the node was asked nothing

    clock.advance(seconds=41)  # a minute after creation
    due = s.round()
    assert (due.checked, due.changed) == (1, [view["id"]])
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert (order.status, order.received_base) == ("processing", ETHER)


def test_balance_calls_over_an_orders_life_do_not_grow_with_the_rounds(
    schedule: Schedule,
) -> None:
    s, clock = schedule, schedule.clock
    s.round()
    view = s.order("S-2")
    created = clock()

    checked_at: list[float] = []  # minutes after creation of each round that checked it
    for _ in range(26 * 12):  # a round every 5 minutes for 26 hours: 312 rounds
        clock.advance(minutes=5)
        result = s.round()
        assert result.changed == []
        if result.checked:
            checked_at.append((clock() - created).total_seconds() / 60)
    # After creation (1 min: the round at 5), at expiry (15), at the late window's end.
    assert checked_at == [5, 15, 15 + 24 * 60]
    assert s.seen["eth_getBalance"] == 3
    assert s.seen["eth_getTransactionCount"] == 3
    assert view["status"] == "pending"


def test_a_payment_after_the_first_check_is_found_at_expiry_and_counts_in_time(
    schedule: Schedule, anvil: Anvil
) -> None:
    s, clock, c = schedule, schedule.clock, schedule.c
    view = s.order("S-3")
    expires = datetime.fromisoformat(view["expires_at"].replace("Z", "+00:00"))
    found_at = None
    for minute in range(1, 18):
        clock.advance(minutes=1)
        if minute == 5:  # after the first check, ten minutes before expiry
            result = s.round(call_data("forward(address)", view["address"]), s.forwarder)
            paid_block = anvil.height()
        else:
            result = s.round()
        if result.changed and found_at is None:
            found_at = clock()
    # Found by the round at expiry (rounds a minute apart), not before.
    assert found_at is not None
    assert expires <= found_at < expires + timedelta(minutes=1)
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert (order.status, order.exception, order.received_base) == ("processing", "none", ETHER)
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    seen_at = datetime.fromisoformat(got["payments"][0]["seen_at"].replace("Z", "+00:00"))
    assert seen_at == datetime.fromtimestamp(anvil.header(paid_block).timestamp, UTC) < expires


def test_refresh_finds_a_contract_payment_at_once(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    def config(url: str) -> str:
        chains = anvil_chain_yaml(anvil.url) + "    trace_api: none\n"
        return f'database_url: {url}\napi: {{listen: "127.0.0.1:0"}}\n{chains}'

    with temp_container(config) as c:
        clock = c.clock
        assert isinstance(clock, ManualClock)
        clock.now = start(anvil).now
        _, key = c.db.write(lambda conn: create_key(conn, "test", clock()))
        auth = {"Authorization": f"Bearer {key}"}

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            transport = httpx.ASGITransport(app=create_app(c))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
                body = {"order_id": "R-1", "chain": "eth", "asset": "ETH", "amount": "1"}
                made = (await api.post("/v1/orders", json=body, headers=auth)).json()
                data = call_data("forward(address)", made["address"])
                mine_at(anvil, clock, data, contracts.forwarder)
                processed(c, "eth", anvil.header())
                before = (await api.get(f"/v1/orders/{made['id']}", headers=auth)).json()
                answer = await api.post(f"/v1/orders/{made['id']}/refresh", headers=auth)
                assert answer.status_code == 200, answer.text
                await c.watchers["eth"].source.aclose()
                return before, answer.json()

        before, after = loop.run_until_complete(scenario())
    assert (before["status"], before["received_base"]) == ("pending", 0)
    # Found at once; the watcher counts its confirmations from the block checked at.
    assert (after["status"], after["received_base"]) == ("processing", ETHER)
