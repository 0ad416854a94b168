"""A fiat-priced order with one option, paid on the real node in its coin: exactly the
amount due, one base unit short, and over. The amount due is the price over the locked
rate rounded up (checked with fractions from the order's own rate); status, exception
and received_value are compared with what the node says the address got."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.integration.fiat.conftest import ShopFactory
from tests.integration.fiat.shop import (
    EUR_RATES,
    Shop,
    due_base,
    expected,
    judged,
    money,
)

PRICE = {"amount": "49.90", "currency": "EUR"}


@pytest.mark.parametrize(("chain", "asset"), [("eth", "ETH"), ("eth", "USDC"), ("ltc", "LTC")])
def test_paid_exactly_short_and_over_in_one_coin(shop: Shop, chain: str, asset: str) -> None:
    orders: dict[str, dict[str, Any]] = {}
    for case in ("exact", "short", "over"):
        orders[case] = shop.create(
            order_id=f"{asset}-{case}", chain=chain, asset=asset, price=PRICE
        )
    for order in orders.values():
        assert money(order["price"]) == money(PRICE)
        assert money(order["received_value"]) == (Decimal(0), "EUR")
        [option] = order["options"]
        rate = option["rate"]
        assert (option["chain"], option["asset"]) == (chain, asset)
        assert Decimal(rate["value"]) == Decimal(EUR_RATES[f"{asset}/EUR"])
        assert rate["currency"] == "EUR"
        assert rate["sources"] == ["fixed"]
        due = due_base(PRICE["amount"], rate["value"], asset)
        assert option["amount_base"] == due  # rounded up, never less than the price
        # A single-option order keeps the top-level fields.
        assert (order["chain"], order["asset"]) == (chain, asset)
        assert order["amount_base"] == due
        assert order["amount"] == option["amount"]
        assert order["address"]
        assert order["address"] == option["address"]
        assert order["payment_uri"] == option["payment_uri"]
        assert order["status"] == "pending"
    due = orders["exact"]["options"][0]["amount_base"]
    shop.pay(orders["exact"]["options"][0], due)
    shop.pay(orders["short"]["options"][0], due - 1)
    shop.pay(orders["over"]["options"][0], due + due // 10)
    shop.settle()
    for case, created in orders.items():
        order = shop.get(created)
        got = shop.received(created)
        assert judged(order) == expected(created, got), case
        [payment] = order["payments"]
        assert (payment["chain"], payment["asset"]) == (chain, asset)
        assert payment["amount_base"] == got[(chain, asset)]
    assert judged(shop.get(orders["exact"])) == {
        "status": "paid",
        "exception": "none",
        "received_value": money(PRICE),
    }
    short = judged(shop.get(orders["short"]))
    assert (short["status"], short["exception"]) == ("pending", "underpaid")
    assert short["received_value"] == (Decimal("49.89"), "EUR")
    over = judged(shop.get(orders["over"]))
    assert (over["status"], over["exception"]) == ("paid", "overpaid")


def test_a_crypto_priced_order_is_one_option_without_a_rate(shop: Shop) -> None:
    created = shop.create(order_id="crypto", chain="ltc", asset="LTC", amount="0.5")
    assert created["price"] is None
    assert created["received_value"] is None
    [option] = created["options"]
    assert option == {
        "chain": "ltc",
        "asset": "LTC",
        "amount": "0.5",
        "amount_base": 50_000_000,
        "address": created["address"],
        "payment_uri": created["payment_uri"],
        "rate": None,
    }
    shop.pay(option, 50_000_000)
    shop.settle()
    order = shop.get(created)
    assert shop.received(created) == {("ltc", "LTC"): 50_000_000}
    assert (order["status"], order["exception"], order["received_value"]) == ("paid", "none", None)
    assert [(p["chain"], p["asset"]) for p in order["payments"]] == [("ltc", "LTC")]


def test_the_underpaid_tolerance_applies_to_the_price(make_shop: ShopFactory) -> None:
    """1 % tolerance: 99.5 % of the LTC due is paid (worth 49.65 of 49.90 EUR), 98.5 %
    is underpaid."""
    shop = make_shop(tolerance="1")
    orders = {
        share: shop.create(order_id=f"tol-{share}", chain="ltc", asset="LTC", price=PRICE)
        for share in (995, 985)
    }
    for share, order in orders.items():
        [option] = order["options"]
        shop.pay(option, option["amount_base"] * share // 1000)
    shop.settle()
    for share, created in orders.items():
        order = shop.get(created)
        assert judged(order) == expected(created, shop.received(created), 1), share
    assert judged(shop.get(orders[995]))["status"] == "paid"
    assert judged(shop.get(orders[985]))["exception"] == "underpaid"
