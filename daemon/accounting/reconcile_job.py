"""Reconciling a configured chain: its family's reconciler over the chain's source, for
``paywatch reconcile`` and the scheduled ``chain.NAME.reconcile`` job
(``reconcile_interval``; on the holder of the cluster's ``jobs`` lease)."""

from __future__ import annotations

from collections.abc import Callable

from chains.reconciliation import Reconciler
from daemon.accounting.reconcile import ReconcileReport, reconcile
from daemon.families.registry import family_of
from daemon.runtime.container import Container
from daemon.services.registry import ChainInfo


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
