"""Each watched chain as its watcher sees it, read at scrape time from the watchers'
:class:`~daemon.watching.status.WatcherStatus` and their sources' endpoint health; and
the transfers the watchers credit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from daemon.config.schema import Config
from daemon.families.registry import family_of
from daemon.metrics.endpoints import endpoint_label
from daemon.watching.engine import ChainWatcher

Watchers = Callable[[], Mapping[str, ChainWatcher]]


def configured_assets(config: Config) -> dict[str, list[str]]:
    """Each chain's assets as its payments name them (the symbols of config.yaml)."""
    return {name: family_of(chain).assets(chain) for name, chain in config.chains.items()}


class ChainCollector:
    """The per-chain gauges and counters, built from the watchers' status when scraped."""

    def __init__(self, watchers: Watchers, clock: Callable[[], datetime]) -> None:
        self._watchers = watchers
        self._clock = clock

    @staticmethod
    def _families() -> dict[str, GaugeMetricFamily | CounterMetricFamily]:
        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=["chain"])

        def counter(name: str, doc: str) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, labels=["chain"])

        return {
            "head": gauge("paywatch_chain_head_height", "Height of the node's best block"),
            "processed": gauge(
                "paywatch_chain_processed_height", "Last block whose payments are committed"
            ),
            "lag": gauge("paywatch_chain_lag_blocks", "Blocks seen at the node, not processed"),
            "age": gauge(
                "paywatch_chain_last_block_age_seconds",
                "Seconds since the node's best block was made (by its timestamp)",
            ),
            "in_sync": gauge(
                "paywatch_chain_in_sync",
                "1 when the watcher caught up recently and has not failed since, else 0",
            ),
            "halted": gauge(
                "paywatch_chain_halted",
                "1 while the watcher is halted by a reorg it cannot place (see /readyz; "
                "paywatch chain resume), else 0",
            ),
            "synced": gauge(
                "paywatch_watcher_last_sync_timestamp_seconds",
                "Unix time the watcher last caught up with its node",
            ),
            "reorgs": counter("paywatch_chain_reorgs", "Reorganisations the watcher rolled back"),
            "restarts": counter(
                "paywatch_watcher_restarts", "Times the watcher crashed and was restarted"
            ),
            "healthy": GaugeMetricFamily(
                "paywatch_rpc_endpoint_healthy",
                "1 while the endpoint answers and neither lags behind another nor stands "
                "still (a stale head); the chain fails over to healthy endpoints first",
                labels=["chain", "endpoint"],
            ),
            "endpoint_head": GaugeMetricFamily(
                "paywatch_rpc_endpoint_head_height",
                "The best block the endpoint last showed",
                labels=["chain", "endpoint"],
            ),
        }

    def describe(self) -> Iterable[Metric]:
        return list(self._families().values())

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        now = self._clock()
        for name, watcher in sorted(self._watchers().items()):
            status = watcher.status
            label = [name]
            if status.tip_height is not None:
                families["head"].add_metric(label, status.tip_height)
            if status.processed_height is not None:
                families["processed"].add_metric(label, status.processed_height)
            if status.lag is not None:
                families["lag"].add_metric(label, status.lag)
            age = status.block_age(now)
            if age is not None:
                families["age"].add_metric(label, age)
            families["in_sync"].add_metric(label, 1 if status.in_sync(now) else 0)
            families["halted"].add_metric(label, 0 if status.halted is None else 1)
            if status.last_sync_at is not None:
                families["synced"].add_metric(label, status.last_sync_at.timestamp())
            families["reorgs"].add_metric(label, status.reorgs)
            families["restarts"].add_metric(label, status.restarts)
            self._endpoints(name, watcher, families)
        return list(families.values())

    @staticmethod
    def _endpoints(
        chain: str,
        watcher: ChainWatcher,
        families: dict[str, GaugeMetricFamily | CounterMetricFamily],
    ) -> None:
        # Two URLs on one scheme://host:port (two API keys at one provider) make one
        # series: healthy only if both are, the higher head.
        seen: dict[str, tuple[bool, int | None]] = {}
        for entry in watcher.source.health():
            endpoint = endpoint_label(entry.url)
            healthy, head = seen.get(endpoint, (True, None))
            heads = [h for h in (head, entry.head_height) if h is not None]
            seen[endpoint] = (healthy and entry.healthy, max(heads) if heads else None)
        for endpoint, (healthy, head) in sorted(seen.items()):
            families["healthy"].add_metric([chain, endpoint], 1 if healthy else 0)
            if head is not None:
                families["endpoint_head"].add_metric([chain, endpoint], head)


class TransferMetrics:
    """Transfers credited for the first time (not each time one is seen again)."""

    def __init__(self, registry: CollectorRegistry, assets: Mapping[str, list[str]]) -> None:
        self.detected = Counter(
            "paywatch_transfers_detected",
            "Transfers to orders' addresses, counted when first stored (mempool or block)",
            ["chain", "asset"],
            registry=registry,
        )
        for chain, symbols in assets.items():
            for symbol in symbols:
                self.detected.labels(chain, symbol)  # present at 0 from the start

    def credited(self, chain: str, asset: str, count: int) -> None:
        self.detected.labels(chain, asset).inc(count)
