"""The balance check's schedule on anvil: each order's address is checked soon after
creation, at expiry and at the end of its late window (and on demand), so its calls
follow the orders made, not the rounds run or the orders open."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, delete, insert

from chains.evm.source import EvmSource
from daemon.api.app import create_app
from daemon.runtime.container import Container
from daemon.services.apikeys import create_key
from daemon.services.order_records import load_order
from daemon.services.orders import NewOrder
from daemon.storage.tables import chain_blocks, chain_cursors
from daemon.watching.balance_check import BalanceCheck
from tests.integration.conftest import ContainerFactory
from tests.integration.evm.conftest import Contracts, SourceFactory
from tests.support.anvil import Anvil, call_data
from tests.support.clock import ManualClock
from tests.support.configs import anvil_chain_yaml
from tests.support.watching import temp_container

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


def chain_time(anvil: Anvil) -> int:
    return int(anvil.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)


def mine_at(anvil: Anvil, clock: ManualClock, data: str | None = None, to: str = "") -> None:
    """A block stamped with the clock's time (with a payment to ``to`` if given)."""
    anvil.rpc("evm_setNextBlockTimestamp", hex(int(clock().timestamp())))
    if data is None:
        anvil.mine()
    else:
        anvil.send(to, ETHER, data=data)


def processed(c: Container, anvil: Anvil) -> None:
    """The watcher has processed the node's head (cursor and block row, as it writes)."""
    height = anvil.height()
    block = anvil.rpc("eth_getBlockByNumber", hex(height), False)

    def move(conn: Connection) -> None:
        conn.execute(delete(chain_cursors).where(chain_cursors.c.chain == "eth"))
        conn.execute(delete(chain_blocks).where(chain_blocks.c.chain == "eth"))
        now = c.clock()
        conn.execute(
            insert(chain_cursors).values(
                chain="eth", height=height, hash=block["hash"], updated_at=now
            )
        )
        conn.execute(
            insert(chain_blocks).values(
                chain="eth",
                height=height,
                hash=block["hash"],
                parent_hash=block["parentHash"],
                timestamp=int(block["timestamp"], 16),
            )
        )

    c.db.write(move)


def start(anvil: Anvil) -> ManualClock:
    return ManualClock(datetime.fromtimestamp(chain_time(anvil) + 1, UTC))


def test_a_contract_payment_is_found_at_the_check_after_creation(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    clock = start(anvil)
    c = make_container(clock=clock)
    source = make_source([anvil.url], trace_api="none")
    seen = count_calls(source)
    check = BalanceCheck("eth", source, c.db, c.orders.changes, clock, native_symbol="ETH")
    mine_at(anvil, clock)
    processed(c, anvil)
    assert loop.run_until_complete(check.scheduled_round()) is not None  # first: nothing open

    new = NewOrder(order_id="S-1", chain="eth", asset="ETH", amount="1")
    view = c.db.write(lambda conn: c.orders.create(conn, new, clock())).view
    clock.advance(seconds=20)
    mine_at(anvil, clock, call_data("forward(address)", view["address"]), contracts.forwarder)
    processed(c, anvil)
    early = loop.run_until_complete(check.scheduled_round())
    assert early is not None
    assert (early.checked, early.changed) == (0, [])
    assert seen["eth_getTransactionCount"] == 0  # not due yet: the node was asked nothing

    clock.advance(seconds=41)  # a minute after creation
    mine_at(anvil, clock)
    processed(c, anvil)
    due = loop.run_until_complete(check.scheduled_round())
    assert due is not None
    assert (due.checked, due.changed) == (1, [view["id"]])
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert (order.status, order.received_base) == ("processing", ETHER)


def test_balance_calls_over_an_orders_life_do_not_grow_with_the_rounds(
    anvil: Anvil,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    clock = start(anvil)
    c = make_container(clock=clock)  # expires in 15 min, late window 24 h
    source = make_source([anvil.url], trace_api="none")
    seen = count_calls(source)
    check = BalanceCheck("eth", source, c.db, c.orders.changes, clock, native_symbol="ETH")
    mine_at(anvil, clock)
    processed(c, anvil)
    loop.run_until_complete(check.scheduled_round())
    new = NewOrder(order_id="S-2", chain="eth", asset="ETH", amount="1")
    view = c.db.write(lambda conn: c.orders.create(conn, new, clock())).view
    created = clock()

    checked_at: list[float] = []  # minutes after creation of each round that checked it
    for _ in range(26 * 12):  # a round every 5 minutes for 26 hours: 312 rounds
        clock.advance(minutes=5)
        mine_at(anvil, clock)
        processed(c, anvil)
        result = loop.run_until_complete(check.scheduled_round())
        assert result is not None
        assert result.changed == []
        if result.checked:
            checked_at.append((clock() - created).total_seconds() / 60)
    # After creation (1 min: the round at 5), at expiry (15), at the late window's end.
    assert checked_at == [5, 15, 15 + 24 * 60]
    assert seen["eth_getBalance"] == 3
    assert seen["eth_getTransactionCount"] == 3
    assert view["status"] == "pending"


def test_a_payment_after_the_first_check_is_found_at_expiry_and_counts_in_time(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    make_container: ContainerFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    clock = start(anvil)
    c = make_container(clock=clock)
    source = make_source([anvil.url], trace_api="none")
    check = BalanceCheck("eth", source, c.db, c.orders.changes, clock, native_symbol="ETH")
    new = NewOrder(order_id="S-3", chain="eth", asset="ETH", amount="1")
    view = c.db.write(lambda conn: c.orders.create(conn, new, clock())).view
    expires = datetime.fromisoformat(view["expires_at"].replace("Z", "+00:00"))
    found_at = None
    for minute in range(1, 18):
        clock.advance(minutes=1)
        if minute == 5:  # after the first check, ten minutes before expiry
            data = call_data("forward(address)", view["address"])
            mine_at(anvil, clock, data, contracts.forwarder)
            paid_block = anvil.height()
        else:
            mine_at(anvil, clock)
        processed(c, anvil)
        result = loop.run_until_complete(check.scheduled_round())
        assert result is not None
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
    block = anvil.rpc("eth_getBlockByNumber", hex(paid_block), False)
    assert seen_at == datetime.fromtimestamp(int(block["timestamp"], 16), UTC) < expires


def test_refresh_finds_a_contract_payment_at_once(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    def config(url: str) -> str:
        chains = anvil_chain_yaml(anvil.url) + "    trace_api: none\n"
        return f'database_url: {url}\napi: {{listen: "127.0.0.1:0"}}\n{chains}'

    with temp_container(config) as c:
        clock = c.clock
        assert isinstance(clock, ManualClock)
        clock.now = datetime.fromtimestamp(chain_time(anvil) + 1, UTC)
        _, key = c.db.write(lambda conn: create_key(conn, "test", clock()))
        auth = {"Authorization": f"Bearer {key}"}

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            transport = httpx.ASGITransport(app=create_app(c))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
                body = {"order_id": "R-1", "chain": "eth", "asset": "ETH", "amount": "1"}
                made = (await api.post("/v1/orders", json=body, headers=auth)).json()
                data = call_data("forward(address)", made["address"])
                mine_at(anvil, clock, data, contracts.forwarder)
                processed(c, anvil)
                before = (await api.get(f"/v1/orders/{made['id']}", headers=auth)).json()
                answer = await api.post(f"/v1/orders/{made['id']}/refresh", headers=auth)
                assert answer.status_code == 200, answer.text
                await c.watchers["eth"].source.aclose()
                return before, answer.json()

        before, after = loop.run_until_complete(scenario())
    assert (before["status"], before["received_base"]) == ("pending", 0)
    # Found at once; the watcher counts its confirmations from the block checked at.
    assert (after["status"], after["received_base"]) == ("processing", ETHER)
