"""Which chains this instance leads (several instances on one PostgreSQL; on SQLite the
one instance leads every chain), read at scrape time from its
:class:`~daemon.cluster.leadership.Leadership`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from daemon.cluster.leadership import Leadership
from daemon.cluster.leases import chain_lease


class LeaderCollector:
    def __init__(self, cluster: Callable[[], Leadership | None], chains: Iterable[str]) -> None:
        self._cluster = cluster
        self._chains = list(chains)

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "paywatch_chain_leader",
            "1 where this instance leads the chain (watches it), 0 where another does",
            labels=["chain"],
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        cluster = self._cluster()
        if cluster is None:
            return []
        family = self._family()
        for chain in self._chains:
            family.add_metric([chain], 1 if cluster.holds(chain_lease(chain)) else 0)
        return [family]
