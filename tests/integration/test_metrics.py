"""/metrics of a daemon served for real (an order paid on a watched anvil chain, its
webhooks delivered to a verifying receiver), checked by promtool; the RPC observer
against a real HTTP server; the dispatcher's and the database's counts; deploy/'s
rules and dashboard queries checked by promtool."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Connection, update

from chains.bitcoin.node_rpc import BitcoinRpc
from chains.jsonrpc import JsonRpcClient, RpcError
from chains.watching import ChainUnavailable
from daemon.config.loading import parse_config
from daemon.metrics.rpc import RpcMetrics
from daemon.metrics.webhooks import WebhookMetrics
from daemon.runtime.container import Container, build
from daemon.services.orders import NewOrder
from daemon.storage.migrations import upgrade
from daemon.storage.tables import events
from daemon.webhooks.runner import build_dispatcher
from tests.integration.conftest import ContainerFactory
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.anvil import Anvil, anvil_available, anvil_node, free_port
from tests.support.clock import ManualClock
from tests.support.configs import anvil_chain_yaml, config_yaml
from tests.support.prometheus import (
    ROOT,
    Samples,
    parse,
    promtool_binary,
    run_promtool,
    series,
    total,
    value,
)
from tests.support.receiver import Receiver, fail_times, webhook_receiver
from tests.support.server import RunningApi, running_api

PASSWORD, API_KEY = "s3cretpw-metrics", "SECRETKEY-metrics"
needs_anvil = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def daemon_yaml(db: Path, node: Anvil, receiver: Receiver) -> str:
    # The node's URL carries a password and an API key: neither may reach /metrics.
    url = f"http://paywatch:{PASSWORD}@127.0.0.1:{node.port}/?apikey={API_KEY}"
    return f"""
database_url: sqlite:///{db}
api: {{listen: "127.0.0.1:0"}}
metrics: {{listen: "127.0.0.1:0"}}
{webhooks_yaml(receiver.url)}
{anvil_chain_yaml(url)}"""


@contextlib.contextmanager
def paying_daemon(node: Anvil, receiver: Receiver) -> Iterator[RunningApi]:
    with tempfile.TemporaryDirectory() as tmp:
        container = build(parse_config(daemon_yaml(Path(tmp) / "p.db", node, receiver)))
        upgrade(container.db.engine)
        try:
            with running_api(container) as api:
                yield api
        finally:
            container.close()


def metrics_url(container: Container) -> str:
    assert container.metrics is not None
    eventually(
        lambda: container.metrics is not None and container.metrics.bound is not None,
        "the metrics listener",
    )
    assert container.metrics.bound is not None
    host, port = container.metrics.bound
    return f"http://{host}:{port}/metrics"


def scrape(url: str) -> tuple[str, Samples]:
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text, parse(answer.text)


@needs_anvil
def test_metrics_of_a_daemon_that_took_a_payment() -> None:
    with (
        anvil_node() as node,
        webhook_receiver(SECRET) as receiver,
        paying_daemon(node, receiver) as api,
    ):
        url = metrics_url(api.container)
        made = httpx.post(
            f"{api.base_url}/v1/orders",
            json={"order_id": "m-1", "chain": "eth", "asset": "ETH", "amount": "0.5"},
            headers=api.auth,
            timeout=10,
        )
        assert made.status_code == 201, made.text
        order = made.json()
        node.send(order["address"], 5 * 10**17)

        def paid() -> bool:
            view = httpx.get(f"{api.base_url}/v1/orders/{order['id']}", headers=api.auth)
            return bool(view.json()["status"] == "paid")

        eventually(paid, "the order to be paid")
        node.mine(3)  # the transfer is seen again with more confirmations: still one
        head = node.height()

        def settled() -> bool:
            _, s = scrape(url)
            return (
                value(s, "paywatch_chain_processed_height", chain="eth") == head
                and value(s, "paywatch_webhook_queue_depth") == 0
                and total(s, "paywatch_webhook_deliveries_total") == len(receiver.received)
            )

        eventually(settled, "the watcher and the webhooks to settle")
        text, s = scrape(url)

    assert value(s, "paywatch_build_info", version="0.1.0") == 1
    eth = {"chain": "eth"}
    assert value(s, "paywatch_chain_head_height", **eth) == head
    assert value(s, "paywatch_chain_lag_blocks", **eth) == 0
    assert value(s, "paywatch_chain_in_sync", **eth) == 1
    assert 0 <= (value(s, "paywatch_chain_last_block_age_seconds", **eth) or -1) < 600
    assert value(s, "paywatch_chain_reorgs_total", **eth) == 0
    assert value(s, "paywatch_watcher_restarts_total", **eth) == 0
    synced = value(s, "paywatch_watcher_last_sync_timestamp_seconds", **eth) or 0
    assert time.time() - 120 < synced <= time.time()
    assert value(s, "paywatch_transfers_detected_total", chain="eth", asset="ETH") == 1

    # RPC: counted per endpoint, labelled scheme://host:port only.
    endpoint = f"http://127.0.0.1:{node.port}"
    assert {dict(x)["endpoint"] for x in series(s, "paywatch_rpc_requests_total")} == {endpoint}
    assert total(s, "paywatch_rpc_requests_total", chain="eth") > 5
    requests = total(s, "paywatch_rpc_requests_total", chain="eth")
    timed = value(s, "paywatch_rpc_request_duration_seconds_count", chain="eth", endpoint=endpoint)
    assert timed == requests
    assert value(s, "paywatch_rpc_endpoint_healthy", chain="eth", endpoint=endpoint) == 1
    assert value(s, "paywatch_rpc_endpoint_head_height", chain="eth", endpoint=endpoint) == head
    assert PASSWORD not in text
    assert API_KEY not in text

    assert value(s, "paywatch_orders", status="paid") == 1
    assert value(s, "paywatch_orders", status="pending") == 0
    delivered = value(s, "paywatch_webhook_deliveries_total", outcome="delivered")
    assert delivered == len(receiver.received) >= 2  # order.created, then the payment
    assert value(s, "paywatch_webhook_deliveries_total", outcome="retrying") == 0
    assert value(s, "paywatch_webhook_delivery_duration_seconds_count") == delivered
    assert value(s, "paywatch_webhook_event_latency_seconds_count") == delivered
    assert value(s, "paywatch_webhook_dead_letters") == 0
    assert (value(s, "process_resident_memory_bytes") or 0) > 0
    assert (value(s, "paywatch_job_runs_total", name="orders.refresh") or 0) >= 1
    assert value(s, "paywatch_job_failures_total", name="orders.refresh") == 0
    assert value(s, "paywatch_job_failing", name="orders.address_gap") == 0

    if promtool_binary() is not None or os.environ.get("CI"):  # else the rest still counts
        checked = run_promtool("check", "metrics", stdin=text.encode())
        assert checked.returncode == 0, checked.stdout + checked.stderr


@contextlib.contextmanager
def sqlite_container(tmp_path: Path, extra: str) -> Iterator[Container]:
    container = build(parse_config(config_yaml(f"sqlite:///{tmp_path / 'p.db'}", extra=extra)))
    upgrade(container.db.engine)
    try:
        yield container
    finally:
        container.close()


def test_openmetrics_when_asked_and_nothing_but_metrics_on_the_listener(tmp_path: Path) -> None:
    with (
        sqlite_container(tmp_path, 'metrics: {listen: "127.0.0.1:0"}\n') as container,
        running_api(container),
    ):
        url = metrics_url(container)
        answer = httpx.get(url, headers={"Accept": "application/openmetrics-text"})
        assert answer.headers["content-type"].startswith("application/openmetrics-text")
        assert answer.text.rstrip().endswith("# EOF")
        assert 'paywatch_orders{status="pending"} 0' in answer.text
        assert httpx.get(url.replace("/metrics", "/v1/orders")).status_code == 404


def test_a_taken_metrics_address_leaves_the_daemon_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        extra = f'metrics: {{listen: "127.0.0.1:{port}"}}\n'
        with (
            sqlite_container(tmp_path, extra) as container,
            caplog.at_level(logging.ERROR, "paywatch.metrics"),
            running_api(container) as api,
        ):
            assert httpx.get(f"{api.base_url}/healthz").status_code == 200
            eventually(lambda: "metrics: cannot listen" in caplog.text, "the error")
            assert container.metrics is not None
            assert container.metrics.bound is None
    assert f"127.0.0.1:{port}" in caplog.text


async def _orders(container: Container, count: int) -> list[str]:
    """``count`` new BTC orders; their ids."""

    def create(conn: Connection) -> list[str]:
        made = []
        for i in range(count):
            request = NewOrder(order_id=f"w-{i}", chain="btc", asset="BTC", amount="0.01")
            made.append(str(container.orders.create(conn, request, container.clock()).view["id"]))
        return made

    return await container.db.run(create)


def test_the_dispatcher_reports_each_attempt(make_container: ContainerFactory) -> None:
    clock = ManualClock()
    registry = CollectorRegistry()
    heard = WebhookMetrics(registry)

    async def deliver(url: str) -> None:
        container = make_container(clock=clock, extra=webhooks_yaml(url))
        await _orders(container, 2)
        config, db = container.config.webhooks, container.db
        dispatcher, close = build_dispatcher(config, db, clock, observer=heard)
        try:
            clock.advance(seconds=2)
            assert await dispatcher.run_once() == 2  # one answered 503, one delivered
            clock.advance(minutes=1)
            assert await dispatcher.run_once() == 1  # the retry, delivered
        finally:
            await close()

    with webhook_receiver(SECRET, fail_times(1)) as receiver:
        asyncio.run(deliver(receiver.url))
    s = parse(generate_latest(registry).decode())
    assert value(s, "paywatch_webhook_deliveries_total", outcome="delivered") == 2
    assert value(s, "paywatch_webhook_deliveries_total", outcome="retrying") == 1
    assert value(s, "paywatch_webhook_delivery_duration_seconds_count") == 3
    # Event written at t, delivered at t+2s and (after the retry) at t+62s.
    assert value(s, "paywatch_webhook_event_latency_seconds_count") == 2
    assert value(s, "paywatch_webhook_event_latency_seconds_sum") == 64


def test_orders_and_deliveries_are_counted_in_the_database(
    make_container: ContainerFactory,
) -> None:
    container = make_container(extra=webhooks_yaml("https://store.example/hooks"))
    metrics = container.metrics
    assert metrics is not None

    async def scenario() -> Samples:
        first, *_ = await _orders(container, 3)
        await container.db.run(lambda conn: container.orders.cancel(conn, first, container.clock()))
        await container.db.run(
            lambda conn: conn.execute(
                update(events).where(events.c.seq == 1).values(delivery_status="dead")
            )
        )
        body, _ = await metrics.render(None)
        return parse(body.decode())

    s = asyncio.run(scenario())
    assert value(s, "paywatch_orders", status="pending") == 2
    assert value(s, "paywatch_orders", status="cancelled") == 1
    assert value(s, "paywatch_orders", status="paid") == 0
    assert value(s, "paywatch_webhook_dead_letters") == 1
    # Three order.created and one order.cancelled written; one of them is dead.
    assert value(s, "paywatch_webhook_queue_depth") == 3


class _ScriptedNode:
    """A JSON-RPC endpoint answering as each test step asks."""

    def __init__(self) -> None:
        self.answers: list[web.Response] = []
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answers:
            return self.answers.pop(0)
        if isinstance(body, list):
            return web.json_response([self.answer(call) for call in body])
        return web.json_response(self.answer(body))

    @staticmethod
    def answer(call: dict[str, Any]) -> dict[str, Any]:
        if call["method"] == "refuse":
            return {"id": call["id"], "error": {"code": -32601, "message": "no such method"}}
        return {"id": call["id"], "result": call["method"]}


@contextlib.asynccontextmanager
async def scripted_node() -> AsyncIterator[tuple[_ScriptedNode, str]]:
    node = _ScriptedNode()
    app = web.Application()
    app.router.add_post("/{tail:.*}", node.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield node, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_json_rpc_clients_report_every_request_and_how_it_failed() -> None:
    registry = CollectorRegistry()
    rpc = RpcMetrics(registry)

    async def scenario() -> str:
        async with scripted_node() as (node, url):
            observer = rpc.observer("eth", url + "/v3/KEY")
            client = JsonRpcClient(url + "/v3/KEY", observer=observer, timeout=0.5)
            try:
                assert await client.call("eth_blockNumber") == "eth_blockNumber"
                await client.batch([("a", []), ("b", []), ("refuse", [])])
                with pytest.raises(RpcError):
                    await client.call("refuse")
                node.answers = [web.Response(status=429, headers={"Retry-After": "0"})]
                assert await client.call("eth_chainId") == "eth_chainId"  # retried
                node.answers = [web.Response(status=502, text="bad gateway")]
                with pytest.raises(ChainUnavailable):
                    await client.call("eth_chainId")
                node.answers = [web.Response(status=200, text="<html>")]
                with pytest.raises(ChainUnavailable):
                    await client.call("eth_chainId")
                node.delay = 2.0
                with pytest.raises(ChainUnavailable):
                    await client.call("eth_chainId")
                node.delay = 0.0
                bitcoin = BitcoinRpc(url, user="u", password="p", observer=rpc.observer("btc", url))
                assert await bitcoin.call("getblockcount") == "getblockcount"
                await bitcoin.aclose()
            finally:
                await client.aclose()
            closed = f"http://127.0.0.1:{free_port()}"
            refused = JsonRpcClient(closed, observer=rpc.observer("eth", closed))
            with pytest.raises(ChainUnavailable):
                await refused.call("eth_chainId")
            await refused.aclose()
            return url

    url = asyncio.run(scenario())
    s = parse(generate_latest(registry).decode())
    eth = {"chain": "eth", "endpoint": url}
    assert value(s, "paywatch_rpc_requests_total", **eth, method="eth_blockNumber") == 1
    assert value(s, "paywatch_rpc_requests_total", **eth, method="batch") == 1
    assert value(s, "paywatch_rpc_requests_total", **eth, method="refuse") == 1
    assert value(s, "paywatch_rpc_requests_total", **eth, method="eth_chainId") == 5
    kinds = {
        dict(labels)["kind"]: n
        for (name, labels), n in s.items()
        if name == "paywatch_rpc_errors_total" and dict(labels)["endpoint"] == url
    }
    assert kinds == {
        "refused": 2,  # one in the batch, one alone
        "rate_limited": 1,
        "http_status": 1,
        "invalid_answer": 1,
        "timeout": 1,
    }
    assert value(s, "paywatch_rpc_request_duration_seconds_count", **eth) == 8
    btc = {"chain": "btc", "endpoint": url}
    assert value(s, "paywatch_rpc_requests_total", **btc, method="getblockcount") == 1
    closed = [dict(x) for x in series(s, "paywatch_rpc_errors_total")]
    assert any(x["kind"] == "connect" and x["endpoint"] != url for x in closed)
    assert "KEY" not in generate_latest(registry).decode()


def test_promtool_accepts_the_alert_rules_and_their_tests() -> None:
    rules = ROOT / "deploy/prometheus/alerts.yml"
    checked = run_promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    alerts = rules.read_text().count("- alert: ")
    assert alerts >= 12
    assert f"SUCCESS: {alerts} rules found" in checked.stdout
    tested = run_promtool("test", "rules", str(ROOT / "deploy/prometheus/alerts_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    board = json.loads((ROOT / "deploy/grafana/paywatch-dashboard.json").read_text())
    queries = [
        target["expr"]
        for panel in board["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]
    variables = {"$__rate_interval": "1m", "$job": "paywatch", "$instance": ".*", "$chain": ".*"}
    rules = []
    for n, query in enumerate(queries):
        expr = query
        for name, replacement in variables.items():
            expr = expr.replace(name, replacement)
        assert not re.search(r"\$\w", expr), query
        rules.append({"record": f"paywatch:dashboard_query_{n}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run_promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(queries)} rules found" in checked.stdout
