"""The three exchanges' stand-ins, quoting BTC/EUR a few cents apart, on a test clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clock import ManualClock
from tests.support.rate_standins import Exchanges, rate_standins


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ex(clock: ManualClock) -> Iterator[Exchanges]:
    with rate_standins(clock) as exchanges:
        exchanges.kraken.set_price("BTC", "EUR", "60000.10")
        exchanges.coinbase.set_price("BTC", "EUR", "60000.30")
        exchanges.bitstamp.set_price("BTC", "EUR", "60000.20")
        yield exchanges
