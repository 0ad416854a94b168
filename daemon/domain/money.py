"""Amounts: integers in base units inside, decimal strings at the edges. Never floats."""

from __future__ import annotations

import re

from daemon.errors import DomainError

MAX_DECIMALS = 36
# 2**256 - 1 is the largest amount any supported chain can carry (an ERC-20 uint256).
MAX_BASE_UNITS = 2**256 - 1
PPM = 1_000_000

_DECIMAL = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


class AmountError(DomainError):
    """An amount that cannot be used; the message says why."""


def parse_amount(text: str, decimals: int) -> int:
    """Turn a decimal string in asset units (``"0.015"``) into base units.

    Refuses signs, exponents, blanks, more fractional digits than the asset has,
    zero and anything above the chain's largest integer.
    """
    if not 0 <= decimals <= MAX_DECIMALS:
        raise AmountError(f"unsupported number of decimals: {decimals}")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise AmountError(
            f'{text[:40]!r} is not a plain decimal number such as "0.015" '
            "(no sign, exponent or spaces)"
        )
    frac = (match.group("frac") or "").rstrip("0")
    if len(frac) > decimals:
        raise AmountError(f"{text[:40]!r} has more than {decimals} decimal places")
    int_part = match.group("int")
    if len(int_part) > 80:
        raise AmountError("amount is too large")
    base = int(int_part) * 10**decimals + int(frac.ljust(decimals, "0") or "0")
    return check_base_units(base)


def parse_base_units(text: str) -> int:
    """Parse an integer amount in base units given as a string of digits."""
    if not text.isascii() or not text.isdigit() or len(text) > 80:
        raise AmountError(f"{text[:40]!r} is not a whole number of base units")
    return check_base_units(int(text))


def check_base_units(base: int) -> int:
    if base <= 0:
        raise AmountError("amount must be greater than zero")
    if base > MAX_BASE_UNITS:
        raise AmountError("amount is too large")
    return base


def format_amount(base: int, decimals: int) -> str:
    """Base units to a decimal string with trailing zeros removed (``1500000, 8 -> "0.015"``)."""
    sign = "-" if base < 0 else ""
    digits = str(abs(base)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{sign}{whole}.{frac}" if frac else sign + whole


def parse_percent_ppm(text: str) -> int:
    """A percentage such as ``"0.5"`` as parts per million of the whole (5000)."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        raise AmountError(f"{text!r} is not a percentage such as 0 or 0.5")
    frac = match.group("frac") or ""
    if len(frac.rstrip("0")) > 4:
        raise AmountError(f"{text!r} has more than 4 decimal places")
    ppm = int(match.group("int")) * 10_000 + int(frac[:4].ljust(4, "0"))
    if ppm > PPM:
        raise AmountError(f"{text!r} is above 100")
    return ppm


def minimum_accepted(amount_due: int, tolerance_ppm: int) -> int:
    """The smallest total that counts as full payment under the tolerance."""
    return amount_due - (amount_due * tolerance_ppm) // PPM
