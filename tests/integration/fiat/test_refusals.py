"""Fiat orders the daemon refuses, with the code the API promises, and nothing created:
an unknown currency, a price beside an amount, an option not configured, a price zero,
negative or finer than the currency's cents, and too few fresh rate sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.fiat.conftest import ShopFactory
from tests.integration.fiat.shop import Shop, eventually
from tests.support.rate_standins import Exchanges, rate_standins

EUR = {"amount": "49.90", "currency": "EUR"}
REFUSED: list[tuple[str, dict[str, Any], int, str | None]] = [
    (
        "unknown currency",
        {"price": {"amount": "49.90", "currency": "XYZ"}},
        422,
        "unknown_currency",
    ),
    ("price and amount", {"price": EUR, "chain": "eth", "asset": "ETH", "amount": "1"}, 422, None),
    (
        "accept unknown chain",
        {"price": EUR, "accept": [{"chain": "doge", "asset": "DOGE"}]},
        422,
        None,
    ),
    (
        "accept unknown asset",
        {"price": EUR, "accept": [{"chain": "eth", "asset": "DAI"}]},
        422,
        None,
    ),
    ("price zero", {"price": {"amount": "0", "currency": "EUR"}}, 422, None),
    ("price negative", {"price": {"amount": "-1.00", "currency": "EUR"}}, 422, None),
    ("price below a cent", {"price": {"amount": "49.901", "currency": "EUR"}}, 422, None),
]


def orders_listed(shop: Shop) -> list[Any]:
    answer = shop.client.get("/v1/orders")
    assert answer.status_code == 200, answer.text
    data: list[Any] = answer.json()["data"]
    return data


def test_refused_fiat_orders_create_nothing(shop: Shop) -> None:
    for n, (what, body, status, code) in enumerate(REFUSED):
        answer = shop.client.post("/v1/orders", json={"order_id": f"refused-{n}", **body})
        assert answer.status_code == status, (what, answer.text)
        if code is not None:
            assert answer.json()["error"]["code"] == code, what
    assert orders_listed(shop) == []


def bitstamp_answered(shop: Shop) -> bool:
    answer = shop.client.get("/v1/rates", params={"currency": "EUR"})
    assert answer.status_code == 200, answer.text
    seen = {
        (r["asset"], s["name"]): s["value"] for r in answer.json()["rates"] for s in r["sources"]
    }
    return all(seen.get((asset, "bitstamp")) for asset in ("ETH", "USDC", "LTC"))


@pytest.fixture
def one_source() -> Iterator[Exchanges]:
    """Only Bitstamp answers; the other two are down."""
    with rate_standins() as exchanges:
        for asset, value in {"ETH": "2345.67", "USDC": "0.9213", "LTC": "71.37"}.items():
            exchanges.set_price(asset, "EUR", value)
        exchanges.kraken.mode = exchanges.coinbase.mode = "down"
        yield exchanges


def test_too_few_fresh_sources_is_503(make_shop: ShopFactory, one_source: Exchanges) -> None:
    rates = (
        f"rates: {{sources: [{one_source.sources_yaml()}], min_sources: 2, refresh: 1s, "
        "currencies: [EUR]}\n"
    )
    shop = make_shop(rates=rates)
    eventually(lambda: bitstamp_answered(shop), "Bitstamp's answers in the daemon's book")
    for body in ({"price": EUR}, {"price": EUR, "chain": "ltc", "asset": "LTC"}):
        answer = shop.client.post("/v1/orders", json={"order_id": "no-rate", **body})
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "rates_unavailable"
    assert orders_listed(shop) == []
    crypto = shop.create(order_id="crypto", chain="ltc", asset="LTC", amount="0.5")
    assert crypto["price"] is None  # crypto-priced orders need no rate
