"""Bech32 (BIP-173) and Bech32m (BIP-350) strings: the general encoder and strict decoder.

Segwit addresses, including the fast encoder used when deriving, are in
:mod:`chains.bitcoin.segwit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum

from chains.base import KeyFormatError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
MAX_LENGTH = 90


class Encoding(Enum):
    """Which checksum constant a string uses."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


def polymod(values: Iterable[int], start: int = 1) -> int:
    """The BCH checksum state over 5-bit ``values``."""
    generators = _GENERATORS
    chk = start
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                chk ^= generators[bit]
    return chk


def hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def create_checksum(hrp: str, data: Sequence[int], encoding: Encoding) -> list[int]:
    value = polymod([*hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ encoding.value
    return [(value >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32_encode(hrp: str, data: Sequence[int], encoding: Encoding) -> str:
    """Encode 5-bit ``data`` under ``hrp`` (lower case out)."""
    hrp = hrp.lower()
    combined = [*data, *create_checksum(hrp, data, encoding)]
    return hrp + "1" + "".join(CHARSET[d] for d in combined)


def bech32_decode(text: str) -> tuple[str, list[int], Encoding]:
    """Split and verify a Bech32/Bech32m string: (hrp, 5-bit data without checksum, encoding).

    Raises :class:`KeyFormatError` naming the first rule the string breaks.
    """
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise KeyFormatError("bech32 string has a character outside printable US-ASCII")
    if text.lower() != text and text.upper() != text:
        raise KeyFormatError("bech32 string mixes upper and lower case")
    if len(text) > MAX_LENGTH:
        raise KeyFormatError(f"bech32 string is longer than {MAX_LENGTH} characters")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 0:
        raise KeyFormatError("bech32 string has no '1' separator")
    if separator == 0:
        raise KeyFormatError("bech32 string has an empty human-readable part")
    if separator + 7 > len(text):
        raise KeyFormatError("bech32 checksum is too short")
    hrp = text[:separator]
    data: list[int] = []
    for position, char in enumerate(text[separator + 1 :], start=separator + 1):
        value = CHARSET.find(char)
        if value < 0:
            raise KeyFormatError(f"character {char!r} at position {position} is not bech32")
        data.append(value)
    check = polymod([*hrp_expand(hrp), *data])
    for encoding in Encoding:
        if check == encoding.value:
            return hrp, data[:-6], encoding
    raise KeyFormatError("bech32 checksum does not match (a typo in the address?)")


def convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup a sequence of ``from_bits``-bit values into ``to_bits``-bit values.

    Without ``pad`` (decoding), leftover bits must be fewer than ``from_bits`` and zero.
    """
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise KeyFormatError(f"value {value} does not fit in {from_bits} bits")
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits:
        raise KeyFormatError("bech32 data has more than 4 bits of padding")
    elif (acc << (to_bits - bits)) & max_value:
        raise KeyFormatError("bech32 data has non-zero padding bits")
    return out
