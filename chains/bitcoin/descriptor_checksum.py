"""The BIP-380 output descriptor checksum."""

from __future__ import annotations

from chains.base import KeyFormatError
from chains.bitcoin.bech32 import CHARSET as CHECKSUM_CHARSET

INPUT_CHARSET = (
    "0123456789()[],'/*abcdefgh@:$%{}"
    "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
    'ijklmnopqrstuvwxyzABCDEFGH`#"\\ '
)
_GENERATORS = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _polymod(symbols: list[int]) -> int:
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                chk ^= _GENERATORS[bit]
    return chk


def _expand(text: str) -> list[int]:
    """Characters to symbols: position in group, plus one group-number symbol per 3 chars."""
    symbols: list[int] = []
    groups: list[int] = []
    for position, char in enumerate(text):
        value = INPUT_CHARSET.find(char)
        if value < 0:
            raise KeyFormatError(
                f"character {char!r} at position {position} is not allowed in a descriptor"
            )
        symbols.append(value & 31)
        groups.append(value >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    return symbols


def descriptor_checksum(body: str) -> str:
    """The 8-character checksum of a descriptor without its ``#`` part."""
    value = _polymod([*_expand(body), 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1
    return "".join(CHECKSUM_CHARSET[(value >> (5 * (7 - i))) & 31] for i in range(8))


def add_checksum(body: str) -> str:
    return f"{body}#{descriptor_checksum(body)}"


def strip_checksum(text: str) -> str:
    """The descriptor body; a ``#checksum``, when present, must be valid and match."""
    body, separator, checksum = text.partition("#")
    if not separator:
        _expand(body)  # character check only
        return body
    if len(checksum) != 8:
        raise KeyFormatError(
            f"descriptor checksum must be 8 characters after '#', found {len(checksum)}"
        )
    if any(char not in CHECKSUM_CHARSET for char in checksum):
        raise KeyFormatError("descriptor checksum contains a character outside its alphabet")
    symbols = _expand(body) + [CHECKSUM_CHARSET.find(char) for char in checksum]
    if _polymod(symbols) != 1:
        raise KeyFormatError(
            "descriptor checksum does not match (a typo somewhere in the descriptor?)"
        )
    return body
