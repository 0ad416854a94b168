"""Torture on an EVM chain: `paywatch run` over a real anvil, native ETH and an ERC-20
(single transfers and several orders in one BatchPay transaction), full, part and
over payments, SIGKILLs at random moments, reorgs that re-mine the same signed
transactions elsewhere (or drop some, then maybe send them again), one reorg deeper
than the daemon remembers, rescans, orders made while the daemon is down (also before
its first sync); then every order checked against the chain and the store's log.

Seeds: tests/torture/seeding.py (``./dev torture --seed N --rounds N`` replays one).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import SECRET
from tests.support.anvil import anvil_available, anvil_node
from tests.support.postgres import free_port
from tests.torture.chain_truth import Truth, evm_truth
from tests.torture.configs import CONFIRMATIONS, evm_chain, torture_config
from tests.torture.daemon import Daemon
from tests.torture.evm_node import EvmNode
from tests.torture.play import Player, decimal_amount
from tests.torture.scenario import Step, plan
from tests.torture.seeding import rounds, seeds
from tests.torture.store import store_process

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")

FINALIZED_LAG = 64  # anvil's finalized tag trails its head by this many blocks


def config(inst: Installation, evm: EvmNode, store_url: str, database_url: str = "") -> str:
    return torture_config(inst, store_url, evm_chain(evm), database_url=database_url)


class EvmPlayer(Player):
    chain = "eth"
    confirmations = CONFIRMATIONS
    finalized_share = 0.2

    def __init__(self, seed: int, daemon: Daemon, store_log: Path, evm: EvmNode) -> None:
        super().__init__(seed, daemon, store_log)
        self.evm = evm
        self.start = evm.tip()

    def amount(self, asset: str) -> str:
        if asset == "ETH":
            return decimal_amount(self.rng, 100, 50_000, 6)
        return decimal_amount(self.rng, 100, 99_999, 2)

    def pay(self, order: dict[str, Any], base: int) -> None:
        if order["asset"] == "ETH":
            self.evm.pay_native(order["address"], base)
        else:
            self.evm.pay_token(order["address"], base)

    def batch(self, orders: list[dict[str, Any]], bases: list[int]) -> None:
        self.evm.pay_batch([o["address"] for o in orders], bases)

    def mine(self, blocks: int) -> None:
        self.evm.mine(blocks)

    def tip(self) -> int:
        return self.evm.tip()

    def vanished(self) -> set[str]:
        return self.evm.vanished

    def moved(self) -> set[str]:
        return self.evm.moved

    def settle_blocks(self) -> int:
        finalized = any(o["confirmations_required"] == "finalized" for o in self.orders)
        return FINALIZED_LAG + 2 if finalized else CONFIRMATIONS + 1

    def chain_step(self, step: Step) -> None:
        if step.kind == "reorg":
            self.evm.reorg(step.count, drop_chance=0.25)
        elif step.kind == "shorten":
            self.evm.shorten(step.count)
        elif step.kind == "resend":
            self.evm.resend_dropped()
        elif step.kind == "deep_reorg":
            self.deep_reorg(step.count)
        else:
            raise AssertionError(f"no such EVM step {step.kind}")

    def deep_reorg(self, beyond: int) -> None:
        """Two payments in one block, buried under more blocks than the daemon keeps and
        processed; then the chain reorganised down past them: one is mined again a block
        later, the other is gone. The first must stay counted, the second be reversed."""
        kept = self.daemon.create(self.body("ETH", confirmations=CONFIRMATIONS))
        lost = self.daemon.create(self.body("ETH", confirmations=CONFIRMATIONS))
        self.orders += [kept, lost]
        tx_hash = self.evm.pay_native(kept["address"], int(kept["amount_base"]))
        self.evm.pay_native(lost["address"], int(lost["amount_base"]))
        self.evm.mine(beyond + 1)
        self.daemon.quiesce([kept["id"], lost["id"]], {self.chain: self.tip})
        self.evm.deep_reorg(tx_hash, beyond + 1)

    def truth(self) -> Truth:
        addresses = [o["address"] for o in self.orders]
        return evm_truth(self.evm.node, self.start, addresses, {"USDC": self.evm.token}, "ETH")


@pytest.mark.parametrize("seed", seeds())
def test_evm_torture(seed: int, tmp_path: Path) -> None:
    print(f"torture seed {seed}: PAYWATCH_TORTURE_SEED={seed} ./dev torture replays it")
    inst = Installation(tmp_path, free_port())
    with anvil_node("--no-mining") as node, store_process(tmp_path, SECRET) as (url, log):
        evm = EvmNode(node, random.Random(seed + 2))
        evm.setup()
        inst.config.write_text(config(inst, evm, url))
        daemon = Daemon(inst, seed)
        try:
            daemon.prepare()
            player = EvmPlayer(seed, daemon, log, evm)
            player.play(plan(seed, rounds(), assets=("ETH", "USDC"), bitcoin=False))
            player.finish()
        finally:
            daemon.cancel_kill()
            inst.stop_all()
