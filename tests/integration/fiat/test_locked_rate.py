"""A rate that changes after an order was created never changes the order: its options
keep the amounts and rates quoted at creation, and paying the amount quoted then pays
it, though the daemon's rates (from the exchanges' stand-ins, refreshed every second)
have moved and a new order is quoted at the new ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.fiat.conftest import ShopFactory
from tests.integration.fiat.shop import ALL_OPTIONS, Shop, due_base, expected, judged, money, option
from tests.support.rate_standins import Exchanges, rate_standins

EUR = {"amount": "49.90", "currency": "EUR"}
BEFORE = {"ETH": "2345.67", "USDC": "0.9213", "LTC": "71.37"}
AFTER = {"ETH": "4691.34", "USDC": "0.9100", "LTC": "35.68"}  # LTC halved: twice as much due


@pytest.fixture
def ex() -> Iterator[Exchanges]:
    with rate_standins() as exchanges:
        quote(exchanges, BEFORE)
        yield exchanges


def quote(exchanges: Exchanges, rates: dict[str, str]) -> None:
    for asset, value in rates.items():
        exchanges.set_price(asset, "EUR", value)


def daemon_rates(shop: Shop) -> dict[str, Any]:
    answer = shop.client.get("/v1/rates", params={"currency": "EUR"})
    assert answer.status_code == 200, answer.text
    return {r["asset"]: r["value"] and Decimal(r["value"]) for r in answer.json()["rates"]}


def wait_for_rates(shop: Shop, rates: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while any(daemon_rates(shop).get(a) != Decimal(v) for a, v in rates.items()):
        assert time.monotonic() < deadline, f"the daemon never quoted {rates}"
        time.sleep(0.1)


def test_a_rate_changed_after_creation_does_not_change_the_order(
    make_shop: ShopFactory, ex: Exchanges
) -> None:
    rates = (
        f"rates: {{sources: [{ex.sources_yaml()}], min_sources: 2, refresh: 1s, "
        "currencies: [EUR]}\n"
    )
    shop = make_shop(rates=rates)
    wait_for_rates(shop, BEFORE)
    created = shop.create(order_id="locked", price=EUR, accept=ALL_OPTIONS)
    for o in created["options"]:
        assert Decimal(o["rate"]["value"]) == Decimal(BEFORE[o["asset"]])
        assert sorted(o["rate"]["sources"]) == ["bitstamp", "coinbase", "kraken"]
        assert o["amount_base"] == due_base(EUR["amount"], BEFORE[o["asset"]], o["asset"])

    quote(ex, AFTER)
    wait_for_rates(shop, AFTER)
    later = shop.create(order_id="later", price=EUR, accept=ALL_OPTIONS)
    for o in later["options"]:
        assert Decimal(o["rate"]["value"]) == Decimal(AFTER[o["asset"]])
    assert option(later, "LTC")["amount_base"] > option(created, "LTC")["amount_base"]

    assert shop.get(created)["options"] == created["options"]
    ltc = option(created, "LTC")
    shop.pay(ltc, ltc["amount_base"])  # the amount quoted at creation
    shop.settle()
    order = shop.get(created)
    assert order["options"] == created["options"]
    assert judged(order) == expected(created, shop.received(created))
    assert judged(order) == {"status": "paid", "exception": "none", "received_value": money(EUR)}
