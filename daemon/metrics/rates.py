"""The exchange rates (daemon.rates), read at scrape time from the rate book: each
source's health and each rate's age. Nothing is exported when ``rates:`` is off."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from daemon.rates.book import RateBook

FAILURE_KINDS = ("timeout", "connect", "status", "malformed", "refused", "error")


class RateCollector:
    def __init__(self, book: Callable[[], RateBook | None]) -> None:
        self._book = book

    @staticmethod
    def _families() -> list[GaugeMetricFamily | CounterMetricFamily]:
        return [
            GaugeMetricFamily(
                "paywatch_rate_source_up",
                "1 when the rate source's last round answered every request, else 0",
                labels=["source"],
            ),
            GaugeMetricFamily(
                "paywatch_rate_source_last_success_timestamp_seconds",
                "When the rate source last answered a request (Unix time)",
                labels=["source"],
            ),
            CounterMetricFamily(
                "paywatch_rate_source_failures",
                "Requests to the rate source that failed, by kind (timeout, connect, status, "
                "malformed, refused, error)",
                labels=["source", "kind"],
            ),
            GaugeMetricFamily(
                "paywatch_rate_age_seconds",
                "Seconds since the newest answer any source gave for the pair (0: fixed)",
                labels=["asset", "currency"],
            ),
            GaugeMetricFamily(
                "paywatch_rate_available",
                "1 when the pair can be quoted now (enough fresh sources agree, or a fixed "
                "rate), else 0",
                labels=["asset", "currency"],
            ),
        ]

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        book = self._book()
        if book is None:
            return []
        up, success, failures, age, available = self._families()
        for name, health in sorted(book.health.items()):
            if health.up is not None:
                up.add_metric([name], 1 if health.up else 0)
            if health.last_success is not None:
                success.add_metric([name], health.last_success.timestamp())
            for kind in sorted({*FAILURE_KINDS, *health.failures}):
                failures.add_metric([name, kind], health.failures[kind])
        for pair in book.pairs():
            labels = [pair.asset, pair.currency]
            available.add_metric(labels, 1 if pair.available else 0)
            if pair.newest_age is not None:
                age.add_metric(labels, pair.newest_age)
        return [up, success, failures, age, available]
