"""Torture on PostgreSQL: cancels and expiries racing the block that pays the order.

Each round makes three orders on an anvil chain watched by `paywatch run` on a
throwaway PostgreSQL cluster, puts full payments for two of them in the mempool, and
mines one block: order A is cancelled at a seeded moment around that block, order B
expires a seeded moment before or after it, order C (unpaid or underpaid) simply
expires. Then each order must say what the chain and the accepted cancels say: a
cancel the API accepted is final (never cancelled -> paid), B is paid exactly when
its block is dated at or before its expiry (either verdict within two seconds of it),
and the store must have seen only legal moves.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import SECRET
from tests.support.anvil import anvil_available, anvil_node
from tests.support.postgres import free_port
from tests.torture.daemon import Daemon
from tests.torture.evm_node import EvmNode
from tests.torture.scenario import Step
from tests.torture.seeding import rounds, seeds
from tests.torture.store import store_process
from tests.torture.test_evm import EvmPlayer, config
from tests.torture.verdict import parse_time

pytestmark = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.postgres,
]

FUZZ_SECONDS = 2.0  # a block this close to expiry may be judged either way


class RacePlayer(EvmPlayer):
    finalized_share = 0.0

    def race(self, rng: random.Random) -> None:
        """One round: the three orders, their payments, the racing cancel and block."""
        d = self.daemon
        lifetime = rng.randint(3, 5)
        a = d.create(self.body("ETH"))
        b = d.create(self.body("ETH", expires_in=lifetime))
        c = d.create(self.body("ETH", expires_in=lifetime))
        self.orders += [a, b, c]
        self.evm.pay_native(a["address"], int(a["amount_base"]))
        self.evm.pay_native(b["address"], int(b["amount_base"]))
        if rng.random() < 0.5:
            self.evm.pay_native(c["address"], int(c["amount_base"]) // 2)
        mine_at = parse_time(b["expires_at"]).timestamp() + rng.uniform(-1.5, 1.5)
        cancel_at = mine_at + rng.uniform(-0.6, 1.2)
        cancelled: list[int] = []

        def cancel() -> None:
            time.sleep(max(0.0, cancel_at - time.time()))
            cancelled.append(d.cancel(a["id"]))

        canceller = threading.Thread(target=cancel)
        canceller.start()
        time.sleep(max(0.0, mine_at - time.time()))
        self.evm.mine()
        canceller.join(30)
        block = self.evm.node.rpc("eth_getBlockByNumber", "latest", False)
        block_time = int(block["timestamp"], 16)
        self.log.append(
            f"race: cancel {a['id']} answered {cancelled}; block at {block_time} vs "
            f"{b['id']} expiring {b['expires_at']}"
        )
        assert cancelled, f"seed {self.seed}: the cancel of {a['id']} never answered"
        assert cancelled[0] in (200, 409), f"seed {self.seed}: cancel answered {cancelled}"
        if cancelled[0] == 200:
            self.cancelled.add(a["id"])
        if abs(block_time - parse_time(b["expires_at"]).timestamp()) < FUZZ_SECONDS:
            self.fuzzy.add(b["id"])
        self.mine(self.confirmations)


@pytest.mark.parametrize("seed", seeds())
def test_cancels_and_expiries_race_blocks_on_postgres(
    seed: int, tmp_path: Path, postgres_server: str
) -> None:
    print(f"torture seed {seed}: PAYWATCH_TORTURE_SEED={seed} ./dev torture replays it")
    name = f"torture_{seed}_{datetime.now(UTC):%H%M%S%f}"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    inst = Installation(tmp_path, free_port())
    try:
        with anvil_node("--no-mining") as node, store_process(tmp_path, SECRET) as (url, log):
            evm = EvmNode(node, random.Random(seed + 2))
            evm.setup()
            inst.config.write_text(config(inst, evm, url, f"{postgres_server}/{name}"))
            daemon = Daemon(inst, seed)
            try:
                daemon.prepare()
                player = RacePlayer(seed, daemon, log, evm)
                player.step(Step("start"))
                rng = random.Random(seed)
                for _ in range(rounds()):
                    player.race(rng)
                player.finish()
            finally:
                daemon.cancel_kill()
                inst.stop_all()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
