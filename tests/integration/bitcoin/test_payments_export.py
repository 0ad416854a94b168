"""The payments export on litecoind regtest: CSV, JSON and the API's pages agree with
each other and with the outputs the node's blocks pay to the orders' scripts (output
indexes, one sendmany paying two orders); a payment double-spent away after a reorg is
a removed row, an unconfirmed one a counted row without block fields; --since/--until
select by block time (blocks dated days apart with setmocktime)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from daemon.watching.engine import ChainWatcher
from tests.integration.accounting.books import as_text, books, exact
from tests.integration.bitcoin.watching import Order, chains_yaml
from tests.support.configs import config_yaml
from tests.support.litecoind import Litecoind
from tests.support.watching import chain_watcher

DAY = 86400
COIN = Decimal(100_000_000)


def sync(w: ChainWatcher) -> None:
    asyncio.run(w.sync_once())


def iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def node_rows(node: Litecoind, orders: dict[str, Order], start: int) -> set[tuple[Any, ...]]:
    """(order ref, tx, output index, height, block hash, block time, base units) of every
    output paying an order's script in the node's best chain now."""
    by_script = {o.script.hex(): ref for ref, o in orders.items()}
    found: set[tuple[Any, ...]] = set()
    for height in range(start + 1, node.height() + 1):
        block = node.rpc("getblock", node.block_hash(height), 2)
        for tx in block["tx"]:
            for out in tx["vout"]:
                ref = by_script.get(out["scriptPubKey"]["hex"])
                if ref is not None:
                    base = int(Decimal(str(out["value"])) * COIN)
                    stamp = iso(block["time"])
                    found.add((ref, tx["txid"], out["n"], height, block["hash"], stamp, base))
    return found


def test_export_and_api_agree_with_litecoind(node: Litecoind) -> None:
    extra = chains_yaml(node)
    with books(lambda url: config_yaml(url, extra=extra)) as b:
        c = b.container
        start = node.height()
        w = chain_watcher(c, "ltcreg", start_height=start)
        refs = {"X": 100_000_000, "Y": 50_000_000, "M": 1_000_000, "D": 2_000_000, "P": 10**7}
        orders = {ref: Order(c, "ltcreg", base, n) for n, (ref, base) in enumerate(refs.items())}
        ref_of = {o.id: ref for ref, o in orders.items()}
        day0 = (node.rpc("getblockheader", node.block_hash(start))["time"] // DAY + 2) * DAY
        try:
            node.rpc("setmocktime", day0 + 3600)
            node.send(orders["X"].pay_to, "0.4")
            node.send_many({orders["X"].pay_to: "0.6", orders["Y"].pay_to: "0.5"})
            node.mine(2)
            sync(w)
            node.rpc("setmocktime", day0 + DAY + 3600)
            node.send(orders["M"].pay_to, "0.01")
            dropped = node.send(orders["D"].pay_to, "0.02")
            (first,) = node.mine(1)
            node.mine(1)
            sync(w)
            node.invalidate(first)  # both back in the mempool
            node.redirect(dropped, node.new_address())  # a double spend replaces one
            node.mine(3, node.new_address())  # the other mined again, elsewhere
            sync(w)
            waiting = node.send(orders["P"].pay_to, "0.1")
            sync(w)

            exported = b.export_json()
            assert b.export_csv() == [as_text(r) for r in exported]
            for limit in (1, 4, 500):
                assert b.api_pages(limit) == exported
            mined = [r for r in exported if r["block_hash"] is not None]
            truth = node_rows(node, orders, start)
            assert {
                (
                    ref_of[r["order_id"]],
                    r["tx_hash"],
                    r["output_index"],
                    r["block_height"],
                    r["block_hash"],
                    r["block_time"],
                    r["amount_base"],
                )
                for r in mined
            } == truth
            assert len(truth) == 4  # X twice (one in the sendmany with Y), Y, M
            assert all(r["status"] == "counted" for r in mined)
            others = [r for r in exported if r["block_hash"] is None]
            assert {(ref_of[r["order_id"]], r["tx_hash"], r["status"]) for r in others} == {
                ("D", dropped, "removed"),
                ("P", waiting, "counted"),
            }
            assert waiting in node.mempool()
            assert dropped not in node.mempool()
            for r in exported:
                assert r["order_ref"] == f"ltcreg-{list(refs).index(ref_of[r['order_id']])}"
                assert (r["chain"], r["asset"], r["log_index"]) == ("ltcreg", "LTC", None)
                assert isinstance(r["output_index"], int)
                exact(r, 8)

            first_day = [r for r in mined if r["block_time"] < iso(day0 + DAY)]
            assert [ref_of[r["order_id"]] for r in first_day] == ["X", "X", "Y"]
            since, until = iso(day0)[:10], iso(day0 + DAY)[:10]
            assert b.export_json("--since", since, "--until", until) == first_day
            assert b.api_pages(2, since=since, until=until) == first_day
            later = b.export_csv("--since", iso(day0 + DAY))
            assert later == [as_text(r) for r in mined if r not in first_day]
        finally:
            node.rpc("setmocktime", 0)
            asyncio.run(w.source.aclose())
