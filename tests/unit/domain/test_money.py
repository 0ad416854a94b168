from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.domain.money import (
    MAX_BASE_UNITS,
    AmountError,
    format_amount,
    minimum_accepted,
    parse_amount,
    parse_base_units,
    parse_percent_ppm,
)


@pytest.mark.parametrize(
    ("text", "decimals", "base"),
    [
        ("1", 8, 100_000_000),
        ("0.015", 8, 1_500_000),
        ("0.00000001", 8, 1),
        ("49.99", 6, 49_990_000),
        ("1.000", 0, 1),
        ("0.1", 18, 10**17),
        ("12", 0, 12),
    ],
)
def test_parse_amount(text: str, decimals: int, base: int) -> None:
    assert parse_amount(text, decimals) == base


@pytest.mark.parametrize(
    ("text", "decimals", "problem"),
    [
        ("0.000000001", 8, "more than 8 decimal places"),
        ("-1", 8, "plain decimal"),
        ("1e5", 8, "plain decimal"),
        (" 1", 8, "plain decimal"),
        ("", 8, "plain decimal"),
        ("0", 8, "greater than zero"),
        ("0.00", 8, "greater than zero"),
        ("1.", 8, "plain decimal"),
        (".5", 8, "plain decimal"),
        ("NaN", 8, "plain decimal"),
        ("１", 8, "plain decimal"),
        ("9" * 81, 0, "too large"),
        (str(MAX_BASE_UNITS + 1), 0, "too large"),
    ],
)
def test_parse_amount_refuses(text: str, decimals: int, problem: str) -> None:
    with pytest.raises(AmountError, match=problem):
        parse_amount(text, decimals)


@given(st.integers(min_value=1, max_value=MAX_BASE_UNITS), st.integers(min_value=0, max_value=36))
def test_format_then_parse_round_trips(base: int, decimals: int) -> None:
    assert parse_amount(format_amount(base, decimals), decimals) == base


def test_format_amount() -> None:
    assert format_amount(1_500_000, 8) == "0.015"
    assert format_amount(100_000_000, 8) == "1"
    assert format_amount(0, 8) == "0"
    assert format_amount(5, 0) == "5"
    assert format_amount(-150, 2) == "-1.5"


def test_base_units_and_percent() -> None:
    assert parse_base_units("1500") == 1500
    with pytest.raises(AmountError):
        parse_base_units("1.5")
    with pytest.raises(AmountError):
        parse_base_units("0")
    assert parse_percent_ppm("0") == 0
    assert parse_percent_ppm("0.5") == 5000
    assert parse_percent_ppm("100") == 1_000_000
    with pytest.raises(AmountError):
        parse_percent_ppm("100.01")
    with pytest.raises(AmountError):
        parse_percent_ppm("0.00001")


@given(st.integers(min_value=1, max_value=10**30), st.integers(min_value=0, max_value=1_000_000))
def test_minimum_accepted_never_exceeds_due(due: int, ppm: int) -> None:
    need = minimum_accepted(due, ppm)
    assert 0 <= need <= due
    assert (due - need) * 1_000_000 <= due * ppm
