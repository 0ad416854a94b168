"""Tatum subscriptions follow the open orders: made with an order, deleted when it closes,
reconciled at start-up, and shown (and pruned) by `paywatch tatum subscriptions`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from sqlalchemy import select

from daemon.cli.main import cli
from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.services.order_shape import Order
from daemon.services.orders import NewOrder
from daemon.storage.migrations import upgrade
from daemon.storage.tables import tatum_subscriptions
from tests.integration.tatum.conftest import API_KEY, evm_gateway
from tests.integration.tatum.daemon import (
    create_order,
    eventually,
    get_order,
    tatum_container,
    tatum_daemon,
    tatum_yaml,
)
from tests.support.anvil import Anvil, free_port
from tests.support.keys import ETH_FIRST
from tests.support.server import running_api
from tests.support.single import address_of
from tests.support.tatum_standin import TatumStandin

OTHER_URL = "https://someone-else.example/hook"


def subscriptions_of(standin: TatumStandin, address: str) -> list[str]:
    return [s.id for s in standin.subscriptions if s.address.lower() == address.lower()]


def subscribe_at_tatum(standin: TatumStandin, address: str, url: str) -> str:
    body = {"type": "ADDRESS_EVENT", "attr": {"address": address, "chain": "ETH", "url": url}}
    answer = httpx.post(
        f"{standin.api_url}/v4/subscription", json=body, headers={"x-api-key": API_KEY}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def rows_held(container: Container) -> dict[str, str]:
    query = select(tatum_subscriptions.c.address, tatum_subscriptions.c.id)
    return {str(a): str(i) for a, i in container.db.read(lambda c: c.execute(query).all())}


def open_order(container: Container, ref: str) -> Order:
    new = NewOrder(order_id=ref, chain="eth", asset="ETH", amount="1")
    view = container.db.write(
        lambda conn: container.orders.create(conn, new, container.clock())
    ).view
    return view


def test_each_open_order_has_one_subscription_for_as_long_as_it_is_open(
    standin: TatumStandin, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    with tatum_daemon(standin, eth=gateway, start_heights={"eth": anvil.height()}) as api:
        a = create_order(api, "eth", "ETH", "1", "a")
        b = create_order(api, "eth", "ETH", "1", "b")
        notify_url = f"{api.base_url}/v1/tatum/notifications"
        eventually(lambda: subscriptions_of(standin, a["address"]), what="a subscribed")
        eventually(lambda: subscriptions_of(standin, b["address"]), what="b subscribed")
        for sub in standin.subscriptions:
            assert (sub.type, sub.chain, sub.url, sub.testnet) == (
                "ADDRESS_EVENT",
                "ETH",
                notify_url,
                False,
            )
        assert set(rows_held(api.container)) == {a["address"], b["address"]}

        cancel = httpx.post(f"{api.base_url}/v1/orders/{a['id']}/cancel", headers=api.auth)
        assert cancel.status_code == 200
        eventually(lambda: not subscriptions_of(standin, a["address"]), what="a's deletion")
        anvil.send(b["address"], 10**18)
        eventually(lambda: get_order(api, b["id"])["status"] == "paid", what="b paid")
        eventually(lambda: not subscriptions_of(standin, b["address"]), what="b's deletion")
        eventually(lambda: rows_held(api.container) == {}, what="the rows forgotten")
        c = create_order(api, "eth", "ETH", "1", "c")
        eventually(lambda: subscriptions_of(standin, c["address"]), what="c subscribed")
        assert len(standin.subscriptions) == 1


def test_start_up_adopts_deletes_and_creates_until_tatum_matches_the_open_orders(
    standin: TatumStandin, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    with tatum_container(standin, eth=gateway, start_heights={"eth": anvil.height()}) as c:
        assert c.config.tatum is not None
        notify_url = c.config.tatum.notify_url
        assert notify_url is not None
        # Before the daemon runs: two open orders, one subscribed by a run that crashed
        # before recording it; an orphan of ours; someone else's subscription.
        left_over = open_order(c, "left-over")
        missing = open_order(c, "missing")
        leftover_id = subscribe_at_tatum(standin, address_of(left_over), notify_url)
        orphan_id = subscribe_at_tatum(standin, "0x" + "0e" * 20, notify_url)
        foreign_id = subscribe_at_tatum(standin, "0x" + "f0" * 20, OTHER_URL)
        with running_api(c):
            eventually(lambda: subscriptions_of(standin, address_of(missing)), what="created")
            eventually(lambda: len(rows_held(c)) == 2, what="both recorded")
            ids = {s.id for s in standin.subscriptions}
            assert orphan_id not in ids
            assert foreign_id in ids
            assert subscriptions_of(standin, address_of(left_over)) == [leftover_id]  # adopted
            assert rows_held(c)[address_of(left_over)] == leftover_id
            assert len(ids) == 3


def test_a_subscription_tatum_already_has_is_adopted_not_duplicated(
    standin: TatumStandin, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    with tatum_daemon(standin, eth=gateway, start_heights={"eth": anvil.height()}) as api:
        eventually(lambda: standin.hmac_secret is not None, what="the start-up reconcile")
        time.sleep(0.5)
        notify_url = f"{api.base_url}/v1/tatum/notifications"
        existing = subscribe_at_tatum(standin, ETH_FIRST, notify_url)  # the next address
        order = create_order(api, "eth", "ETH", "1", "first")
        assert order["address"] == ETH_FIRST
        eventually(lambda: rows_held(api.container) == {ETH_FIRST: existing}, what="adopted")
        assert subscriptions_of(standin, ETH_FIRST) == [existing]


def test_the_cli_lists_and_prunes_only_what_no_open_order_needs(
    standin: TatumStandin, anvil: Anvil, tmp_path: Path
) -> None:
    gateway = evm_gateway(standin, anvil)
    port = free_port()
    text = tatum_yaml(f"sqlite:///{tmp_path / 'p.db'}", standin, port=port, eth=gateway)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(text)
    container = build(parse_config(text))
    upgrade(container.db.engine)
    order = open_order(container, "kept")
    container.close()
    notify_url = f"http://127.0.0.1:{port}/v1/tatum/notifications"
    needed = subscribe_at_tatum(standin, address_of(order), notify_url)
    unneeded = subscribe_at_tatum(standin, "0x" + "0e" * 20, notify_url)
    foreign = subscribe_at_tatum(standin, "0x" + "f0" * 20, OTHER_URL)
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["--config", str(config_file), "tatum", "subscriptions", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    listed = run("--json")
    states = {item["id"]: item["state"] for item in listed["subscriptions"]}
    assert states == {needed: "needed", unneeded: "unneeded", foreign: "foreign"}
    assert listed["pruned"] == 0
    assert {s.id for s in standin.subscriptions} == {needed, unneeded, foreign}
    pruned = run("--prune", "--json")
    assert pruned["pruned"] == 1
    assert {s.id for s in standin.subscriptions} == {needed, foreign}
    table = runner.invoke(cli, ["--config", str(config_file), "tatum", "subscriptions"])
    assert table.exit_code == 0
    assert needed in table.stdout
    assert "1 needed, 0 unneeded, 1 foreign" in table.stderr
