"""Bech32 / Bech32m (BIP-173, BIP-350) and segwit addresses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.base import KeyFormatError
from chains.bitcoin.bech32 import Encoding, bech32_decode, bech32_encode
from chains.bitcoin.segwit import (
    decode_segwit_address,
    encode_segwit_address,
    reference_encode,
    segwit_encoder,
)

VALID_BECH32 = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11" + "q" * 82 + "c8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
VALID_BECH32M = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
INVALID_STRINGS = [
    "\x201nwldj5",
    "\x7f1axkwrx",
    "\x801eym55h",  # HRP character out of range
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk",
    "1pzry9x0s0muk",
    "x1b4n0q5v",
    "li1dgmt3",
    "de1lg7wt\xff",
    "A1G7SGD8",
    "10a06t8",
    "1qzzfhee",
    "\x201xj0phk",
    "\x7f1g6xzxy",
    "\x801vctc34",
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m",
    "1qyrz8wqd2c9m",
    "y1b0jsk6g",
    "lt1igcx5c0",
    "in1muywd",
    "mm1crxm3i",
    "au1s5cgom",
    "M1VUXWEZ",
    "16plkw9",
    "1p2gdwpf",
]
VALID_ADDRESSES = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]
INVALID_ADDRESSES = [
    ("bc", "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "prefix"),
    ("bc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "bech32m"),
    ("tb", "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "bech32m"),
    ("bc", "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "bech32m"),
    ("bc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "needs a bech32 checksum"),
    ("tb", "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "bech32 checksum"),
    ("bc", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "not bech32"),
    ("bc", "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "witness version"),
    ("bc", "bc1pw5dgrnzv", "out of range"),
    (
        "bc",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
        "out of range",
    ),
    ("bc", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "20 or 32"),
    ("tb", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixes"),
    ("bc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "padding"),
    ("tb", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "padding"),
    ("bc", "bc1gmk9yu", "empty data"),
    # BIP-173 segwit vectors that stay invalid.
    ("bc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"),
    ("bc", "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "padding"),
    ("tb", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "padding"),
]


@pytest.mark.parametrize("text", VALID_BECH32)
def test_valid_bech32(text: str) -> None:
    hrp, data, encoding = bech32_decode(text)
    assert encoding is Encoding.BECH32
    assert bech32_encode(hrp, data, encoding) == text.lower()


@pytest.mark.parametrize("text", VALID_BECH32M)
def test_valid_bech32m(text: str) -> None:
    hrp, data, encoding = bech32_decode(text)
    assert encoding is Encoding.BECH32M
    assert bech32_encode(hrp, data, encoding) == text.lower()


@pytest.mark.parametrize("text", INVALID_STRINGS)
def test_invalid_strings(text: str) -> None:
    with pytest.raises(KeyFormatError):
        bech32_decode(text)


@pytest.mark.parametrize(("address", "script"), VALID_ADDRESSES)
def test_valid_segwit_addresses(address: str, script: str) -> None:
    hrp = address.lower()[:2]
    version, program = decode_segwit_address(hrp, address)
    raw = bytes.fromhex(script)
    assert raw[0] == (0 if version == 0 else 0x50 + version)
    assert raw[2:] == program
    assert encode_segwit_address(hrp, version, program) == address.lower()


@pytest.mark.parametrize(("hrp", "address", "message"), INVALID_ADDRESSES)
def test_invalid_segwit_addresses(hrp: str, address: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        decode_segwit_address(hrp, address)


@settings(max_examples=150, deadline=None, database=None)
@given(
    hrp=st.sampled_from(["bc", "tb", "bcrt", "ltc", "tltc", "rltc"]),
    version=st.integers(0, 16),
    program=st.binary(min_size=2, max_size=40),
)
def test_fast_encoder_matches_reference(hrp: str, version: int, program: bytes) -> None:
    if version == 0 and len(program) not in (20, 32):
        with pytest.raises(KeyFormatError):
            encode_segwit_address(hrp, version, program)
        return
    address = encode_segwit_address(hrp, version, program)
    assert address == reference_encode(hrp, version, program)
    assert decode_segwit_address(hrp, address) == (version, program)


def test_encoder_checks_program_length() -> None:
    with pytest.raises(KeyFormatError, match="expected 20"):
        segwit_encoder("bc", 0, 20).encode(bytes(32))
