"""``paywatch reconcile`` and ``paywatch address gaps`` on litecoind regtest.

Reconcile: a clean run over single payments and one ``sendmany`` paying several orders
passes; an amount or a script edited in the database and a block invalidated (and
replaced) while the daemon was stopped are each found. Gaps: agrees with which order
addresses the node's blocks pay (walked here), and the descriptor with its range derives
exactly the orders' addresses (``deriveaddresses``: Debian's litecoind has no descriptor
wallets for ``importdescriptors``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from daemon.cli.main import cli
from daemon.runtime.container import Container
from daemon.storage.tables import orders, transfers
from tests.integration.bitcoin.watching import Order, chains_yaml, watched_container, watcher
from tests.support.configs import config_yaml
from tests.support.litecoind import Litecoind

SAT = Decimal("0.00000001")


@pytest.fixture
def setup(node: Litecoind, tmp_path: Path) -> Iterator[tuple[Container, Path]]:
    with watched_container(node) as c:
        config = tmp_path / "config.yaml"
        config.write_text(config_yaml(c.config.database_url, extra=chains_yaml(node)))
        yield c, config


def run(config: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def coins(base: int) -> Decimal:
    return base * SAT


def kinds(report: Any) -> set[tuple[str, str]]:
    return {(d["kind"], d["tx_hash"]) for d in report["differences"]}


def test_reconcile_finds_tampered_amount_script_and_reorg(
    node: Litecoind, setup: tuple[Container, Path], loop: asyncio.AbstractEventLoop
) -> None:
    c, config = setup
    ltc = watcher(c, node, "ltcreg")
    loop.run_until_complete(ltc.sync_once())
    single = Order(c, "ltcreg", 150_000_000, 1)
    many = [Order(c, "ltcreg", 10_000_000 * (n + 1), n + 10) for n in range(3)]
    single_tx = node.send(single.pay_to, coins(single.amount_base))
    many_tx = node.send_many({o.pay_to: coins(o.amount_base) for o in many})
    node.mine(2)
    loop.run_until_complete(ltc.sync_once())

    code, report = run(config, "reconcile", "ltcreg")
    assert code == 0, report
    assert report["checked"] == 4 == report["ok"]
    assert report["differences"] == []

    # (a) an amount edited in the database
    c.db.write(
        lambda conn: conn.execute(
            update(transfers)
            .where(transfers.c.tx_hash == single_tx)
            .values(amount_base=single.amount_base - 1)
        )
    )
    code, report = run(config, "reconcile", "ltcreg")
    assert code == 1
    assert kinds(report) == {("amount_differs", single_tx)}
    assert report["differences"][0]["node_says"].endswith(
        f"is {single.amount_base}, not {single.amount_base - 1}"
    )
    c.db.write(
        lambda conn: conn.execute(
            update(transfers)
            .where(transfers.c.tx_hash == single_tx)
            .values(amount_base=single.amount_base)
        )
    )

    # (b) an order's script edited in the database (another order's script)
    c.db.write(
        lambda conn: conn.execute(
            update(orders)
            .where(orders.c.id == many[0].id)
            .values(script=b"\x00\x14" + b"\x01" * 20)
        )
    )
    code, report = run(config, "reconcile", "ltcreg")
    assert code == 1
    assert kinds(report) == {("address_differs", many_tx)}
    says = " | ".join(d["node_says"] for d in report["differences"])
    assert f"pays script {many[0].script.hex()}" in says  # what the node has
    assert "is not the key's address at index" in says
    c.db.write(
        lambda conn: conn.execute(
            update(orders).where(orders.c.id == many[0].id).values(script=many[0].script)
        )
    )
    assert run(config, "reconcile", "ltcreg")[0] == 0

    # (c) the sendmany's block invalidated and replaced while the daemon is stopped; the
    # transactions go back to the mempool, and the watcher is not run again.
    many_height = node.rpc("getrawtransaction", many_tx, True)["confirmations"]
    block = node.rpc("getrawtransaction", many_tx, True)["blockhash"]
    height = node.rpc("getblockheader", block)["height"]
    assert many_height >= 1
    node.invalidate(block)
    node.rpc("prioritisetransaction", single_tx, 0, -(10**8))  # keep the payments out
    node.rpc("prioritisetransaction", many_tx, 0, -(10**8))
    node.mine(3, node.new_address("legacy"))
    code, report = run(config, "reconcile", "ltcreg")
    assert code == 1
    assert kinds(report) == {("reorged", single_tx), ("reorged", many_tx)}
    for item in report["differences"]:
        assert f"at height {height} is not on the node's best chain" in item["node_says"]
        assert "unconfirmed (in the mempool)" in item["node_says"]
    code, report = run(config, "reconcile", "ltcreg", "--from-height", str(height + 1))
    assert code == 0
    assert report["checked"] == 0
    node.reconsider(block)
    loop.run_until_complete(ltc.source.aclose())


def node_paid_scripts(node: Litecoind, first: int) -> set[str]:
    """Every output script in the node's blocks from ``first`` to its tip."""
    paid: set[str] = set()
    for height in range(first, node.height() + 1):
        block = node.rpc("getblock", node.block_hash(height), 2)
        for tx in block["tx"]:
            paid.update(out["scriptPubKey"]["hex"] for out in tx["vout"])
    return paid


def expected_run(paid: set[int], highest: int) -> int:
    longest = run = 0
    for index in range(highest + 1):
        run = 0 if index in paid else run + 1
        longest = max(longest, run)
    return longest


def test_gaps_agree_with_the_orders_and_the_descriptor_derives_them(
    node: Litecoind, setup: tuple[Container, Path], loop: asyncio.AbstractEventLoop
) -> None:
    c, config = setup
    watchers = [watcher(c, node, chain) for chain in ("btcreg", "ltcreg")]
    start = node.height() + 1
    for w in watchers:
        loop.run_until_complete(w.sync_once())
    chains = ["ltcreg" if n % 3 else "btcreg" for n in range(40)]
    made = [Order(c, chain, 1_000_000, n) for n, chain in enumerate(chains)]
    paid_now = [made[n] for n in (0, 1, 5, 6, 30)]  # runs of 3, 23 (and 9 at the end)
    node.send_many({o.pay_to: coins(o.amount_base) for o in paid_now})
    node.mine(1)
    node.send(made[33].pay_to, coins(made[33].amount_base))  # only in the mempool
    for w in watchers:
        loop.run_until_complete(w.sync_once())

    code, gaps = run(config, "address", "gaps")
    assert code == 0
    (key,) = [g for g in gaps if "ltcreg" in g["chains"]]
    assert key["chains"] == ["btcreg", "ltcreg"]  # one xpub: one index sequence
    highest = len(made) - 1
    assert key["highest_index"] == highest
    scripts = node_paid_scripts(node, start)
    runs = {}
    for chain in ("btcreg", "ltcreg"):
        paid = {i for i, o in enumerate(made) if o.script.hex() in scripts and chains[i] == chain}
        runs[chain] = expected_run(paid, highest)
        assert key["per_chain"][chain]["longest_unpaid_run"] == runs[chain]
    assert key["longest_unpaid_run"] == max(runs.values())
    assert key["gap_limit"] == max(max(runs.values()) + 1, 20)
    assert run(config, "address", "gaps", "ltcreg")[1] == [key]

    # The descriptor and range derive exactly the orders' scripts, index by index.
    request = key["importdescriptors"]
    assert request["method"] == "importdescriptors"
    entries = request["params"][0]
    assert [e["range"] for e in entries] == [[0, highest]] * 2
    for chain, entry in zip(("btcreg", "ltcreg"), entries, strict=True):
        assert entry["desc"] == key["descriptors"][chain]
        derived = node.rpc("deriveaddresses", entry["desc"], entry["range"])
        derived_scripts = [node.rpc("validateaddress", a)["scriptPubKey"] for a in derived]
        for index, o in enumerate(made):
            if chains[index] == chain:
                assert derived_scripts[index] == o.script.hex()
    for w in watchers:
        loop.run_until_complete(w.source.aclose())
