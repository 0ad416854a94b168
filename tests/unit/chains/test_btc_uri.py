"""BIP-21 payment URIs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.base import KeyFormatError
from chains.bitcoin.networks import get_network
from chains.bitcoin.uri import bip21_uri, format_amount, payment_uri

MAIN = get_network("bitcoin", "mainnet")
SEGWIT = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"


@pytest.mark.parametrize(
    ("sats", "text"),
    [
        (0, "0"),
        (1, "0.00000001"),
        (10, "0.0000001"),
        (50_000, "0.0005"),
        (100_000_000, "1"),
        (150_000_000, "1.5"),
        (2_100_000_000_000_000, "21000000"),
        (123_456_789, "1.23456789"),
    ],
)
def test_format_amount(sats: int, text: str) -> None:
    assert format_amount(sats) == text


@settings(database=None)
@given(st.integers(min_value=0, max_value=2_100_000_000_000_000))
def test_format_amount_is_exact(sats: int) -> None:
    text = format_amount(sats)
    whole, _, fraction = text.partition(".")
    assert int(whole) * 100_000_000 + int(fraction.ljust(8, "0") or "0") == sats
    assert "e" not in text
    assert "." not in text or not text.endswith("0")


@pytest.mark.parametrize("bad", [1.5, -1, True, "100"])
def test_format_amount_refuses_non_integers(bad: object) -> None:
    with pytest.raises(KeyFormatError):
        format_amount(bad)  # type: ignore[arg-type]


def test_bitcoin_uri() -> None:
    assert payment_uri(MAIN, SEGWIT, 150_000_000) == f"bitcoin:{SEGWIT}?amount=1.5"
    assert payment_uri(MAIN, SEGWIT) == f"bitcoin:{SEGWIT}"
    assert payment_uri(MAIN, SEGWIT, 1, label="Order #12", message="Thanks & bye") == (
        f"bitcoin:{SEGWIT}?amount=0.00000001&label=Order%20%2312&message=Thanks%20%26%20bye"
    )


def test_litecoin_uri_and_network_check() -> None:
    ltc = get_network("litecoin", "regtest")
    address = "rltc1qw508d6qejxtdg4y5r3zarvary0c5xw7k693xs3"
    assert payment_uri(ltc, address, 5) == f"litecoin:{address}?amount=0.00000005"
    with pytest.raises(KeyFormatError, match="checksum"):
        payment_uri(ltc, address[:-1] + "4", 5)
    with pytest.raises(KeyFormatError, match="bitcoin mainnet address"):
        payment_uri(ltc, SEGWIT, 5)


def test_bip21_uri_with_a_scheme() -> None:
    assert bip21_uri("litecoin", "ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh", 250_000_000) == (
        "litecoin:ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh?amount=2.5"
    )
    with pytest.raises(KeyFormatError, match="scheme"):
        bip21_uri("bit coin", SEGWIT, 1)
