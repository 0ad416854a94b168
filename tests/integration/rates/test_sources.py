"""The rate book against local stand-ins of Kraken, Coinbase and Bitstamp answering in
their documented formats, over real HTTP on loopback (no mocks): medians, freshness,
min_sources, outvoting, each kind of failure, unlisted pairs, fixed rates."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from daemon.config import parse_config
from daemon.rates.book import RateBook
from daemon.rates.errors import RatesUnavailable, UnknownCurrency
from tests.support.clock import ManualClock
from tests.support.rate_standins import Exchanges


def book_of(ex: Exchanges, clock: ManualClock, extra: str = "") -> RateBook:
    config = parse_config(f"rates: {{sources: [{ex.sources_yaml()}], timeout: 1s{extra}}}")
    assert config.rates is not None
    return RateBook(config.rates, ["BTC", "ETH", "POL"], clock)


def refreshed(book: RateBook) -> RateBook:
    asyncio.run(book.refresh())
    return book


def test_the_rate_is_the_median_of_the_three_sources(ex: Exchanges, clock: ManualClock) -> None:
    book = refreshed(book_of(ex, clock))
    quote = book.quote("btc", "eur")
    assert quote.value == Decimal("60000.20")
    assert quote.sources == ("bitstamp", "coinbase", "kraken")
    assert quote.at == clock.now
    view = book.view("EUR")
    btc = next(r for r in view["rates"] if r["asset"] == "BTC")
    assert btc == {
        "asset": "BTC",
        "value": "60000.20",
        "sources": [
            {"name": "kraken", "value": "60000.10", "age_seconds": 0, "ok": True},
            {"name": "coinbase", "value": "60000.30", "age_seconds": 0, "ok": True},
            {"name": "bitstamp", "value": "60000.20", "age_seconds": 0, "ok": True},
        ],
    }
    assert all(h.up for h in book.health.values())


def test_one_source_down_still_quotes_with_two_and_two_down_do_not(
    ex: Exchanges, clock: ManualClock
) -> None:
    ex.bitstamp.mode = "down"
    book = refreshed(book_of(ex, clock))
    quote = book.quote("BTC", "EUR")
    assert quote.value == Decimal("60000.20")  # the mean of the two
    assert quote.sources == ("coinbase", "kraken")
    assert book.health["bitstamp"].failures["status"] > 0
    assert book.health["bitstamp"].up is False
    ex.coinbase.mode = "down"
    clock.advance(minutes=6)  # coinbase's last answer ages out
    refreshed(book)
    with pytest.raises(RatesUnavailable) as refused:
        book.quote("BTC", "EUR")
    assert refused.value.code == "rates_unavailable"


def test_a_source_ten_times_off_is_outvoted(ex: Exchanges, clock: ManualClock) -> None:
    ex.coinbase.set_price("BTC", "EUR", "600003.00")
    book = refreshed(book_of(ex, clock))
    quote = book.quote("BTC", "EUR")
    assert quote.value == Decimal("60000.15")
    assert quote.sources == ("bitstamp", "kraken")
    answers = {s["name"]: s for s in book.view("EUR")["rates"][0]["sources"]}
    assert answers["coinbase"]["ok"] is False
    assert answers["coinbase"]["value"] == "600003.00"


@pytest.mark.parametrize("mode", ["malformed", "timeout", "down"])
def test_each_failure_is_counted_by_kind_and_spares_the_others(
    ex: Exchanges, clock: ManualClock, mode: str
) -> None:
    ex.kraken.mode = mode
    ex.kraken.delay = 2.0
    book = refreshed(book_of(ex, clock))
    assert book.quote("BTC", "EUR").sources == ("bitstamp", "coinbase")
    kind = {"malformed": "malformed", "timeout": "timeout", "down": "status"}[mode]
    assert book.health["kraken"].failures[kind] >= 1
    assert book.health["kraken"].last_success is None
    assert book.health["coinbase"].up is True


def test_a_stale_timestamp_does_not_count(ex: Exchanges, clock: ManualClock) -> None:
    ex.coinbase.mode = "stale"  # its `time` an hour old
    ex.bitstamp.mode = "stale"  # its `timestamp` an hour old
    book = refreshed(book_of(ex, clock))
    with pytest.raises(RatesUnavailable):
        book.quote("BTC", "EUR")
    answers = {s["name"]: s for s in book.view("EUR")["rates"][0]["sources"]}
    assert answers["coinbase"]["age_seconds"] == 3600
    assert answers["coinbase"]["ok"] is False
    assert answers["kraken"]["ok"] is True  # fresh, but one is not min_sources


def test_an_answer_without_a_time_ages_from_its_fetch(ex: Exchanges, clock: ManualClock) -> None:
    book = refreshed(book_of(ex, clock, ", min_sources: 1"))
    ex.coinbase.mode = ex.bitstamp.mode = "down"
    clock.advance(minutes=4)
    refreshed(book)  # kraken answers again; the others keep their 4-minute-old answers
    assert book.quote("BTC", "EUR").sources == ("bitstamp", "coinbase", "kraken")
    ex.kraken.mode = "down"
    clock.advance(seconds=61)  # kraken's answer is 61 s old, the others' 301 s
    refreshed(book)
    assert book.quote("BTC", "EUR").sources == ("kraken",)
    clock.advance(minutes=4)
    with pytest.raises(RatesUnavailable):
        book.quote("BTC", "EUR")


def test_a_pair_an_exchange_does_not_list_is_not_answered_by_it(
    ex: Exchanges, clock: ManualClock
) -> None:
    ex.kraken.set_price("POL", "EUR", "0.20")  # coinbase and bitstamp do not list POL
    ex.coinbase.set_price("ETH", "EUR", "3000.5")
    ex.bitstamp.set_price("ETH", "EUR", "3000.7")
    book = refreshed(book_of(ex, clock))
    with pytest.raises(RatesUnavailable):
        book.quote("POL", "EUR")
    assert book.quote("ETH", "EUR").value == Decimal("3000.6")
    assert all(h.up for h in book.health.values())  # not listed is no failure
    one = refreshed(book_of(ex, clock, ", min_sources: 1"))
    assert one.quote("POL", "EUR").value == Decimal("0.20")


def test_fixed_rates_come_first_and_unknown_currencies_are_refused(
    ex: Exchanges, clock: ManualClock
) -> None:
    book = refreshed(book_of(ex, clock, ", fixed: {BTC/EUR: '50000', LTC/EUR: '80'}"))
    quote = book.quote("BTC", "EUR")
    assert (quote.value, quote.sources) == (Decimal(50000), ("fixed",))
    assert book.quote("LTC", "EUR").value == Decimal(80)  # an asset only fixed names
    fixed = {"name": "fixed", "value": "50000", "age_seconds": 0, "ok": True}
    assert book.view("EUR")["rates"][0] == {"asset": "BTC", "value": "50000", "sources": [fixed]}
    with pytest.raises(UnknownCurrency) as refused:
        book.quote("BTC", "NZD")
    assert refused.value.code == "unknown_currency"
    with pytest.raises(RatesUnavailable):
        book.quote("BTC", "USD")  # no stand-in has BTC/USD
