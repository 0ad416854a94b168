"""Torture on a Bitcoin-family chain: `paywatch run` over a real litecoind regtest node,
full, part and over payments (several orders in one ``sendmany``), RBF bumps and
double-spends of mempool payments, reorgs (``invalidateblock``, then new blocks mined
to another address: the payments come back through the mempool), SIGKILLs, rescans,
orders made while the daemon is down; then every order checked against the chain
(and its mempool) and the store's log.

Seeds: tests/torture/seeding.py (``./dev torture --seed N --rounds N`` replays one).
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import SECRET
from tests.support.litecoind import Litecoind, RpcFailed, litecoind_available, litecoind_node
from tests.support.postgres import free_port
from tests.torture.chain_truth import Truth, bitcoin_truth
from tests.torture.configs import CONFIRMATIONS, ltc_chain, torture_config
from tests.torture.daemon import Daemon
from tests.torture.play import PROBE_EXPIRY, Player, decimal_amount
from tests.torture.scenario import Step, plan
from tests.torture.seeding import rounds, seeds
from tests.torture.store import store_process

pytestmark = pytest.mark.skipif(not litecoind_available(), reason="litecoind: ./dev setup")

SATS = Decimal(10) ** 8


def config(inst: Installation, node: Litecoind, store_url: str) -> str:
    return torture_config(inst, store_url, ltc_chain(node))


class BitcoinPlayer(Player):
    chain = "ltc"
    bitcoin = True
    confirmations = CONFIRMATIONS

    def __init__(self, seed: int, daemon: Daemon, store_log: Path, node: Litecoind) -> None:
        super().__init__(seed, daemon, store_log)
        self.node = node
        self.start = node.height()
        self.payments: list[str] = []  # txids, newest last
        self.gone: set[str] = set()
        self.reorged: set[str] = set()
        self.scripts: dict[str, str] = {}

    def amount(self, asset: str) -> str:
        return decimal_amount(self.rng, 1_000, 50_000, 5)

    def where(self, order: dict[str, Any]) -> str:
        address = order["address"]
        if address not in self.scripts:
            self.scripts[address] = str(self.node.rpc("validateaddress", address)["scriptPubKey"])
        return self.scripts[address]

    def pay(self, order: dict[str, Any], base: int) -> None:
        self.payments.append(self.node.send(order["address"], Decimal(base) / SATS))

    def batch(self, orders: list[dict[str, Any]], bases: list[int]) -> None:
        amounts = {o["address"]: Decimal(b) / SATS for o, b in zip(orders, bases, strict=True)}
        self.payments.append(self.node.send_many(amounts))

    def mine(self, blocks: int) -> None:
        self.node.mine(blocks)

    def tip(self) -> int:
        return self.node.height()

    def vanished(self) -> set[str]:
        return self.gone

    def moved(self) -> set[str]:
        return self.reorged

    def _invalidate(self, depth: int) -> None:
        """Invalidate the last ``depth`` blocks: their transactions go back to the
        mempool, except those that no longer fit (a spend of a coinbase that is now
        immature): those truly vanish."""
        for height in range(self.tip() - depth + 1, self.tip() + 1):
            self.reorged |= set(self.node.rpc("getblock", self.node.block_hash(height), 1)["tx"])
        self.node.invalidate(self.node.block_hash(self.tip() - depth + 1))
        self._note_vanished()

    def _note_vanished(self) -> None:
        pool = set(self.node.mempool())
        for txid in self.payments:
            if (
                txid not in pool
                and int(self.node.rpc("gettransaction", txid)["confirmations"]) <= 0
            ):
                self.gone.add(txid)

    def probe_expiry(self) -> int:
        """Blocks mined fast run ahead of the clock (each must pass the median of the
        last 11): the probe's expiry leaves room for that."""
        tip_time = int(self.node.rpc("getblockheader", self.node.block_hash(self.tip()))["time"])
        return PROBE_EXPIRY + max(0, tip_time + 1 - int(time.time()))

    def _replaceable(self) -> str | None:
        """The newest payment still in the mempool with no descendants."""
        pool = set(self.node.mempool())
        for txid in reversed(self.payments):
            if txid in pool and txid not in self.gone:
                entry = self.node.rpc("getmempoolentry", txid)
                if int(entry["descendantcount"]) == 1:
                    return txid
        return None

    def chain_step(self, step: Step) -> None:
        if step.kind == "bump":
            txid = self._replaceable()
            if txid is not None:
                try:
                    self.payments.append(self.node.bump_fee(txid))
                    self.gone.add(txid)
                except RpcFailed as exc:
                    print(f"seed {self.seed}: bumpfee {txid} refused: {exc}")
        elif step.kind == "double_spend":
            txid = self._replaceable()
            if txid is not None:
                self.node.redirect(txid, self.node.new_address())
                self.gone.add(txid)
                self._note_vanished()  # with it, any payment that spent its change
        elif step.kind == "reorg":
            depth = min(step.count, self.tip() - self.start)
            if depth > 0:
                self._invalidate(depth)
                self.node.mine(depth + 1)
        elif step.kind == "shorten":
            depth = min(step.count, self.tip() - self.start)
            if depth > 1:  # back to the mempool, then one block for them all: lower
                self._invalidate(depth)
                self.node.mine(1)
        else:
            raise AssertionError(f"no such Bitcoin step {step.kind}")

    def truth(self) -> Truth:
        scripts = [self.where(o) for o in self.orders]
        return bitcoin_truth(self.node, self.start, scripts, "LTC")


@pytest.mark.parametrize("seed", seeds())
def test_bitcoin_torture(seed: int, tmp_path: Path) -> None:
    print(f"torture seed {seed}: PAYWATCH_TORTURE_SEED={seed} ./dev torture replays it")
    inst = Installation(tmp_path, free_port())
    with litecoind_node() as node, store_process(tmp_path, SECRET) as (url, log):
        node.fund(200)  # a hundred mature coinbases: payments never wait for change
        inst.config.write_text(config(inst, node, url))
        daemon = Daemon(inst, seed)
        try:
            daemon.prepare()
            player = BitcoinPlayer(seed, daemon, log, node)
            player.play(plan(seed, rounds(), assets=("LTC",), bitcoin=True))
            player.finish()
        finally:
            daemon.cancel_kill()
            inst.stop_all()
