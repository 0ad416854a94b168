"""The ``rates:`` section: defaults, and bad config refused by its key."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config import ConfigError, parse_config
from daemon.config.rates import RatesConfig, RateSource

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.yaml"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def problems(rates: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"rates: {rates}\n")
    return "; ".join(caught.value.problems)


def test_no_section_no_rates_and_an_empty_one_takes_the_defaults() -> None:
    assert parse_config("{}").rates is None
    rates = parse_config("rates: {}").rates
    assert rates is not None
    assert [s.kind for s in rates.sources] == ["kraken", "coinbase", "bitstamp"]
    assert rates.min_sources == 2
    assert rates.max_age == timedelta(minutes=5)
    assert rates.refresh == timedelta(minutes=1)
    assert rates.fixed == {}
    assert rates.currencies == ["EUR", "USD"]


def test_sources_by_name_or_with_a_base_url_and_fixed_rates_as_decimals() -> None:
    config = parse_config(
        "rates: {sources: [kraken, {kind: coinbase, url: 'http://127.0.0.1:9/'}],"
        " fixed: {btc/eur: '60000.5', LTC/USD: 80}, currencies: [eur, USD]}"
    )
    assert config.rates is not None
    assert config.rates.sources == [
        RateSource(kind="kraken"),
        RateSource(kind="coinbase", url="http://127.0.0.1:9"),
    ]
    assert config.rates.fixed_rates == {
        ("BTC", "EUR"): Decimal("60000.5"),
        ("LTC", "USD"): Decimal(80),
    }
    assert config.rates.currencies == ["EUR", "USD"]


@pytest.mark.parametrize(
    ("rates", "named"),
    [
        ("{sources: [kraken, krakken]}", "rates.sources.1.kind: 'krakken' is not a rate source"),
        ("{sources: [{kind: bitfinex}]}", "rates.sources.0.kind: 'bitfinex' is not"),
        ("{sources: [{kind: kraken, url: 'ftp://x'}]}", "rates.sources.0.url"),
        ("{sources: [kraken, kraken]}", "rates: sources: kraken listed more than once"),
        ("{min_sources: 0}", "rates.min_sources"),
        ("{min_sources: 4}", "rates: min_sources is 4 but only 3 sources are listed"),
        ("{sources: [], fixed: {}}", "rates: sources: none listed and no fixed rates"),
        ("{fixed: {BTC/EUR: '0'}}", "rates.fixed: BTC/EUR: '0' is not a positive rate"),
        ("{fixed: {BTC/EUR: -1}}", "rates.fixed: BTC/EUR: -1 is not a positive rate"),
        ("{fixed: {BTC/EUR: abc}}", "rates.fixed: BTC/EUR: 'abc' is not a rate"),
        ("{fixed: {BTC/EUR: .nan}}", "rates.fixed: BTC/EUR"),
        ("{fixed: {BTCEUR: '1'}}", "rates.fixed: 'BTCEUR' is not ASSET/CURRENCY"),
        ("{currencies: [EURO]}", "rates.currencies.0: 'EURO' is not a currency code"),
        ("{currencies: [NZD]}", "rates: currencies: no source listed quotes NZD"),
        ("{max_age: 0}", "rates.max_age: must be longer than zero"),
        ("{refresh: soon}", "rates.refresh"),
        ("{max_deviation_percent: 150}", "rates.max_deviation_percent"),
        ("{sorces: [kraken]}", "rates.sorces: unknown key"),
    ],
)
def test_bad_rates_config_is_named_by_its_key(rates: str, named: str) -> None:
    assert named in problems(rates)


def test_a_currency_only_a_fixed_rate_names_is_quoted() -> None:
    config = parse_config("rates: {sources: [], fixed: {BTC/NZD: '100000'}, currencies: [NZD]}")
    assert config.rates is not None
    assert config.rates.sources == []


def test_the_example_documents_every_rates_key_and_enables_rates() -> None:
    text = EXAMPLE.read_text()
    for name in [*RatesConfig.model_fields, *RateSource.model_fields]:
        assert re.search(rf"\b{name}:", text), f"config.example.yaml lacks rates.{name}"
    config = parse_config(text, env={"PAYWATCH_WEBHOOK_SECRET": SECRET})
    assert config.rates is not None
    assert config.rates.min_sources == 2
