"""`paywatch run` after an order was created and paid while the daemon was stopped: the
chain's first sync starts early enough to find the payment, and `order.paid` is sent."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Installation, wait_for
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.anvil import anvil_available, anvil_node
from tests.support.keys import ETH_XPUB
from tests.support.postgres import free_port
from tests.support.receiver import webhook_receiver

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")


def test_an_order_made_and_paid_while_the_daemon_was_stopped_gets_paid(tmp_path: Path) -> None:
    with anvil_node() as anvil, webhook_receiver(SECRET) as store:
        anvil.mine(5)
        inst = Installation(tmp_path, free_port())
        # No start_height: the chain has never been watched, as on a first start.
        inst.config.write_text(
            f"""
database_url: sqlite:///{tmp_path / "paywatch.db"}
api: {{listen: "127.0.0.1:{inst.port}"}}
{webhooks_yaml(store.url, poll_interval="1s")}
chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: 2
    native: {{symbol: ETH, decimals: 18}}
    backend: {{kind: rpc, urls: ["{anvil.url}"], poll_interval: 1s}}
"""
        )
        try:
            inst.cli("db", "upgrade")
            key = inst.cli_json("apikey", "create")["key"]
            made = inst.cli_json(
                "order", "create", "--chain", "eth", "--asset", "ETH", "--amount", "0.5",
                "--order-id", "E2E-FIRST-SYNC",
            )  # fmt: skip
            anvil.send(made["address"], 5 * 10**17)
            anvil.mine(3)
            inst.start()
            auth = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=inst.base_url, headers=auth, timeout=10) as client:
                view = wait_for(client, made["id"], "paid")
            on_chain = anvil.balance(made["address"])
            assert on_chain == 5 * 10**17
            assert view["status"] == "paid", view
            assert int(view["received_base"]) == on_chain
            # Generous: one attempt that fails on a loaded machine makes the store's
            # endpoint wait for its next probe (30 s) before the backlog goes.
            deadline = time.monotonic() + 120
            while "order.paid" not in [r.type for r in store.received]:
                seen = [r.type for r in store.received]
                assert time.monotonic() < deadline, f"no order.paid among {seen}: {inst.log()}"
                time.sleep(0.05)
            paid = next(r for r in store.received if r.type == "order.paid")
            assert paid.verified == (True,)
            assert paid.payload["data"]["id"] == made["id"]
        finally:
            inst.stop_all()
