"""Converting a fiat price at a locked rate, and valuing what came in (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.domain.money import AmountError
from daemon.domain.pricing import (
    amount_due,
    common_unit,
    currency_decimals,
    format_price,
    in_common_unit,
    parse_price,
    rest_due,
    value_minor,
    worth_minor,
)

CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD", "GBP"])
RATES = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8, allow_nan=False
)
ASSET_DECIMALS = st.sampled_from([0, 2, 6, 8, 18])
PRICES = st.integers(min_value=1, max_value=10**9)


@given(PRICES, CURRENCIES, RATES, ASSET_DECIMALS)
def test_the_amount_due_is_never_below_the_price_nor_a_base_unit_above(
    price: int, currency: str, rate: Decimal, decimals: int
) -> None:
    due = amount_due(price, currency, rate, decimals)
    assert due >= 1
    assert worth_minor(due, rate, currency, decimals) >= price
    if due > 1:  # one base unit less is worth less than the price
        assert worth_minor(due - 1, rate, currency, decimals) < price


@given(st.lists(st.integers(min_value=1, max_value=10**20), min_size=1, max_size=6), st.data())
def test_paying_exactly_one_option_is_exactly_the_price(
    dues: list[int], data: st.DataObject
) -> None:
    unit = common_unit(dues)
    price = data.draw(PRICES)
    for due in dues:
        parts = in_common_unit(due, due, unit)
        assert parts == unit
        assert value_minor(parts, unit, price) == price


@given(
    st.lists(st.tuples(st.integers(1, 10**20), st.integers(0, 10**21)), min_size=1, max_size=5),
    PRICES,
)
def test_shares_add_up_exactly(options: list[tuple[int, int]], price: int) -> None:
    unit = common_unit(due for due, _ in options)
    parts = sum(in_common_unit(paid, due, unit) for due, paid in options)
    exact = sum(Fraction(paid, due) for due, paid in options) * price
    assert value_minor(parts, unit, price) == int(exact)  # rounded down, never up
    assert Fraction(parts, unit) == sum(Fraction(paid, due) for due, paid in options)


@given(
    st.lists(st.integers(1, 10**20), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**20)), max_size=4),
    st.data(),
)
def test_the_rest_in_any_option_completes_the_order_and_not_one_unit_less(
    dues: list[int], paid: list[tuple[int, int]], data: st.DataObject
) -> None:
    """An underpaid multi-option order's page asks for the rest in whichever option the
    customer picks: paying it there makes the order whole; a base unit less does not."""
    unit = common_unit(dues)
    got = sum(in_common_unit(amount, dues[i % len(dues)], unit) for i, amount in paid)
    left = max(unit - got, 0)
    for due in dues:
        rest = rest_due(left, due, unit)
        assert got + in_common_unit(rest, due, unit) >= unit
        if rest > 0:
            assert got + in_common_unit(rest - 1, due, unit) < unit
        assert rest <= due  # never more than the option's whole amount


def test_prices_follow_the_currency_minor_unit() -> None:
    assert currency_decimals("EUR") == 2
    assert currency_decimals("JPY") == 0
    assert parse_price("49.90", "EUR") == 4990
    assert parse_price("500", "JPY") == 500
    for bad, currency in [("0", "EUR"), ("-1", "EUR"), ("1.001", "EUR"), ("1.5", "JPY")]:
        with pytest.raises(AmountError):
            parse_price(bad, currency)


def test_a_known_conversion() -> None:
    # 49.90 EUR at 60000.05 EUR/BTC: 0.00083166597... BTC, rounded up to 83167 sat.
    assert amount_due(4990, "EUR", Decimal("60000.05"), 8) == 83167
    # 10 USD at 1.0001 USD/USDC (6 decimals): 9.999000099... -> 9.999001 USDC.
    assert amount_due(1000, "USD", Decimal("1.0001"), 6) == 9_999_001


@given(PRICES, CURRENCIES)
def test_a_price_reads_back_as_written(price: int, currency: str) -> None:
    text = format_price(price, currency)
    assert parse_price(text, currency) == price
    assert len(text.partition(".")[2]) == currency_decimals(currency)
