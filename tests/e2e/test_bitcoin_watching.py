"""`paywatch run` watching a real regtest node (Debian's litecoind): a BTC-typed and an
LTC-typed order go pending -> processing (mempool) -> paid, and the store receives every
event, in order, verified with the `standardwebhooks` library."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from tests.e2e.conftest import Installation, wait_for
from tests.support.keys import BTC_REGTEST_VPUB
from tests.support.litecoind import Litecoind, litecoind_available, litecoind_node
from tests.support.postgres import free_port
from tests.support.receiver import webhook_receiver

pytestmark = pytest.mark.skipif(not litecoind_available(), reason="litecoind: ./dev setup")

SECRET = "whsec_" + "ZTJlIGJpdGNvaW4gd2F0Y2hpbmcgdGVzdCBzZWNyZXQh"
CHAINS = {"btcreg": ("bitcoin", "p2wpkh", "BTC"), "ltcreg": ("litecoin", "p2sh-p2wpkh", "LTC")}
PAID_EVENTS = [
    "order.created",
    "order.payment_detected",
    "order.payment_confirmed",
    "order.paid",
]


def config_text(db: Path, port: int, node: Litecoind, hooks: str) -> str:
    text = f"""
database_url: sqlite:///{db}
api: {{listen: "127.0.0.1:{port}"}}
webhooks: {{url: "{hooks}", secret: "{SECRET}", allow_private_targets: true}}
chains:
"""
    for name, (kind, address_type, _) in CHAINS.items():
        text += f"""  {name}:
    type: {kind}
    network: regtest
    xpub: {BTC_REGTEST_VPUB}
    address_type: {address_type}
    confirmations: 2
    start_height: {node.height()}
    backend: {{kind: rpc, url: "{node.url}", user: {node.user}, password: {node.password},
               poll_interval: 1s}}
"""
    return text


def litecoin_address(chain: str, index: int) -> str:
    """Where litecoind's wallet pays the order: the same script, in Litecoin's encoding."""
    address_type = CHAINS[chain][1]
    network = get_network("litecoin", "regtest")
    deriver = BitcoinDeriver.from_config(network, xpub=BTC_REGTEST_VPUB, address_type=address_type)
    return deriver.derive(index).address


def test_btc_and_ltc_orders_go_through_processing_to_paid(tmp_path: Path) -> None:
    with litecoind_node() as node, webhook_receiver(SECRET) as store:
        node.fund()
        inst = Installation(tmp_path, free_port())
        inst.config.write_text(config_text(tmp_path / "p.db", inst.port, node, store.url))
        try:
            with inst.running() as client:
                made = {}
                for chain, (_, _, asset) in CHAINS.items():
                    body = {"order_id": chain, "chain": chain, "asset": asset, "amount": "0.5"}
                    answer = client.post("/v1/orders", json=body)
                    assert answer.status_code == 201, answer.text
                    made[chain] = answer.json()
                    address = litecoin_address(chain, made[chain]["derivation_index"])
                    node.send(address, Decimal("0.5"))
                for order in made.values():
                    view = wait_for(client, order["id"], "processing")
                    assert view["status"] == "processing", view
                    assert view["payments"][0]["confirmations"] == 0
                node.mine(2)
                for order in made.values():
                    view = wait_for(client, order["id"], "paid")
                    assert view["status"] == "paid", view
                    assert view["received_confirmed"] == "0.5"
                end = time.monotonic() + 30
                while len(store.received) < 2 * len(PAID_EVENTS) and time.monotonic() < end:
                    time.sleep(0.1)
            assert all(all(r.verified) for r in store.received)
            for order in made.values():
                types = [r.type for r in store.received if r.payload["data"]["id"] == order["id"]]
                assert types == PAID_EVENTS
            status = {row["chain"]: row for row in inst.cli_json("chain", "status")}
            assert {status[c]["processed"] for c in CHAINS} == {node.height()}
        finally:
            inst.stop_all()
