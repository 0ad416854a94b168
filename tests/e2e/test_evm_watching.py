"""`paywatch run` watching two EVM chains on real anvil nodes: an ETH order, a USDC
order on the first chain and a POL order on a Polygon-like second chain each go from
pending to paid; `chain status` and `chain rescan` see the same chains."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Installation, wait_for
from tests.support.anvil import ACCOUNTS, Anvil, anvil_available, anvil_node, call_data
from tests.support.anvil import load_artifact as artifact
from tests.support.keys import ETH_XPUB
from tests.support.postgres import free_port

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")


def evm_config(db: Path, port: int, eth: Anvil, polygon: Anvil, token: str) -> str:
    return f"""
database_url: sqlite:///{db}
api: {{listen: "127.0.0.1:{port}"}}
chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: 2
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{token}", decimals: 6}}}}
    start_height: 0
    backend: {{kind: rpc, urls: ["{eth.url}"], ws_url: "{eth.ws_url}", poll_interval: 1s}}
  polygon:
    type: evm
    chain_id: 137
    xpub: {ETH_XPUB}
    confirmations: 3
    start_height: 0
    backend: {{kind: rpc, urls: ["{polygon.url}"], poll_interval: 1s}}
"""


@pytest.fixture
def two_chains() -> Iterator[tuple[Anvil, Anvil]]:
    with anvil_node() as eth, anvil_node("--chain-id", "137") as polygon:
        yield eth, polygon


def test_orders_on_two_evm_chains_get_paid(tmp_path: Path, two_chains: tuple[Anvil, Anvil]) -> None:
    eth, polygon = two_chains
    token = eth.deploy(artifact("TestToken"))
    eth.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**12))
    inst = Installation(tmp_path, free_port())
    inst.config.write_text(evm_config(tmp_path / "p.db", inst.port, eth, polygon, token))
    try:
        with inst.running() as client:

            def order(chain: str, asset: str, amount: str) -> Any:
                body = {
                    "order_id": f"{chain}-{asset}",
                    "chain": chain,
                    "asset": asset,
                    "amount": amount,
                }
                answer = client.post("/v1/orders", json=body)
                assert answer.status_code == 201, answer.text
                return answer.json()

            eth_order = order("eth", "ETH", "0.5")
            usdc_order = order("eth", "USDC", "12.5")
            pol_order = order("polygon", "POL", "1")
            eth.send(eth_order["address"], 5 * 10**17)
            assert wait_for(client, eth_order["id"], "processing")["status"] == "processing"
            eth.send(
                token,
                0,
                data=call_data("transfer(address,uint256)", usdc_order["address"], 12_500_000),
            )
            polygon.send(pol_order["address"], 10**18)
            eth.mine(2)
            polygon.mine(3)
            for made in (eth_order, usdc_order, pol_order):
                view = wait_for(client, made["id"], "paid")
                assert view["status"] == "paid", view
                assert view["exception"] == "none"
                assert view["received"] == made["amount"]
                [payment] = view["payments"]
                assert payment["confirmations"] >= 2
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            chains = ready.json()["checks"]["chains"]
            assert chains["eth"]["in_sync"]
            assert chains["polygon"]["processed"] == polygon.height()
        status = {row["chain"]: row for row in inst.cli_json("chain", "status")}
        assert status["eth"]["head"] == eth.height()
        assert status["polygon"]["lag"] is not None
        http = [e for row in status.values() for e in row["endpoints"] if e["url"][:4] == "http"]
        assert len(http) == 2
        assert all(e["healthy"] for e in http), http
        rescanned = inst.cli_json("chain", "rescan", "eth", "--from", "0")
        assert rescanned["payments"] == 2  # the ETH and the USDC payment, seen again
        after = inst.cli_json("order", "show", eth_order["id"])
        assert after["status"] == "paid"
        assert len(after["payments"]) == 1  # seen again, not counted again
    finally:
        inst.stop_all()
