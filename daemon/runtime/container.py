"""The one composition root: everything the daemon and the CLI use is built here,
from config, when asked. Nothing connects or starts at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from daemon.cluster.instances import new_instance_id
from daemon.cluster.leadership import Leadership
from daemon.config.loading import ConfigError
from daemon.config.schema import Config
from daemon.services.orders import OrderService
from daemon.services.registry import ChainRegistry
from daemon.storage.database import Database
from daemon.tatum.hints import Hints
from daemon.tatum.wiring import build_hints
from daemon.watching.engine import ChainWatcher
from daemon.watching.hooks import NO_HOOKS
from daemon.watching.sources import backend_source, build_watchers
from daemon.webhooks.deliveries import DeliveryLog
from daemon.webhooks.signing import Signer
from daemon.webhooks.targets import Targets

if TYPE_CHECKING:
    from daemon.checkout.streams import Streams
    from daemon.metrics.registry import Metrics
    from daemon.rates.book import RateBook
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
    _cluster: Leadership | None = field(default=None, repr=False)
    _rates: RateBook | None = field(default=None, repr=False)
    _streams: Streams | None = field(default=None, repr=False)
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
    def cluster(self) -> Leadership:
        """This process among the instances on the database: its id, the leases it holds
        (every one at once on SQLite), and the fences its watchers commit under."""
        if self._cluster is None:
            self._cluster = Leadership(self.db, new_instance_id(), list(self.watchers))
        return self._cluster

    @property
    def tatum_hints(self) -> Hints | None:
        """Where Tatum's notifications go (None when they are off)."""
        if self._hints is None:
            self._hints = build_hints(self.config, self.db, self.watchers)
        return self._hints

    @property
    def rates(self) -> RateBook | None:
        """The exchange rates of every configured asset, built on first use (None when
        config has no ``rates:``); nothing is fetched until it is refreshed."""
        if self._rates is None and self.config.rates is not None:
            from daemon.families.registry import family_of
            from daemon.rates.book import RateBook

            chains = self.config.chains.values()
            assets = {a for chain in chains for a in family_of(chain).assets(chain)}
            self._rates = RateBook(self.config.rates, assets, self.clock)
        return self._rates

    @property
    def checkout_streams(self) -> Streams:
        """The checkout pages' live event streams (their loop starts with the first)."""
        if self._streams is None:
            from daemon.checkout.streams import Streams

            api = self.config.api
            self._streams = Streams(
                self.db, total=api.checkout_streams, per_order=api.checkout_streams_per_order
            )
        return self._streams

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
                cluster=lambda: self.cluster,
                rates=lambda: self.rates,
                streams=lambda: self._streams,
            )
        return self._metrics

    def close(self) -> None:
        self.db.close()


def validate(config: Config) -> ChainRegistry:
    """Build, and throw away, everything the daemon builds from ``config`` before it
    connects anywhere: each chain's keys and address deriver, each chain's backend (the
    node or Tatum source: keys a backend kind does not take, URLs, Tatum's gateway for
    the chain and network), the webhook signer. Raises :class:`ConfigError` listing every
    problem by its key. :func:`build` calls it, so ``paywatch config check``, ``paywatch
    run`` and every other command accept and refuse the same configs."""
    problems: list[str] = []
    registry = None
    try:
        registry = ChainRegistry.from_config(config)
    except ConfigError as exc:
        problems += exc.problems
    for name, chain in config.chains.items():
        try:
            # Built as the daemon builds it (nothing connects; the HTTP clients are idle
            # and dropped), also for a chain the daemon would leave unwatched for want of
            # a URL: a backend key that cannot work is refused either way.
            backend_source(name, chain, config.tatum)
        except ConfigError as exc:
            problems += exc.problems
    if config.webhooks.secret is not None:
        try:
            Signer.from_config(config.webhooks)
        except ValueError as exc:
            problems.append(f"webhooks.secret: {exc}")
    if problems or registry is None:
        raise ConfigError(problems)
    return registry


def _database(url: str) -> Database:
    try:
        return Database(url)
    except (ValueError, SQLAlchemyError) as exc:
        reason = (str(exc).strip().splitlines() or ["?"])[0]
        raise ConfigError([f"database_url: cannot be used: {reason}"]) from None


def build(
    config: Config, *, clock: Clock = utc_now, registry: ChainRegistry | None = None
) -> Container:
    """The container for ``config`` (checked first by :func:`validate`)."""
    checked = validate(config)
    registry = registry or checked
    db = _database(config.database_url)
    targets = Targets(config.webhooks.url, config.webhooks.allow_private_targets)
    container = Container(
        config=config,
        db=db,
        registry=registry,
        orders=OrderService(registry, config.orders, targets, public_url=config.api.base_url),
        clock=clock,
        deliveries=DeliveryLog(targets),
    )
    container.orders.priced.quoter = lambda: container.rates  # fiat prices: the rate book
    return container
