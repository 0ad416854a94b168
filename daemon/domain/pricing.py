"""Prices in a fiat currency: the amount due at a locked rate, and what payments are worth.

A price is an integer of the currency's minor units (cents). An option's amount due is
the price at its locked rate **rounded up** to the asset's base unit, so paying it is
never worth less than the price, and one base unit less is. Rates are exact decimals;
every step here is integer or rational arithmetic, never a float.

Payments to several options add up in the price currency. Each transfer counts as its
share of the option it pays, ``amount / amount_due``, so paying exactly one option's
amount is exactly the price (never "overpaid" by the rounding). To judge an order with
the same integer rules as a crypto-priced one, every transfer is expressed in one
common unit: ``unit = lcm(amounts due)`` parts of the price, a transfer of ``a`` to an
option due ``d`` being ``a * unit // d`` of them (exact: ``d`` divides ``unit``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from daemon.domain.money import MAX_BASE_UNITS, AmountError, parse_amount

# ISO 4217 minor units of the currencies whose minor unit is not the cent (source: the
# ISO 4217 list of currency codes, "minor unit" column). Every other code: 2.
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0,
    "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}  # fmt: skip


def currency_decimals(code: str) -> int:
    """The number of decimals of a currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS.get(code, 2)


def parse_price(text: str, currency: str) -> int:
    """A price such as ``"49.90"`` in ``currency`` as minor units (4990); refuses zero,
    signs, exponents and more decimals than the currency has."""
    return parse_amount(text, currency_decimals(currency))


def amount_due(price_minor: int, currency: str, rate: Decimal, asset_decimals: int) -> int:
    """The smallest amount in base units worth at least the price at ``rate`` (units of
    the currency per one unit of the asset): ``ceil(price / rate)`` in base units."""
    value = Fraction(rate)
    if value <= 0:
        raise AmountError(f"a rate must be above zero, not {rate}")
    wanted = Fraction(price_minor * 10**asset_decimals, 10 ** currency_decimals(currency))
    due = math.ceil(wanted / value)
    if due > MAX_BASE_UNITS:
        raise AmountError("the price is too large for the asset")
    return max(due, 1)


def worth_minor(base_units: int, rate: Decimal, currency: str, asset_decimals: int) -> Fraction:
    """What ``base_units`` of the asset are worth at ``rate``, in minor units (exact)."""
    scale = Fraction(10 ** currency_decimals(currency), 10**asset_decimals)
    return base_units * Fraction(rate) * scale


def common_unit(dues: Iterable[int]) -> int:
    """The smallest number of parts of the price that every option's amount due divides."""
    return math.lcm(*dues)


def in_common_unit(amount: int, due: int, unit: int) -> int:
    """A transfer of ``amount`` to an option due ``due``, in parts of ``unit``."""
    return amount * (unit // due)


def rest_due(left: int, due: int, unit: int) -> int:
    """What is still due, ``left`` parts of ``unit``, in an option due ``due``: the
    fewest base units that make up at least that many parts (rounded up)."""
    return -(-left * due // unit)


def value_minor(parts: int, unit: int, price_minor: int) -> int:
    """``parts`` of ``unit`` as minor units of the price, rounded down."""
    return parts * price_minor // unit


def format_price(minor: int, currency: str) -> str:
    """Minor units as the currency writes them, every decimal kept (4990 EUR: "49.90")."""
    places = currency_decimals(currency)
    digits = str(minor).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}" if places else digits
