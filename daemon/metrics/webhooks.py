"""Webhook attempts as the dispatcher finishes them (a :class:`~daemon.webhooks.replies.
AttemptObserver`). The dispatcher sends up to thousands a second: an attempt costs one
counter add and one or two histogram observations, on series looked up once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from daemon.webhooks.retry_policy import DeliveryStatus

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
# From a few milliseconds (delivered at once) to the retry schedule's three days.
LATENCY_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    1800.0,
    3600.0,
    6 * 3600.0,
    24 * 3600.0,
    3 * 24 * 3600.0,
)
MAX_FAILING_SERIES = 100  # endpoints named in series (the longest failing first)
OUTCOMES = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.RETRYING,
    DeliveryStatus.DEAD,
    DeliveryStatus.GONE,
)


class EndpointCollector:
    """Failing webhook endpoints as the dispatcher's last claim read them from the
    database (several instances on one database report the same: use ``max``)."""

    def __init__(self) -> None:
        self.failing: dict[str, datetime] | None = None  # None: no dispatcher running

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "paywatch_webhook_endpoints_failing",
                "Webhook endpoints failing now: their deliveries wait, one probe per "
                "webhooks.probe_interval goes",
            ),
            GaugeMetricFamily(
                "paywatch_webhook_endpoint_failing_since_timestamp_seconds",
                "When each failing webhook endpoint (scheme://host:port) began failing "
                f"(unix time; the {MAX_FAILING_SERIES} longest failing)",
                labels=["endpoint"],
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        failing = self.failing
        if failing is None:
            return []
        count, since = self._families()
        count.add_metric([], len(failing))
        oldest = sorted(failing.items(), key=lambda item: (item[1], item[0]))
        for endpoint, moment in oldest[:MAX_FAILING_SERIES]:
            since.add_metric([endpoint], moment.timestamp())
        return [count, since]


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "paywatch_webhook_deliveries",
            "Webhook attempts, by what each left its delivery: delivered (2xx), retrying "
            "(failed, another attempt is scheduled), dead (failed, no attempt left), gone (410)",
            ["outcome"],
            registry=registry,
        )
        self._outcomes = {outcome: self.deliveries.labels(str(outcome)) for outcome in OUTCOMES}
        self.duration = Histogram(
            "paywatch_webhook_delivery_duration_seconds",
            "Time one webhook attempt took (the HTTP request and its answer)",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            "paywatch_webhook_event_latency_seconds",
            "Time from an event being written to its webhook being delivered (retries included)",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.endpoints = EndpointCollector()
        registry.register(self.endpoints)

    def attempted(self, outcome: DeliveryStatus, seconds: float, event_age: float | None) -> None:
        counter = self._outcomes.get(outcome)
        if counter is None:
            counter = self._outcomes[outcome] = self.deliveries.labels(str(outcome))
        counter.inc()
        self.duration.observe(seconds)
        if event_age is not None:
            self.latency.observe(event_age)

    def endpoints_failing(self, failing: Mapping[str, datetime]) -> None:
        self.endpoints.failing = dict(failing)
