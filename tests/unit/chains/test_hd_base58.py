"""Base58 / Base58Check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.base import KeyFormatError
from chains.hd.base58 import b58check_decode, b58check_encode, b58decode, b58encode


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", ""),
        (b"\0", "1"),
        (b"\0\0\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
        (bytes.fromhex("61"), "2g"),
        (bytes.fromhex("626262"), "a3gV"),
    ],
)
def test_known_encodings(raw: bytes, text: str) -> None:
    assert b58encode(raw) == text
    assert b58decode(text) == raw


def test_base58check_address() -> None:
    # The hash160 of the BIP-44 vector's first key, version 0: a P2PKH mainnet address.
    payload = bytes.fromhex("00d986ed01b7a22225a70edbf2ba7cfb63a15cb3aa")
    assert b58check_encode(payload) == "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"
    assert b58check_decode("1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA") == payload


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=80))
def test_round_trip(raw: bytes) -> None:
    assert b58decode(b58encode(raw)) == raw
    assert b58check_decode(b58check_encode(raw)) == raw


def test_bad_character_is_named() -> None:
    with pytest.raises(KeyFormatError, match="'0' at position 3"):
        b58decode("abc0def")


def test_bad_checksum() -> None:
    text = b58check_encode(b"\x05payload")
    broken = text[:-1] + ("2" if text[-1] != "2" else "3")
    with pytest.raises(KeyFormatError, match="bad checksum"):
        b58check_decode(broken, what="address")


def test_too_short() -> None:
    with pytest.raises(KeyFormatError, match="too short"):
        b58check_decode("111")
