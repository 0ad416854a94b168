"""The payments export and the stats on anvil (ETH and an ERC-20): the CSV (read back
with Python's csv), the JSON export and the API's pages agree with each other and with
what the node says each order's address received; a payment removed by a reorg stays
as a removed row; --since/--until select by block time; the stats agree with the orders."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.services.order_shape import Order
from daemon.services.orders import NewOrder
from tests.integration.accounting.books import as_text, books, exact
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import evm_config, state
from tests.support.anvil import Anvil, call_data
from tests.support.clock import ManualClock
from tests.support.single import address_of
from tests.support.watching import chain_watcher

ETHER = 10**18
USDC = 10**6
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
DAY = 86400


def iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def node_rows(anvil: Anvil, token: str, paid: dict[str, Order], start: int) -> set[tuple[Any, ...]]:
    """(order ref, asset, tx, log index, height, block hash, block time, base units) of
    every transfer to an order's address on the node's chain now, read from its blocks
    and logs."""
    by_address = {address_of(o).lower(): ref for ref, o in paid.items()}
    found: set[tuple[Any, ...]] = set()
    head = anvil.height()
    times: dict[str, int] = {}
    for height in range(start + 1, head + 1):
        block = anvil.rpc("eth_getBlockByNumber", hex(height), True)
        times[block["hash"]] = int(block["timestamp"], 16)
        for tx in block["transactions"]:
            ref = by_address.get((tx["to"] or "").lower())
            if ref is not None and int(tx["value"], 16) > 0:
                stamp = int(block["timestamp"], 16)
                found.add(
                    (
                        ref,
                        "ETH",
                        tx["hash"],
                        None,
                        height,
                        block["hash"],
                        iso(stamp),
                        int(tx["value"], 16),
                    )
                )
    logs = anvil.rpc(
        "eth_getLogs",
        {"fromBlock": hex(start + 1), "toBlock": hex(head), "address": token, "topics": [TRANSFER]},
    )
    for log in logs:
        ref = by_address.get("0x" + log["topics"][2][-40:])
        if ref is not None:
            found.add(
                (
                    ref,
                    "USDC",
                    log["transactionHash"],
                    int(log["logIndex"], 16),
                    int(log["blockNumber"], 16),
                    log["blockHash"],
                    iso(times[log["blockHash"]]),
                    int(log["data"], 16),
                )
            )
    return found


def as_truth(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["order_ref"],
        row["asset"],
        row["tx_hash"],
        row["log_index"],
        row["block_height"],
        row["block_hash"],
        row["block_time"],
        row["amount_base"],
    )


def test_export_api_and_stats_agree_with_anvil(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    with books(lambda url: evm_config(url, anvil.url, contracts.token, None)) as b:
        c = b.container
        clock = c.clock
        assert isinstance(clock, ManualClock)
        start = anvil.height()
        eth = chain_watcher(c, "eth", start_height=start, batch_size=20)
        created: dict[str, Order] = {}
        created_at: dict[str, datetime] = {}
        paid_at: dict[str, datetime] = {}

        def order(ref: str, asset: str, amount: str) -> Order:
            new = NewOrder(ref, "eth", asset, amount, expires_in=timedelta(days=3))
            view = c.db.write(lambda conn: c.orders.create(conn, new, clock())).view
            created[ref], created_at[ref] = view, clock()
            return view

        def sync(minutes: float) -> None:
            clock.advance(minutes=minutes)
            loop.run_until_complete(eth.sync_once())
            for ref, o in created.items():
                is_paid = state(c, o["id"])[0] == "paid"
                if is_paid and ref not in paid_at:
                    paid_at[ref] = clock()
                elif not is_paid:
                    paid_at.pop(ref, None)

        day0 = (int(anvil.header().timestamp) // DAY + 2) * DAY  # a midnight ahead

        def at(timestamp: int) -> None:
            anvil.rpc("evm_setNextBlockTimestamp", timestamp)

        def pay_eth(ref: str, wei: int, when: int) -> str:
            at(when)
            return anvil.send(address_of(created[ref]), wei)

        def pay_usdc(ref: str, units: int, when: int) -> str:
            at(when)
            data = call_data("transfer(address,uint256)", address_of(created[ref]), units)
            return anvil.send(contracts.token, 0, data=data)

        for ref, asset, amount in [
            ("A", "ETH", "1.5"),
            ("B", "USDC", "10"),
            ("C", "ETH", "1"),
            ("D", "ETH", "1"),
            ("U", "ETH", "2"),
        ]:
            order(ref, asset, amount)
        pay_eth("A", ETHER, day0 + 3600)
        pay_usdc("B", 10 * USDC, day0 + 7200)
        pay_eth("U", ETHER // 2, day0 + 10800)
        anvil.mine(2)
        sync(1)
        pay_eth("A", ETHER // 2, day0 + DAY + 3600)
        pay_usdc("C", 3 * USDC + 1, day0 + DAY + 7200)  # another asset: not counted
        pay_eth("C", ETHER, day0 + DAY + 10800)
        dropped = pay_eth("D", ETHER, day0 + 2 * DAY + 3600)
        anvil.mine(2)
        sync(5)
        assert paid_at.keys() == {"A", "B", "C", "D"}
        anvil.rpc("anvil_reorg", 3, [])  # D's block and the two on it, replaced empty
        anvil.mine(2)
        sync(2)
        assert "D" not in paid_at
        assert anvil.rpc("eth_getTransactionReceipt", dropped) is None
        clock.advance(days=1)
        order("F", "USDC", "2.5")
        at(int(anvil.header().timestamp) + DAY)
        pay_usdc("F", 2_500_000, int(anvil.header().timestamp) + DAY)
        anvil.mine(2)
        sync(1)
        assert paid_at.keys() == {"A", "B", "C", "F"}
        assert state(c, created["U"]["id"])[1] == "underpaid"

        # The three readings agree, every row once, in the order paywatch saw them.
        exported = b.export_json()
        assert b.export_csv() == [as_text(r) for r in exported]
        for limit in (1, 2, 3, 500):
            assert b.api_pages(limit) == exported
        assert len({(r["tx_hash"], r["log_index"]) for r in exported}) == len(exported)

        # ...and with the chain.
        counted = [r for r in exported if r["status"] == "counted"]
        assert {as_truth(r) for r in counted} == node_rows(anvil, contracts.token, created, start)
        assert len(counted) == 7  # A twice, B, U, C twice (one USDC), F
        (removed,) = [r for r in exported if r["status"] == "removed"]
        assert (removed["order_ref"], removed["tx_hash"]) == ("D", dropped)
        assert removed["block_height"] is removed["block_hash"] is removed["block_time"] is None
        for r in exported:
            assert r["order_id"] == created[r["order_ref"]]["id"]
            assert r["output_index"] is None
            assert (r["log_index"] is not None) == (r["asset"] == "USDC")
            exact(r, 18 if r["asset"] == "ETH" else 6)
            assert r["price_currency"] is r["rate"] is r["value"] is None
        c_usdc = [r for r in counted if r["order_ref"] == "C" and r["asset"] == "USDC"]
        assert [r["amount"] for r in c_usdc] == ["3.000001"]

        # A period selects by block time: the second chain day only.
        since, until = iso(day0 + DAY)[:10], iso(day0 + 2 * DAY)[:10]
        in_day = [r for r in counted if since <= r["block_time"][:10] < until]
        assert [r["order_ref"] for r in in_day] == ["A", "C", "C"]
        assert b.export_json("--since", since, "--until", until) == in_day
        assert b.export_csv("--since", since, "--until", until) == [as_text(r) for r in in_day]
        assert b.api_pages(2, since=since, until=until) == in_day
        second = iso(day0 + DAY + 7200)  # a time: from C's USDC block on
        assert b.export_json("--since", second) == [r for r in counted if r["block_time"] >= second]

        # Stats, expected from what was created and paid here.
        stats = b.api_stats()
        printed = json.loads(b.cli("stats", "--json"))  # the CLI runs on the real clock
        assert {**printed, "generated_at": None} == {**stats, "generated_at": None}
        statuses = Counter(state(c, o["id"])[0] for o in created.values())
        assert stats["orders"] == {
            s: statuses.get(s, 0)
            for s in ("pending", "processing", "paid", "expired", "cancelled", "invalid")
        }
        assert stats["orders"]["paid"] == 4
        assert (stats["late"], stats["underpaid"]) == (0, 1)
        waits = [int((paid_at[r] - created_at[r]).total_seconds()) for r in paid_at]
        assert stats["median_seconds_to_paid"] == statistics.median_low(waits)
        day1, day2 = paid_at["B"].date().isoformat(), paid_at["F"].date().isoformat()
        assert stats["paid_volume"] == [
            {
                "day": day1,
                "chain": "eth",
                "asset": "ETH",
                "amount": "2.5",
                "amount_base": 5 * ETHER // 2,
                "orders": 2,
            },
            {
                "day": day1,
                "chain": "eth",
                "asset": "USDC",
                "amount": "10",
                "amount_base": 10 * USDC,
                "orders": 1,
            },
            {
                "day": day2,
                "chain": "eth",
                "asset": "USDC",
                "amount": "2.5",
                "amount_base": 2_500_000,
                "orders": 1,
            },
        ]
        later = b.api_stats(since=day2)
        assert later["paid_volume"] == stats["paid_volume"][2:]
        assert sum(later["orders"].values()) == 1  # F
        loop.run_until_complete(eth.source.aclose())
