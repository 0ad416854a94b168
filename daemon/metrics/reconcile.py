"""What the daemon's last reconcile of each chain found (the ``chain.NAME.reconcile``
job, see :mod:`daemon.accounting.reconcile_job`); no series before its first round.

One :class:`ReconcileMetrics` per registry, registered by the first to ask
(:func:`reconcile_metrics`): the daemon's metrics at start, the job at its round."""

from __future__ import annotations

from collections.abc import Iterable
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Gauge

_BY_REGISTRY: WeakKeyDictionary[CollectorRegistry, ReconcileMetrics] = WeakKeyDictionary()


class ReconcileMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.differences = Gauge(
            "paywatch_reconcile_differences",
            "Credited transfers the node disagrees with at the chain's last reconcile",
            ["chain"],
            registry=registry,
        )
        self.last_run = Gauge(
            "paywatch_reconcile_last_run_timestamp_seconds",
            "When the chain's last reconcile finished (Unix time)",
            ["chain"],
            registry=registry,
        )

    def gauges(self) -> Iterable[Gauge]:
        return (self.differences, self.last_run)

    def record(self, chain: str, differences: int, finished_at: float) -> None:
        self.differences.labels(chain).set(differences)
        self.last_run.labels(chain).set(finished_at)


def reconcile_metrics(registry: CollectorRegistry) -> ReconcileMetrics:
    """The registry's reconcile metrics, registered on first use."""
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = ReconcileMetrics(registry)
    return metrics
