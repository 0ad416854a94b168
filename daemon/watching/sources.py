"""Which adapter watches a configured chain, and the watchers built from config.

The chain's family (see :mod:`daemon.families`) builds its source: over the merchant's
own node(s) (``backend.kind: rpc``) or over Tatum's gateway (``backend.kind: tatum``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from chains.watching import ChainSource
from daemon.config.schema import ChainConfig, Config
from daemon.config.tatum import TatumConfig
from daemon.families.registry import family_of
from daemon.services.order_changes import OrderChanges
from daemon.storage.database import Database
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.hooks import NO_HOOKS, WatchHooks
from daemon.watching.tatum_backend import build_tatum_source

log = logging.getLogger(__name__)


def backend_source(
    name: str, chain: ChainConfig, tatum: TatumConfig | None = None, hooks: WatchHooks = NO_HOOKS
) -> ChainSource:
    """The chain's source as its backend says (nothing connects yet): the one choice of
    backend, for the daemon and for ``config check`` alike. Raises
    :class:`~daemon.config.loading.ConfigError` for a backend key that cannot work."""
    family = family_of(chain)
    if chain.backend.kind == "tatum":
        return build_tatum_source(name, chain, tatum, family, hooks)
    return family.node_source(name, chain, hooks)


def build_source(
    name: str, chain: ChainConfig, tatum: TatumConfig | None = None, hooks: WatchHooks = NO_HOOKS
) -> ChainSource | None:
    """The chain's adapter, or None where nothing says where its node is."""
    if chain.backend.kind != "tatum" and chain.backend.url is None and not chain.backend.urls:
        log.warning("chains.%s.backend.url is not set: %s is not watched", name, name)
        return None
    return backend_source(name, chain, tatum, hooks)


def build_watchers(
    config: Config,
    db: Database,
    changes: OrderChanges,
    clock: Callable[[], datetime],
    hooks: WatchHooks = NO_HOOKS,
) -> dict[str, ChainWatcher]:
    watchers = {}
    for name, chain in config.chains.items():
        source = build_source(name, chain, config.tatum, hooks)
        if source is None:
            continue
        family = family_of(chain)
        settings = WatcherSettings(
            poll_interval=chain.backend.poll_interval.total_seconds(),
            start_height=chain.start_height,
            start_margin=family.start_margin,
        )
        watcher = ChainWatcher(
            chain=name,
            source=source,
            db=db,
            changes=changes,
            clock=clock,
            settings=settings,
            on_credit=hooks.credited,
        )
        watcher.balance_check = family.balance_check(
            name, chain, source, db, changes, clock, hooks.credited
        )
        watchers[name] = watcher
    return watchers
