"""``paywatch reconcile`` on anvil: a clean run passes; an amount or an address edited in
the database and a block reorged away while the daemon was stopped are each found."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select, update

from daemon.cli.main import cli
from daemon.runtime.container import Container
from daemon.storage.tables import orders, transfers
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import evm_config, evm_container, order, watcher
from tests.support.anvil import Anvil, call_data
from tests.support.single import address_of

ETHER = 10**18
USDC = 10**6
OTHER = "0x" + "ab" * 20


def reconcile(config: Path, *args: str, as_json: bool = True) -> tuple[int, Any]:
    argv = ["--config", str(config), "reconcile", "eth", *args] + (["--json"] if as_json else [])
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout) if as_json else result.stdout


def kinds(report: Any) -> set[tuple[str, str]]:
    return {(d["kind"], d["tx_hash"]) for d in report["differences"]}


def transfer_of(c: Container, tx_hash: str) -> Any:
    return c.db.read(
        lambda conn: conn.execute(select(transfers).where(transfers.c.tx_hash == tx_hash)).one()
    )


def test_reconcile_passes_then_finds_tampered_rows_and_a_reorg(
    anvil: Anvil,
    contracts: Contracts,
    loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    with evm_container(anvil.url, contracts.token) as c:
        config = tmp_path / "config.yaml"
        config.write_text(evm_config(c.config.database_url, anvil.url, contracts.token, None))
        eth = watcher(c, "eth", anvil.height())
        loop.run_until_complete(eth.sync_once())
        native = order(c, "eth", "ETH", "1.5", "native")
        token = order(c, "eth", "USDC", "10", "token")
        batch_a = order(c, "eth", "USDC", "5", "batch-a")
        batch_b = order(c, "eth", "USDC", "7", "batch-b")
        forwarded = order(c, "eth", "ETH", "2", "forwarded")
        native_tx = anvil.send(address_of(native), 3 * ETHER // 2)
        token_tx = anvil.send(
            contracts.token,
            0,
            data=call_data("transfer(address,uint256)", token["address"], 10 * USDC),
        )
        receivers = [batch_a["address"], batch_b["address"]]
        batch_tx = anvil.send(
            contracts.batch,
            0,
            data=call_data(
                "payToken(address,address[],uint256[])",
                contracts.token,
                receivers,
                [5 * USDC, 7 * USDC],
            ),
        )
        forward_tx = anvil.send(
            contracts.forwarder, 2 * ETHER, data=call_data("forward(address)", forwarded["address"])
        )
        anvil.mine(2)
        loop.run_until_complete(eth.sync_once())
        paid = [native_tx, token_tx, batch_tx, batch_tx, forward_tx]

        # A clean run: every transfer as booked, the internal one through the trace.
        code, report = reconcile(config)
        assert code == 0, report
        assert report["checked"] == len(paid) == report["ok"]
        assert report["differences"] == []
        assert report["unchecked"] == []
        code, text = reconcile(config, as_json=False)
        assert code == 0
        assert "5 transfers checked, 5 as booked, 0 differences" in str(text)

        # (a) An amount edited in the database.
        row = transfer_of(c, native_tx)
        c.db.write(
            lambda conn: conn.execute(
                update(transfers)
                .where(transfers.c.seq == row.seq)
                .values(amount_base=row.amount_base + 1)
            )
        )
        code, report = reconcile(config)
        assert code == 1
        assert kinds(report) == {("amount_differs", native_tx)}
        (difference,) = report["differences"]
        assert difference["order_id"] == native["id"]
        assert difference[
            "node_says"
        ] == f"the transaction's value is {3 * ETHER // 2}, not " + str(3 * ETHER // 2 + 1)
        c.db.write(
            lambda conn: conn.execute(
                update(transfers)
                .where(transfers.c.seq == row.seq)
                .values(amount_base=row.amount_base)
            )
        )

        # (b) An order's address (and script) edited in the database.
        before = c.db.read(
            lambda conn: conn.execute(
                select(orders.c.address, orders.c.script).where(orders.c.id == token["id"])
            ).one()
        )
        c.db.write(
            lambda conn: conn.execute(
                update(orders)
                .where(orders.c.id == token["id"])
                .values(address=OTHER, script=bytes.fromhex(OTHER[2:]))
            )
        )
        code, report = reconcile(config)
        assert code == 1
        assert kinds(report) == {("address_differs", token_tx)}
        says = sorted(d["node_says"] for d in report["differences"])
        assert len(says) == 2  # the node's log pays another address; the key never made it
        assert says[0].startswith("Transfer log 0 pays ")
        assert OTHER in says[0]
        assert "is not the key's address at index" in says[1]
        c.db.write(
            lambda conn: conn.execute(
                update(orders)
                .where(orders.c.id == token["id"])
                .values(address=before.address, script=before.script)
            )
        )
        assert reconcile(config)[0] == 0

        # --from-height: only what was mined at or above it.
        late = order(c, "eth", "ETH", "1", "late")
        anvil.mine(3)
        late_tx = anvil.send(address_of(late), ETHER)
        late_height = int(anvil.receipt(late_tx)["blockNumber"], 16)
        anvil.mine(2)
        loop.run_until_complete(eth.sync_once())
        code, report = reconcile(config, "--from-height", str(late_height))
        assert code == 0
        assert report["checked"] == 1
        code, report = reconcile(config)
        assert code == 0
        assert report["checked"] == len(paid) + 1

        # (c) The late payment's block reorged away while the daemon is stopped (the
        # watcher is not run again): the transaction is gone from the node.
        depth = anvil.height() - late_height + 1
        anvil.rpc("anvil_reorg", depth, [])
        code, report = reconcile(config)
        assert code == 1
        assert kinds(report) == {("reorged", late_tx)}
        (difference,) = report["differences"]
        assert f"at height {late_height} is not on the node's best chain" in difference["node_says"]
        assert "does not find the transaction" in difference["node_says"]
        code, report = reconcile(config, "--from-height", str(late_height + 100))
        assert code == 0
        assert report["checked"] == 0
        loop.run_until_complete(eth.source.aclose())
