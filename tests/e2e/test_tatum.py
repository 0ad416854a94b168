"""`paywatch run` with an ETH chain and a Litecoin chain both configured ``kind: tatum``,
through the local Tatum stand-in (gateway to anvil and litecoind, notifications): an
order on each goes from pending to paid. The chains are polled only every 30 s, so
the orders move on Tatum's notifications; their subscriptions come and go with them."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import Installation, wait_for
from tests.integration.tatum.conftest import API_KEY, evm_gateway, ltc_gateway
from tests.integration.tatum.daemon import tatum_yaml
from tests.support.anvil import anvil_available, anvil_node
from tests.support.litecoind import litecoind_available, litecoind_node
from tests.support.postgres import free_port
from tests.support.tatum_standin import tatum_standin

pytestmark = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.skipif(not litecoind_available(), reason="litecoind missing: ./dev setup"),
]
POLL = "30s"


def test_an_eth_and_an_ltc_order_are_paid_through_tatum(tmp_path: Path) -> None:
    with (
        tatum_standin(API_KEY) as standin,
        anvil_node("--chain-id", "1") as anvil,
        litecoind_node() as node,
    ):
        node.fund()
        eth = evm_gateway(standin, anvil)
        ltc = ltc_gateway(standin, node)
        inst = Installation(tmp_path, free_port())
        starts = {"eth": anvil.height(), "ltc": node.height()}
        inst.config.write_text(
            tatum_yaml(
                f"sqlite:///{tmp_path / 'p.db'}",
                standin,
                port=inst.port,
                eth=eth,
                ltc=ltc,
                poll=POLL,
                start_heights=starts,
            )
        )
        try:
            with inst.running() as client:
                made = {}
                for chain, asset in (("eth", "ETH"), ("ltc", "LTC")):
                    body = {"order_id": chain, "chain": chain, "asset": asset, "amount": "0.5"}
                    answer = client.post("/v1/orders", json=body)
                    assert answer.status_code == 201, answer.text
                    made[chain] = answer.json()
                end = time.monotonic() + 20
                while len(standin.subscriptions) < 2 and time.monotonic() < end:
                    time.sleep(0.05)
                listed = inst.cli_json("tatum", "subscriptions")["subscriptions"]
                assert sorted(s["state"] for s in listed) == ["needed", "needed"]
                assert all(made[chain]["status"] == "pending" for chain in made)
                started = time.monotonic()
                anvil.send(made["eth"]["address"], 5 * 10**17)
                node.send(made["ltc"]["address"], Decimal("0.5"))
                assert wait_for(client, made["ltc"]["id"], "processing")["status"] == "processing"
                node.mine(1)
                for order in made.values():
                    view = wait_for(client, order["id"], "paid", 20)
                    assert view["status"] == "paid", (view, inst.log())
                    assert view["received_confirmed"] == "0.5"
                assert time.monotonic() - started < 20  # well inside one 30 s poll
                end = time.monotonic() + 20
                while standin.subscriptions and time.monotonic() < end:
                    time.sleep(0.05)
                assert standin.subscriptions == []  # deleted when the orders closed
        finally:
            inst.stop_all()
        assert API_KEY not in inst.log()
