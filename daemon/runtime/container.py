"""The one composition root: everything the daemon and the CLI use is built here,
from config, when asked. Nothing connects or starts at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from daemon.config.schema import Config
from daemon.services.orders import OrderService
from daemon.services.registry import ChainRegistry
from daemon.storage.database import Database
from daemon.tatum.hints import Hints
from daemon.tatum.wiring import build_hints
from daemon.watching.engine import ChainWatcher
from daemon.watching.hooks import NO_HOOKS
from daemon.watching.sources import build_watchers
from daemon.webhooks.deliveries import DeliveryLog
from daemon.webhooks.targets import Targets

if TYPE_CHECKING:
    from daemon.metrics.registry import Metrics
    from daemon.runtime.jobs import Jobs

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    config: Config
    db: Database
    registry: ChainRegistry
    orders: OrderService
    clock: Clock
    deliveries: DeliveryLog
    _watchers: dict[str, ChainWatcher] | None = field(default=None, repr=False)
    _hints: Hints | None = field(default=None, repr=False)
    _metrics: Metrics | None = field(default=None, repr=False)
    jobs: Jobs | None = field(default=None, repr=False)  # set by serve() when it schedules

    @property
    def watchers(self) -> dict[str, ChainWatcher]:
        """One watcher per watched chain, built on first use (nothing connects yet)."""
        if self._watchers is None:
            metrics = self.metrics
            hooks = metrics.watch_hooks if metrics is not None else NO_HOOKS
            self._watchers = build_watchers(
                self.config, self.db, self.orders.changes, self.clock, hooks
            )
        return self._watchers

    @property
    def tatum_hints(self) -> Hints | None:
        """Where Tatum's notifications go (None when they are off)."""
        if self._hints is None:
            self._hints = build_hints(self.config, self.db, self.watchers)
        return self._hints

    @property
    def metrics(self) -> Metrics | None:
        """The Prometheus metrics, on a registry of this container's own, built on first
        use (None when ``metrics.enabled`` is false)."""
        if self._metrics is None and self.config.metrics.enabled:
            from prometheus_client import CollectorRegistry

            from daemon.metrics.registry import Metrics

            self._metrics = Metrics(
                CollectorRegistry(),
                config=self.config,
                db=self.db,
                clock=self.clock,
                watchers=lambda: self.watchers,
                hints=lambda: self.tatum_hints,
                jobs=lambda: self.jobs,
            )
        return self._metrics

    def close(self) -> None:
        self.db.close()


def build(
    config: Config, *, clock: Clock = utc_now, registry: ChainRegistry | None = None
) -> Container:
    registry = registry or ChainRegistry.from_config(config)
    db = Database(config.database_url)
    targets = Targets(config.webhooks.url, config.webhooks.allow_private_targets)
    return Container(
        config=config,
        db=db,
        registry=registry,
        orders=OrderService(registry, config.orders, targets),
        clock=clock,
        deliveries=DeliveryLog(targets),
    )
