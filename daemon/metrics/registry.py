"""Every metric of the daemon on one registry: what the composition root builds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from importlib import metadata
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder

from daemon.checkout.streams import Streams
from daemon.cluster.leadership import Leadership
from daemon.config.schema import Config
from daemon.metrics.chains import ChainCollector, TransferMetrics, configured_assets
from daemon.metrics.checkout import CheckoutCollector
from daemon.metrics.cluster import LeaderCollector
from daemon.metrics.jobs import JobCollector
from daemon.metrics.rates import RateCollector
from daemon.metrics.reconcile import reconcile_metrics
from daemon.metrics.rpc import RpcMetrics
from daemon.metrics.stored import StoredCounts
from daemon.metrics.tatum import TatumCollector
from daemon.metrics.webhooks import WebhookMetrics
from daemon.rates.book import RateBook
from daemon.runtime.jobs import Jobs
from daemon.storage.database import Database
from daemon.tatum.hints import Hints
from daemon.watching.engine import ChainWatcher
from daemon.watching.hooks import WatchHooks


class _Described(Protocol):
    def describe(self) -> Iterable[Metric]: ...


def watched_chains(config: Config) -> list[str]:
    """The chains a watcher may run for (a backend URL, or Tatum)."""
    return [
        name
        for name, chain in config.chains.items()
        if chain.backend.kind == "tatum" or chain.backend.url is not None or chain.backend.urls
    ]


def paywatch_version() -> str:
    try:
        return metadata.version("paywatch")
    except metadata.PackageNotFoundError:
        return "unknown"


class Metrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        config: Config,
        db: Database,
        clock: Callable[[], datetime],
        watchers: Callable[[], Mapping[str, ChainWatcher]],
        hints: Callable[[], Hints | None],
        jobs: Callable[[], Jobs | None] = lambda: None,
        cluster: Callable[[], Leadership | None] = lambda: None,
        rates: Callable[[], RateBook | None] = lambda: None,
        streams: Callable[[], Streams | None] = lambda: None,
        version: str | None = None,
    ) -> None:
        # No *_created series beside every counter and histogram: they double what is
        # scraped and nothing here reads them. (A switch of the library's own; it only
        # changes how metrics are written out.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry
        self.rpc = RpcMetrics(registry)
        self.transfers = TransferMetrics(registry, configured_assets(config))
        self.webhooks = WebhookMetrics(registry)
        self.reconcile = reconcile_metrics(registry)
        self.stored = StoredCounts(db)
        collectors: list[
            ChainCollector
            | StoredCounts
            | TatumCollector
            | JobCollector
            | LeaderCollector
            | RateCollector
            | CheckoutCollector
        ] = [
            ChainCollector(watchers, clock),
            self.stored,
            TatumCollector(hints),
            JobCollector(jobs),
            LeaderCollector(cluster, watched_chains(config)),
            RateCollector(rates),
            CheckoutCollector(streams),
        ]
        for collector in collectors:
            registry.register(collector)
        info = Gauge(
            "paywatch_build_info", "Always 1: the running version", ["version"], registry=registry
        )
        info.labels(version or paywatch_version()).set(1)
        self._own: list[_Described] = [
            *collectors,
            self.rpc.requests,
            self.rpc.errors,
            self.rpc.duration,
            self.transfers.detected,
            self.webhooks.deliveries,
            self.webhooks.duration,
            self.webhooks.latency,
            self.webhooks.endpoints,
            *self.reconcile.gauges(),
            info,
        ]
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.bound: tuple[str, int] | None = None  # where /metrics listens, once it does

    @property
    def watch_hooks(self) -> WatchHooks:
        return WatchHooks(rpc=self.rpc.observer, credited=self.transfers.credited)

    def families(self) -> list[Metric]:
        """Every paywatch_* family the daemon can export (without samples)."""
        return [family for collector in self._own for family in collector.describe()]

    async def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition (text, or OpenMetrics when ``accept`` asks for it) and its
        content type, counted afresh."""
        await self.stored.refresh()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
