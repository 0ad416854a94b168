"""Torture of orders priced in fiat (issue 17): `paywatch run` on SQLite over a real
anvil (ETH and the test ERC-20 as USDC) and a litecoind regtest node, fixed EUR and USD
rates, orders with one option or several (addresses taken eagerly or, by the seed,
lazily when the customer picks), some expiring soon; payments in one coin or across two
(rounded up to base units with fractions), short, exact, over and late; reorgs on both
chains, some dropping one coin of a two-coin payment; SIGKILLs and restarts. At the end
every order's status, exception and received_value against the nodes' best chains
(each credit worth its share of its option's amount due, exact fractions), its payments
against the credits, each fact under one webhook-id, legal moves, no error loop.

Seeds: tests/torture/seeding.py (``./dev torture --seed N --rounds N`` replays one).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.e2e.conftest import Installation
from tests.integration.fiat.shop import fixed_rates_yaml
from tests.integration.webhooks.conftest import SECRET
from tests.support.anvil import anvil_available, anvil_node
from tests.support.litecoind import Litecoind, litecoind_available, litecoind_node
from tests.support.postgres import free_port
from tests.torture.configs import evm_chain, ltc_chain, torture_config
from tests.torture.daemon import Daemon
from tests.torture.evm_node import EvmNode
from tests.torture.fiat_plan import plan
from tests.torture.fiat_player import FiatPlayer
from tests.torture.seeding import rounds, seeds
from tests.torture.store import store_process

pytestmark = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.skipif(not litecoind_available(), reason="litecoind: ./dev setup"),
]


def address_mode(seed: int) -> str:
    """Eager or lazy addresses, drawn from the seed (CI's seeds 11 and 29 take one each)."""
    return "lazy" if random.Random(seed + 5).random() < 0.5 else "eager"


def config(inst: Installation, evm: EvmNode, ltc: Litecoind, store_url: str, mode: str) -> str:
    chains = evm_chain(evm) + ltc_chain(ltc)
    orders = f", addresses: {mode}"
    return torture_config(inst, store_url, chains, orders=orders, extra=fixed_rates_yaml())


@pytest.mark.parametrize("seed", seeds())
def test_fiat_torture(seed: int, tmp_path: Path) -> None:
    mode = address_mode(seed)
    print(f"fiat torture seed {seed} ({mode} addresses): PAYWATCH_TORTURE_SEED={seed} replays it")
    inst = Installation(tmp_path, free_port())
    with (
        anvil_node("--no-mining") as node,
        litecoind_node() as ltc,
        store_process(tmp_path, SECRET) as (url, log),
    ):
        ltc.fund(200)  # a hundred mature coinbases: payments never wait for change
        evm = EvmNode(node, random.Random(seed + 2))
        evm.setup()
        inst.config.write_text(config(inst, evm, ltc, url, mode))
        daemon = Daemon(inst, seed)
        try:
            daemon.prepare()
            player = FiatPlayer(seed, daemon, log, evm, ltc)
            player.play(plan(seed, rounds()))
            player.finish()
        finally:
            daemon.cancel_kill()
            inst.stop_all()
