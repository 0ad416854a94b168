"""Tatum notifications by fate, read at scrape time from the notification desk's counts
(:attr:`daemon.tatum.hints.Hints.stats`); nothing when notifications are off."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, Metric

from daemon.tatum.hints import Hints


class TatumCollector:
    def __init__(self, hints: Callable[[], Hints | None]) -> None:
        self._hints = hints

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "paywatch_tatum_notifications",
            "Tatum notifications: rejected (no or a wrong signature), invalid, accepted, "
            "duplicate, ignored (no order's address); then on_chain or absent once checked",
            labels=["result"],
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        hints = self._hints()
        if hints is None:
            return []
        family = self._family()
        for result, count in sorted(hints.stats.items()):
            family.add_metric([result], count)
        return [family]
