"""``orders.addresses: lazy``: a multi-option order's options get no address until the
customer picks one (``POST /v1/orders/{id}/pick``); picking again gives the same
address; the EVM options on one key share it. A picked option is then paid for real."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.integration.fiat.conftest import DATABASES, ShopFactory
from tests.integration.fiat.shop import ALL_OPTIONS, expected, judged, money, option

EUR = {"amount": "49.90", "currency": "EUR"}


@pytest.mark.parametrize("db_kind", DATABASES)
def test_options_get_their_address_when_picked(make_shop: ShopFactory) -> None:
    shop = make_shop(addresses="lazy")
    created = shop.create(order_id="lazy-1", price=EUR, accept=ALL_OPTIONS)
    assert [o["address"] for o in created["options"]] == [None, None, None]
    assert created["address"] is None
    assert shop.get(created)["options"] == created["options"]

    picked = shop.pick(created, "eth", "ETH")
    assert picked.status_code == 200, picked.text
    eth_address = option(picked.json(), "ETH")["address"]
    assert eth_address
    assert option(picked.json(), "LTC")["address"] is None  # only what was picked
    again = shop.pick(created, "eth", "ETH")
    assert again.status_code == 200, again.text
    assert option(again.json(), "ETH")["address"] == eth_address
    usdc = shop.pick(created, "eth", "USDC")
    assert usdc.status_code == 200, usdc.text
    assert option(usdc.json(), "USDC")["address"] == eth_address  # one key, one address

    ltc = shop.pick(created, "ltc", "LTC")
    assert ltc.status_code == 200, ltc.text
    ltc_option = option(ltc.json(), "LTC")
    assert ltc_option["address"]
    assert ltc_option["address"] != eth_address
    assert ltc_option["payment_uri"]
    assert option(shop.get(created), "LTC")["address"] == ltc_option["address"]
    # The amounts and rates were locked at creation: a pick changes no amount.
    for before, after in zip(created["options"], ltc.json()["options"], strict=True):
        assert (after["amount_base"], after["rate"]) == (before["amount_base"], before["rate"])

    not_offered = shop.pick(created, "eth", "POL")
    assert 400 <= not_offered.status_code < 500, not_offered.text

    shop.pay(ltc_option, ltc_option["amount_base"])
    shop.settle()
    picked_order = ltc.json()
    got = shop.received(picked_order)
    order = shop.get(created)
    assert judged(order) == expected(picked_order, got)
    assert judged(order) == {"status": "paid", "exception": "none", "received_value": money(EUR)}


def test_single_option_orders_get_their_address_at_once(make_shop: ShopFactory) -> None:
    shop = make_shop(addresses="lazy")
    order = shop.create(order_id="lazy-one", price=EUR, chain="ltc", asset="LTC")
    assert order["address"]
    assert order["options"][0]["address"] == order["address"]


def test_a_coin_sent_to_a_shared_address_counts_for_its_own_option(
    make_shop: ShopFactory,
) -> None:
    """Only USDC picked, but the customer sends ETH to that address (the ETH option's
    address too, on the same key): it counts at the ETH option's locked rate."""
    shop = make_shop(addresses="lazy")
    created = shop.create(order_id="lazy-shared", price=EUR, accept=ALL_OPTIONS)
    picked = shop.pick(created, "eth", "USDC")
    assert picked.status_code == 200, picked.text
    usdc = option(picked.json(), "USDC")
    eth = {**option(created, "ETH"), "address": usdc["address"]}
    shop.pay(eth, eth["amount_base"])
    shop.settle()
    order = shop.get(created)
    truth = {**shop.received(picked.json()), **shop.received({"options": [eth]})}
    assert truth[("eth", "ETH")] == eth["amount_base"]
    assert judged(order) == expected(created, truth)
    assert judged(order) == {"status": "paid", "exception": "none", "received_value": money(EUR)}


def test_picked_addresses_are_never_another_orders(make_shop: ShopFactory) -> None:
    """Lazy orders picked after other orders took addresses on the same keys: every
    address is its order's own, so a payment to one order counts for no other."""
    shop = make_shop(addresses="lazy")
    first = shop.create(order_id="lazy-a", price=EUR, accept=ALL_OPTIONS)
    second = shop.create(order_id="lazy-b", price=EUR, accept=ALL_OPTIONS)
    crypto = shop.create(order_id="crypto-c", chain="eth", asset="ETH", amount="0.01")
    single = shop.create(order_id="fiat-d", chain="ltc", asset="LTC", price=EUR)
    picked = {
        (order["order_id"], chain): option(shop.pick(order, chain, asset).json(), asset)
        for order in (second, first)
        for chain, asset in (("ltc", "LTC"), ("eth", "ETH"))
    }
    addresses = [o["address"] for o in picked.values()] + [crypto["address"], single["address"]]
    assert all(addresses)
    assert len(set(addresses)) == len(addresses), addresses
    shop.pay(option(crypto, "ETH"), crypto["amount_base"])
    shop.pay(option(single, "LTC"), single["amount_base"])
    shop.settle()
    assert shop.get(crypto)["status"] == "paid"
    assert shop.get(single)["status"] == "paid"
    for order in (first, second):
        assert judged(shop.get(order)) == {
            "status": "pending",
            "exception": "none",
            "received_value": (Decimal(0), "EUR"),
        }
        assert shop.get(order)["payments"] == []
