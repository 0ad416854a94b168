"""Reconciling a configured chain: its family's reconciler over the chain's source, for
``paywatch reconcile`` and the scheduled ``chain.NAME.reconcile`` job
(``reconcile_interval``; on the holder of the cluster's ``jobs`` lease)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from chains.reconciliation import Reconciler
from daemon.accounting.reconcile import ReconcileReport, reconcile
from daemon.families.registry import family_of
from daemon.metrics.reconcile import reconcile_metrics
from daemon.runtime.container import Container
from daemon.services.registry import ChainInfo

log = logging.getLogger("paywatch.reconcile")
RECHECK_SECONDS = 30.0


def reconciler_for(container: Container, chain: str) -> tuple[ChainInfo, Reconciler]:
    """The chain's info and a reconciler over its watcher's source (its connections
    are the watcher's: close ``container.watchers[chain].source`` afterwards).
    ValueError when the chain is not configured, has no backend or one that cannot
    read transfers back."""
    info = container.registry.get(chain)
    if info is None:
        known = ", ".join(container.registry.names()) or "none configured"
        raise ValueError(f"chain {chain!r} is not configured ({known})")
    watcher = container.watchers.get(chain)
    if watcher is None:
        raise ValueError(f"chain {chain!r} has no backend to read from")
    config = container.config.chains[chain]
    reconciler = family_of(config).reconciler(config, watcher.source)
    if reconciler is None:
        raise ValueError(
            f"chain {chain!r}: its backend ({config.backend.kind}) cannot read transfers back"
        )
    return info, reconciler


async def reconcile_chain(
    container: Container,
    chain: str,
    *,
    from_height: int | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> ReconcileReport:
    info, reconciler = reconciler_for(container, chain)
    return await reconcile(
        container.db, info, reconciler, from_height=from_height, progress=progress
    )


async def scheduled_reconcile(
    container: Container, chain: str, *, recheck_after: float = RECHECK_SECONDS
) -> ReconcileReport:
    """One round of the ``chain.NAME.reconcile`` job: reconcile; when something differs,
    look again from the lowest differing height after ``recheck_after`` seconds (a reorg
    the watcher is following that moment is not a difference in the books); log each
    difference that stays, and set the metrics."""
    report = await reconcile_chain(container, chain)
    if report.differences:
        await asyncio.sleep(recheck_after)
        lowest = min(int(item["block_height"]) for item in report.differences)
        report = await reconcile_chain(container, chain, from_height=lowest)
    for item in report.differences:
        log.warning(
            "reconcile %s: transfer %s:%s of order %s: %s: %s",
            chain,
            item["tx_hash"],
            item["output_index"],
            item["order_id"],
            item["kind"],
            item["node_says"],
        )
    log.info(
        "reconcile %s: %d transfers checked, %d differences, %d not fully checkable",
        chain,
        report.checked,
        len(report.differences),
        len(report.unchecked),
    )
    metrics = container.metrics
    if metrics is not None:
        reconcile_metrics(metrics.registry).record(chain, len(report.differences), time.time())
    return report
