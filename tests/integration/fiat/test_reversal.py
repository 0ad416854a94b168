"""A fiat order paid across two coins loses one payment to a reorg: the order is judged
again from what remains, in the price currency (back to pending and underpaid, its
received_value that of the remaining payment), as the node's best chain says."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.integration.fiat.conftest import DATABASES
from tests.integration.fiat.shop import (
    ALL_OPTIONS,
    Shop,
    expected,
    judged,
    money,
    option,
)

USD = {"amount": "50.00", "currency": "USD"}


@pytest.mark.parametrize("db_kind", DATABASES)
def test_a_reorg_that_drops_one_coin_leaves_the_other_counted(shop: Shop) -> None:
    created = shop.create(order_id="reorged", price=USD, accept=ALL_OPTIONS)
    eth, ltc = option(created, "ETH"), option(created, "LTC")
    shop.pay(ltc, ltc["amount_base"] // 2)
    shop.pay(eth, eth["amount_base"] // 2)  # mined alone in anvil's newest block
    shop.settle()
    paid = shop.get(created)
    assert judged(paid) == expected(created, shop.received(created))
    assert judged(paid)["status"] == "paid"

    shop.anvil.rpc("anvil_reorg", 1, [])  # the ETH payment's block, replaced by an empty one
    shop.settle()
    got = shop.received(created)
    assert got == {("eth", "ETH"): 0, ("eth", "USDC"): 0, ("ltc", "LTC"): ltc["amount_base"] // 2}
    order = shop.get(created)
    assert judged(order) == expected(created, got)
    assert money(order["received_value"]) == (Decimal("25.00"), "USD")
    assert (order["status"], order["exception"]) == ("pending", "underpaid")
    states = {(p["chain"], p["asset"]): p["status"] for p in order["payments"]}
    assert states == {("eth", "ETH"): "removed", ("ltc", "LTC"): "confirmed"}
