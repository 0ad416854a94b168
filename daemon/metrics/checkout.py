"""The checkout pages' live streams, read at scrape time from the instance's
:class:`~daemon.checkout.streams.Streams`: how many are open, and how many requests the
limits refused (a sustained rate of refusals is a client hammering, or limits set too
low for the shop's traffic)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from daemon.checkout.streams import REFUSALS, Streams


class CheckoutCollector:
    def __init__(self, streams: Callable[[], Streams | None]) -> None:
        self._streams = streams

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily(
                "paywatch_checkout_streams", "Checkout pages' event streams open now"
            ),
            CounterMetricFamily(
                "paywatch_checkout_refusals",
                "Checkout requests refused by a limit (429), by reason",
                labels=["reason"],
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        streams = self._streams()
        if streams is None:
            return []
        open_now, refused = self._families()
        open_now.add_metric([], streams.open_count)
        for reason in REFUSALS:
            refused.add_metric([reason], streams.refused[reason])
        return [open_now, refused]
