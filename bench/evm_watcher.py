"""EVM catch-up through the whole watcher, committed to SQLite, on a real anvil.

    python bench/evm_watcher.py [--quick] [--blocks N] [--transfers N] [--db sqlite|postgres]

Phase 1: the watcher (daemon/watching/engine.py over the EVM adapter) catches up
over N mostly empty blocks: blocks/s (target >= 500). Phase 2: N ERC-20 transfers
to N open orders (paid through the batch-payer contract, 100 per transaction),
caught up and committed: matched transfers/s (target >= 2,000). Both include the
JSON-RPC fetches, matching, order updates, events and the cursor commits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text

from bench import machine_speed
from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.storage.migrations import upgrade
from daemon.storage.tables import transfers
from tests.integration.evm.watching import evm_config, evm_container, order, watcher
from tests.support.anvil import ACCOUNTS, anvil_node, call_data, load_artifact
from tests.support.postgres import postgres_cluster
from tests.support.single import address_of

TARGET_BLOCKS = 500
TARGET_TRANSFERS = 2_000
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@contextmanager
def container_on(db: str, eth_url: str, token: str) -> Iterator[Container]:
    """The watcher's container on SQLite (a temp file) or a throwaway PostgreSQL."""
    if db == "sqlite":
        with evm_container(eth_url, token) as c:
            yield c
        return
    with postgres_cluster() as server:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench"'))
        admin.dispose()
        c = build(parse_config(evm_config(f"{server}/bench", eth_url, token, None)))
        upgrade(c.db.engine)
        try:
            yield c
        finally:
            c.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--blocks", type=int, default=2_000)
    parser.add_argument("--transfers", type=int, default=5_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    n_blocks = 200 if args.quick else args.blocks
    n_transfers = 200 if args.quick else args.transfers
    ok = True
    with tempfile.TemporaryDirectory(), anvil_node() as anvil:
        token = anvil.deploy(load_artifact("TestToken"))
        batch = anvil.deploy(load_artifact("BatchPay"))
        anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
        anvil.send(token, 0, data=call_data("approve(address,uint256)", batch, 2**256 - 1))
        with container_on(args.db, anvil.url, token) as c:
            eth = watcher(c, "eth", anvil.height())
            loop = asyncio.new_event_loop()
            loop.run_until_complete(eth.sync_once())

            anvil.mine(n_blocks)
            t0 = time.perf_counter()
            loop.run_until_complete(eth.sync_once())
            rate = n_blocks / (time.perf_counter() - t0)
            print(
                f"catch-up: {rate:,.0f} blocks/s over {n_blocks} blocks "
                f"(target >= {TARGET_BLOCKS}), committed to {NAMES[args.db]}"
            )
            ok = ok and rate >= TARGET_BLOCKS

            addresses = [
                address_of(order(c, "eth", "USDC", "1", f"b{i}")) for i in range(n_transfers)
            ]
            anvil.rpc("evm_setAutomine", False)
            for i in range(0, n_transfers, 100):
                part = addresses[i : i + 100]
                data = call_data(
                    "payToken(address,address[],uint256[])", token, part, [10**6] * len(part)
                )
                anvil.send(batch, 0, data=data, gas=6_000_000, wait=False)
                anvil.mine()
            anvil.rpc("evm_setAutomine", True)
            blocks = (n_transfers + 99) // 100
            watched = {bytes.fromhex(a[2:]) for a in addresses}
            tip = anvil.height()
            t0 = time.perf_counter()
            scanned = loop.run_until_complete(eth.source.scan(tip - blocks + 1, tip, watched))
            found = sum(len(b.payments) for b in scanned)
            print(f"  the adapter alone: {found / (time.perf_counter() - t0):,.0f} transfers/s")
            t0 = time.perf_counter()
            loop.run_until_complete(eth.sync_once())
            elapsed = time.perf_counter() - t0
            stored = c.db.read(
                lambda conn: conn.execute(select(func.count()).select_from(transfers)).scalar_one()
            )
            rate = stored / elapsed
            print(
                f"matched transfers: {rate:,.0f}/s ({stored} transfers in {blocks} blocks, "
                f"{elapsed:.2f} s; target >= {TARGET_TRANSFERS:,}), committed to {NAMES[args.db]}"
            )
            ok = ok and rate >= TARGET_TRANSFERS and stored == n_transfers
            loop.run_until_complete(eth.source.aclose())
            loop.close()
    print(machine_speed.report())
    print("within targets" if ok else "MISSED a target")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
