"""Which adapter watches a configured chain, and the watchers built from config."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from chains.evm.source import EvmSource
from chains.watching import ChainSource
from daemon.config.schema import (
    BitcoinChainConfig,
    ChainConfig,
    Config,
    EvmChainConfig,
)
from daemon.config.tatum import TatumConfig
from daemon.services.order_changes import OrderChanges
from daemon.storage.database import Database
from daemon.watching.balance_check import BalanceCheck
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.hooks import NO_HOOKS, WatchHooks
from daemon.watching.starting import BITCOIN_MARGIN, EVM_MARGIN

log = logging.getLogger(__name__)
TATUM_BALANCE_CHECK_SECONDS = 600.0


def build_source(
    name: str, chain: ChainConfig, tatum: TatumConfig | None = None, hooks: WatchHooks = NO_HOOKS
) -> ChainSource | None:
    """The chain's adapter, or None where nothing says where its node is."""
    if chain.backend.kind == "tatum":
        from daemon.watching.tatum_backend import build_tatum_source

        return build_tatum_source(name, chain, tatum, hooks)
    if chain.backend.url is None and not chain.backend.urls:
        log.warning("chains.%s.backend.url is not set: %s is not watched", name, name)
        return None
    if isinstance(chain, BitcoinChainConfig):
        from daemon.watching.bitcoin_backend import build_bitcoin_source

        return build_bitcoin_source(name, chain, hooks)
    from daemon.watching.evm_backend import build_evm_source

    return build_evm_source(name, chain, hooks)


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
        settings = WatcherSettings(
            poll_interval=chain.backend.poll_interval.total_seconds(),
            start_height=chain.start_height,
            start_margin=BITCOIN_MARGIN if isinstance(chain, BitcoinChainConfig) else EVM_MARGIN,
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
        if isinstance(chain, EvmChainConfig) and isinstance(source, EvmSource):
            interval = chain.balance_check_interval.total_seconds()
            if (
                chain.backend.kind == "tatum"
                and "balance_check_interval" not in chain.model_fields_set
            ):
                interval = TATUM_BALANCE_CHECK_SECONDS  # two metered calls per open address
            watcher.balance_check = BalanceCheck(
                name,
                source,
                db,
                changes,
                clock,
                native_symbol=chain.native_asset.symbol,
                interval=interval,
                after_creation=chain.balance_check_after.total_seconds(),
                on_credit=hooks.credited,
            )
        watchers[name] = watcher
    return watchers
