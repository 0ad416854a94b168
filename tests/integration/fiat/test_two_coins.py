"""A fiat-priced order with several options, paid partly in one coin and the rest in
another: each payment counts at its own option's locked rate. Half the price in ETH
and the rest in the ERC-20 or in LTC is paid; the same one base unit short is
underpaid. USD rates divide the price exactly (so the halves are exact); EUR rates
make every amount round up (the rest is rounded up too: paid, worth the price in cents).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.integration.fiat.conftest import DATABASES
from tests.integration.fiat.shop import (
    ALL_OPTIONS,
    FIXED,
    Shop,
    due_base,
    eventually,
    expected,
    judged,
    money,
    option,
    value_of,
)

USD = {"amount": "50.00", "currency": "USD"}
EUR = {"amount": "49.90", "currency": "EUR"}


def check_offer(order: dict[str, Any], currency: str) -> None:
    """Three options at the fixed rates, rounded up; top-level coin fields null; the
    EVM options share one address, the Litecoin option has its own."""
    assert [(o["chain"], o["asset"]) for o in order["options"]] == [
        (o["chain"], o["asset"]) for o in ALL_OPTIONS
    ]
    for field in ("chain", "asset", "amount", "amount_base", "address", "payment_uri"):
        assert order[field] is None, field
    for o in order["options"]:
        assert Decimal(o["rate"]["value"]) == Decimal(FIXED[f"{o['asset']}/{currency}"])
        assert o["rate"]["currency"] == currency
        assert o["amount_base"] == due_base(
            order["price"]["amount"], o["rate"]["value"], o["asset"]
        )
        assert o["address"]
        assert o["payment_uri"]
    assert option(order, "ETH")["address"] == option(order, "USDC")["address"]
    assert option(order, "LTC")["address"] != option(order, "ETH")["address"]


@pytest.mark.parametrize("db_kind", DATABASES)
def test_half_in_eth_and_the_rest_in_another_coin(shop: Shop) -> None:
    cases = {
        ("USDC", 0): "paid",
        ("USDC", 1): "underpaid",
        ("LTC", 0): "paid",
        ("LTC", 1): "underpaid",
    }
    orders: dict[tuple[str, int], dict[str, Any]] = {}
    for rest, short in cases:
        order = shop.create(order_id=f"split-{rest}-{short}", price=USD, accept=ALL_OPTIONS)
        check_offer(order, "USD")
        orders[(rest, short)] = order
        eth = option(order, "ETH")
        assert eth["amount_base"] % 2 == 0
        assert option(order, rest)["amount_base"] % 2 == 0
        shop.pay(eth, eth["amount_base"] // 2)
        shop.pay(option(order, rest), option(order, rest)["amount_base"] // 2 - short)
    shop.settle()
    for (rest, short), created in orders.items():
        order = shop.get(created)
        got = shop.received(created)
        assert got[("eth", "ETH")] == option(created, "ETH")["amount_base"] // 2
        assert judged(order) == expected(created, got), (rest, short)
        assert {(p["chain"], p["asset"]) for p in order["payments"]} == {
            ("eth", "ETH"),
            (option(created, rest)["chain"], rest),
        }
        if short:
            assert (order["status"], order["exception"]) == ("pending", "underpaid")
            assert money(order["received_value"]) == (Decimal("49.99"), "USD")
        else:
            assert (order["status"], order["exception"]) == ("paid", "none")
            assert money(order["received_value"]) == money(USD)


def test_the_rest_rounded_up_in_another_coin_is_the_price(shop: Shop) -> None:
    """EUR rates: half the ETH due rounded up, then what is left of the price in LTC,
    rounded up to the satoshi: paid, worth 49.90 EUR in cents (a fraction of a cent
    over the price, by rounding: not overpaid)."""
    created = shop.create(order_id="split-eur", price=EUR, accept=ALL_OPTIONS)
    check_offer(created, "EUR")
    eth, ltc = option(created, "ETH"), option(created, "LTC")
    half = math.ceil(Fraction(eth["amount_base"], 2))
    rest = math.ceil((1 - Fraction(half, eth["amount_base"])) * ltc["amount_base"])
    shop.pay(eth, half)
    shop.pay(ltc, rest)
    shop.settle()
    got = shop.received(created)
    assert got == {("eth", "ETH"): half, ("eth", "USDC"): 0, ("ltc", "LTC"): rest}
    assert value_of(created, got) >= Fraction(49_90, 100)
    order = shop.get(created)
    assert order["status"] == "paid"
    assert order["exception"] == "none"
    assert money(order["received_value"]) == money(EUR) == expected(created, got)["received_value"]


def test_without_accept_every_configured_asset_is_offered(shop: Shop) -> None:
    listed = shop.create(order_id="listed", price=EUR, accept=ALL_OPTIONS)
    implicit = shop.create(order_id="implicit", price=EUR)
    check_offer(implicit, "EUR")

    def terms(order: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (o["chain"], o["asset"], o["amount_base"], o["rate"]["value"], o["rate"]["sources"])
            for o in order["options"]
        ]

    assert terms(implicit) == terms(listed)


def test_paid_across_two_coins_after_expiry(shop: Shop) -> None:
    """Orders that expired first (2 s), then paid: half in ETH and half in LTC is
    paid_late; half in ETH alone is underpaid; both judged in the price currency."""
    orders = {
        rest: shop.create(order_id=f"late-{rest}", price=USD, accept=ALL_OPTIONS, expires_in="2s")
        for rest in ("LTC", None)
    }
    eventually(
        lambda: all(shop.get(o)["status"] == "expired" for o in orders.values()),
        "the orders to expire",
    )
    for rest, created in orders.items():
        eth = option(created, "ETH")
        shop.pay(eth, eth["amount_base"] // 2)
        if rest is not None:
            shop.pay(option(created, rest), option(created, rest)["amount_base"] // 2)
    shop.settle()
    for rest, created in orders.items():
        got = shop.received(created)
        assert value_of(created, got) == (Fraction(50) if rest else Fraction(25))
        order = judged(shop.get(created))
        if rest is None:
            assert order == {
                "status": "expired",
                "exception": "underpaid",
                "received_value": (Decimal("25.00"), "USD"),
            }
        else:
            assert order == {
                "status": "expired",
                "exception": "paid_late",
                "received_value": money(USD),
            }
