"""The metrics' own logic on real registries: what each hook counts, what a scrape shows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from chains.tatum.notification import payload_hash
from chains.watching import BlockHeader, EndpointHealth
from daemon.config.loading import parse_config
from daemon.metrics.chains import ChainCollector
from daemon.metrics.exporter import start_metrics
from daemon.metrics.rpc import RpcMetrics
from daemon.metrics.tatum import TatumCollector
from daemon.metrics.webhooks import WebhookMetrics
from daemon.runtime.container import Container, build
from daemon.services.errors import ServiceError
from daemon.tatum.hints import Hints
from daemon.watching.engine import ChainWatcher
from daemon.watching.status import WatcherStatus
from daemon.webhooks.retry_policy import DeliveryStatus
from tests.support.clock import ManualClock
from tests.support.configs import config_yaml
from tests.support.prometheus import Samples, parse, total, value


def scrape(registry: CollectorRegistry) -> Samples:
    return parse(generate_latest(registry).decode())


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    built = build(parse_config(config_yaml(f"sqlite:///{tmp_path / 'p.db'}")), clock=ManualClock())
    yield built
    built.close()


def test_an_endpoint_counts_requests_by_method_failures_by_kind_and_times_them() -> None:
    registry = CollectorRegistry()
    rpc = RpcMetrics(registry)
    node = rpc.observer("eth", "https://user:pw@node.example/v3/KEY")
    assert node.endpoint == "https://node.example:443"
    node.request("eth_blockNumber", 0.02, None)
    node.request("eth_blockNumber", 0.03, None)
    node.request("batch", 0.4, None)
    node.request("batch", 5.0, "timeout")
    node.request("eth_getLogs", 0.01, "rate_limited")
    node.refused("trace_block")
    node.refused("trace_block")
    rpc.observer("btc", "http://127.0.0.1:8332").request("getblockhash", 0.001, "connect")

    s = scrape(registry)
    eth = {"chain": "eth", "endpoint": "https://node.example:443"}
    assert value(s, "paywatch_rpc_requests_total", **eth, method="eth_blockNumber") == 2
    assert value(s, "paywatch_rpc_requests_total", **eth, method="batch") == 2
    assert value(s, "paywatch_rpc_errors_total", **eth, kind="timeout") == 1
    assert value(s, "paywatch_rpc_errors_total", **eth, kind="rate_limited") == 1
    assert value(s, "paywatch_rpc_errors_total", **eth, kind="refused") == 2
    assert value(s, "paywatch_rpc_request_duration_seconds_count", **eth) == 5
    assert value(s, "paywatch_rpc_request_duration_seconds_bucket", **eth, le="0.05") == 3
    btc = {"chain": "btc", "endpoint": "http://127.0.0.1:8332"}
    assert value(s, "paywatch_rpc_errors_total", **btc, kind="connect") == 1
    assert "KEY" not in generate_latest(registry).decode()


def test_webhook_attempts_by_outcome_with_their_duration_and_event_latency() -> None:
    registry = CollectorRegistry()
    hooks = WebhookMetrics(registry)
    hooks.attempted(DeliveryStatus.DELIVERED, 0.012, 0.03)
    hooks.attempted(DeliveryStatus.DELIVERED, 0.2, 7200.0)
    hooks.attempted(DeliveryStatus.RETRYING, 15.0, None)
    hooks.attempted(DeliveryStatus.DEAD, 0.05, None)

    s = scrape(registry)
    outcomes = {o: value(s, "paywatch_webhook_deliveries_total", outcome=o) for o in OUTCOMES}
    assert outcomes == {"delivered": 2, "retrying": 1, "dead": 1, "gone": 0}
    assert value(s, "paywatch_webhook_delivery_duration_seconds_count") == 4
    assert value(s, "paywatch_webhook_delivery_duration_seconds_bucket", le="0.025") == 1
    assert value(s, "paywatch_webhook_event_latency_seconds_count") == 2
    assert value(s, "paywatch_webhook_event_latency_seconds_bucket", le="0.05") == 1
    assert value(s, "paywatch_webhook_event_latency_seconds_sum") == pytest.approx(7200.03)


OUTCOMES = ("delivered", "retrying", "dead", "gone")


class _Source:
    def __init__(self, health: list[EndpointHealth]) -> None:
        self._health = health

    def health(self) -> list[EndpointHealth]:
        return self._health


class _Watcher:
    """What the chain collector reads of a watcher: its status and its endpoints' health."""

    def __init__(self, status: WatcherStatus, health: list[EndpointHealth]) -> None:
        self.status = status
        self.source = _Source(health)


def test_chains_are_read_from_the_watchers_status_when_scraped() -> None:
    clock = ManualClock()
    behind, fresh = WatcherStatus("btc"), WatcherStatus("eth")
    stamp = int((clock() - timedelta(minutes=9)).timestamp())
    behind.saw_tip(BlockHeader(900, "h900", "h899", stamp), clock())
    behind.synced(880, clock())
    behind.reorged(870, clock())
    behind.restarts = 2
    btc_nodes = [
        EndpointHealth("http://127.0.0.1:8332", True, head_height=900),
        EndpointHealth("https://btc.example/?key=SECRET", False, error="lagging"),
        EndpointHealth("https://btc.example/other-key", True, head_height=890),
    ]
    watchers = {"btc": _Watcher(behind, btc_nodes), "eth": _Watcher(fresh, [])}
    registry = CollectorRegistry()
    registry.register(ChainCollector(lambda: cast(Mapping[str, ChainWatcher], watchers), clock))

    s = scrape(registry)
    btc = {"chain": "btc"}
    assert value(s, "paywatch_chain_head_height", **btc) == 900
    assert value(s, "paywatch_chain_processed_height", **btc) == 880
    assert value(s, "paywatch_chain_lag_blocks", **btc) == 20
    assert value(s, "paywatch_chain_last_block_age_seconds", **btc) == 540
    assert value(s, "paywatch_chain_in_sync", **btc) == 0  # 20 blocks behind
    assert value(s, "paywatch_chain_reorgs_total", **btc) == 1
    assert value(s, "paywatch_watcher_restarts_total", **btc) == 2
    assert value(s, "paywatch_watcher_last_sync_timestamp_seconds", **btc) == clock().timestamp()
    own = {"chain": "btc", "endpoint": "http://127.0.0.1:8332"}
    assert value(s, "paywatch_rpc_endpoint_healthy", **own) == 1
    assert value(s, "paywatch_rpc_endpoint_head_height", **own) == 900
    # Two URLs at one provider: one series, unhealthy while either is.
    paid = {"chain": "btc", "endpoint": "https://btc.example:443"}
    assert value(s, "paywatch_rpc_endpoint_healthy", **paid) == 0
    assert value(s, "paywatch_rpc_endpoint_head_height", **paid) == 890
    # A watcher that has seen nothing yet: counters and in_sync only, no made-up heights.
    assert value(s, "paywatch_chain_in_sync", chain="eth") == 0
    assert value(s, "paywatch_chain_head_height", chain="eth") is None
    assert value(s, "paywatch_watcher_restarts_total", chain="eth") == 0

    behind.synced(899, clock())  # caught up: scraped anew, not cached
    s = scrape(registry)
    assert value(s, "paywatch_chain_in_sync", **btc) == 1
    assert value(s, "paywatch_chain_lag_blocks", **btc) == 1


def test_tatum_notifications_are_counted_by_fate_even_when_refused(
    container: Container,
) -> None:
    hints = Hints(container.db, {}, ["tatum-secret"])
    registry = CollectorRegistry()
    registry.register(TatumCollector(lambda: hints))
    for body, signature in [
        (b"{}", None),
        (b"{}", "forged"),
        (b"not json", payload_hash("tatum-secret", b"not json")),
    ]:
        with pytest.raises(ServiceError):
            hints.check(body, signature)

    s = scrape(registry)
    assert value(s, "paywatch_tatum_notifications_total", result="rejected") == 2
    assert value(s, "paywatch_tatum_notifications_total", result="invalid") == 1
    assert value(s, "paywatch_tatum_notifications_total", result="accepted") == 0


def test_nothing_from_tatum_when_its_notifications_are_off() -> None:
    registry = CollectorRegistry()
    registry.register(TatumCollector(lambda: None))
    assert total(scrape(registry), "paywatch_tatum_notifications_total") == 0
    assert b"paywatch_tatum_notifications_total{" not in generate_latest(registry)


def test_containers_in_one_process_each_have_their_own_metrics(tmp_path: Path) -> None:
    first = build(parse_config(config_yaml(f"sqlite:///{tmp_path / 'a.db'}")))
    second = build(parse_config(config_yaml(f"sqlite:///{tmp_path / 'b.db'}")))
    try:
        assert first.metrics is not None
        assert second.metrics is not None
        assert first.metrics.registry is not second.metrics.registry
        first.metrics.transfers.credited("btc", "BTC", 3)
        one, _ = asyncio.run(first.metrics.render(None))
        two, _ = asyncio.run(second.metrics.render(None))
        ones, twos = parse(one.decode()), parse(two.decode())
        detected = "paywatch_transfers_detected_total"
        assert value(ones, detected, chain="btc", asset="BTC") == 3
        assert value(twos, detected, chain="btc", asset="BTC") == 0
        # Every configured asset is there from the start (rate() needs the zero).
        assert value(twos, detected, chain="eth", asset="USDC") == 0
        assert value(ones, "paywatch_build_info", version="0.1.0") == 1
        # The database does not exist yet (not migrated): those series are left out.
        assert value(ones, "paywatch_orders", status="pending") is None
    finally:
        first.close()
        second.close()


def test_metrics_off_means_no_registry_and_no_listener(tmp_path: Path) -> None:
    text = config_yaml(f"sqlite:///{tmp_path / 'p.db'}", extra="metrics: {enabled: false}\n")
    container = build(parse_config(text))
    try:
        assert container.metrics is None
        assert start_metrics(container.metrics, container.config.metrics, asyncio.Event()) == []
    finally:
        container.close()
