"""Builds the Tatum parts from config, and runs them as the daemon's tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from chains.tatum.api import TatumApi
from chains.tatum.networks import TatumNetwork
from chains.watching import MempoolHints, TransactionLookup
from daemon.cluster.leadership import Leadership, Term
from daemon.cluster.leases import JOBS
from daemon.config.schema import Config
from daemon.families.registry import family_of
from daemon.storage.database import Database
from daemon.tatum.hints import HintChain, Hints
from daemon.tatum.keeper import SubscriptionKeeper
from daemon.watching.engine import ChainWatcher

log = logging.getLogger("paywatch.tatum")


def tatum_networks(config: Config) -> dict[str, TatumNetwork]:
    """Chains watched through Tatum that its subscription API serves, by name."""
    found = {}
    for name, chain in config.chains.items():
        if chain.backend.kind != "tatum":
            continue
        network = family_of(chain).tatum_network(chain)
        if network is not None:
            found[name] = network
    return found


def tatum_api(config: Config) -> TatumApi:
    assert config.tatum is not None
    return TatumApi(config.tatum.api_url, config.tatum.api_key.get_secret_value())


def build_hints(config: Config, db: Database, watchers: Mapping[str, ChainWatcher]) -> Hints | None:
    """The notification desk, or None when notifications are off (no notify_url)."""
    tatum = config.tatum
    if tatum is None or not tatum.notifications or tatum.hmac_secret is None:
        return None
    chains: dict[str, HintChain] = {}
    for name in tatum_networks(config):
        watcher = watchers.get(name)
        chain = config.chains[name]
        source = watcher.source if watcher is not None else None
        if watcher is None or not isinstance(source, TransactionLookup):
            continue  # a hint cannot be checked: the chain is polled
        chains[name] = HintChain(
            name=name,
            script_of=family_of(chain).script_of(chain),
            lookup=source,
            nudge=watcher.nudge,
            remember_unconfirmed=source.hint if isinstance(source, MempoolHints) else None,
        )
    return Hints(db, chains, [tatum.hmac_secret.get_secret_value()])


def start_tatum(
    config: Config,
    db: Database,
    clock: Callable[[], datetime],
    hints: Hints | None,
    stop: asyncio.Event,
    leadership: Leadership | None = None,
) -> tuple[list[asyncio.Task[None]], SubscriptionKeeper | None]:
    """The hint checker and the subscription keeper, when Tatum notifications are on
    (the keeper too, for the daemon to schedule its reconciling). With ``leadership``
    the keeper runs only on the holder of the cluster's ``jobs`` lease (two keepers
    would delete each other's subscriptions); every instance checks notifications."""
    tatum = config.tatum
    networks = tatum_networks(config)
    for name, chain in config.chains.items():
        if chain.backend.kind == "tatum" and name not in networks:
            log.warning("chain %s: Tatum has no notifications for it; it is polled", name)
    if tatum is None or not networks:
        return [], None
    if hints is None or tatum.notify_url is None:
        log.info("tatum: notifications off (no tatum.notify_url); Tatum chains are polled")
        return [], None
    secret = tatum.hmac_secret.get_secret_value() if tatum.hmac_secret is not None else None
    keeper = SubscriptionKeeper(
        db,
        tatum_api(config),
        networks,
        tatum.notify_url,
        clock,
        reconcile_interval=tatum.reconcile_interval.total_seconds(),
        hmac_secret=secret,
    )

    async def lead(term: Term, ended: asyncio.Event) -> None:
        await keeper.request_reconcile()  # another instance may have kept them meanwhile
        await keeper.run(ended)

    async def keep() -> None:
        db.add_commit_listener(keeper.wake)
        try:
            if leadership is None:
                await keeper.run(stop)
            else:
                await leadership.while_leading(JOBS, stop, lead)
        finally:
            db.remove_commit_listener(keeper.wake)
            await keeper.api.aclose()

    tasks = [
        asyncio.create_task(keep(), name="tatum-subscriptions"),
        asyncio.create_task(hints.run(stop), name="tatum-hints"),
    ]
    return tasks, keeper
