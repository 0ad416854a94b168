"""The rate metrics as /metrics writes them, after a refresh against the stand-ins."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from daemon.config import parse_config
from daemon.runtime.container import build
from tests.support.clock import ManualClock
from tests.support.configs import config_yaml
from tests.support.rate_standins import rate_standins


def test_each_source_health_and_each_rate_age_are_exported(tmp_path: Path) -> None:
    clock = ManualClock()
    with rate_standins(clock) as ex:
        ex.set_price("BTC", "EUR", "60000")
        ex.bitstamp.mode = "down"
        rates = f"rates: {{sources: [{ex.sources_yaml()}], currencies: [EUR]}}\n"
        config = parse_config(config_yaml(f"sqlite:///{tmp_path / 'p.db'}", extra=rates))
        container = build(config, clock=clock)
        try:
            book, metrics = container.rates, container.metrics
            assert book is not None
            assert metrics is not None
            asyncio.run(book.refresh())
            clock.advance(seconds=30)
            text, _ = asyncio.run(metrics.render(None))
        finally:
            container.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("paywatch_rate_source_up", source="kraken") == 1
    assert value("paywatch_rate_source_up", source="bitstamp") == 0
    assert value("paywatch_rate_source_failures_total", source="bitstamp", kind="status") == 5
    assert value("paywatch_rate_source_failures_total", source="kraken", kind="status") == 0
    success = value("paywatch_rate_source_last_success_timestamp_seconds", source="kraken")
    assert success == clock.now.timestamp() - 30
    assert (
        "paywatch_rate_source_last_success_timestamp_seconds",
        (("source", "bitstamp"),),
    ) not in samples
    assert value("paywatch_rate_available", asset="BTC", currency="EUR") == 1
    assert value("paywatch_rate_age_seconds", asset="BTC", currency="EUR") == 30
    assert value("paywatch_rate_available", asset="ETH", currency="EUR") == 0
