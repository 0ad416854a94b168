"""EVM addresses: EIP-55 mixed-case checksums and parsing of merchant input."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from chains.base import KeyFormatError
from chains.evm.keccak import keccak256_function


@functools.cache
def _hasher() -> Callable[[bytes], bytes]:
    return keccak256_function()


@functools.cache
def _masks() -> tuple[bytes, bytes]:
    """translate() tables: hash hex digit >= 8 -> 0x20; address char a-f -> 0x20; else 0."""
    nibble_high = bytes.maketrans(b"0123456789abcdef", b"\0" * 8 + b"\x20" * 8)
    is_letter = bytes.maketrans(b"0123456789abcdef", b"\0" * 10 + b"\x20" * 6)
    return nibble_high, is_letter


def checksum_encoder() -> Callable[[bytes], str]:
    """A fast ``20 bytes -> '0x' + EIP-55 text`` callable for hot loops."""
    keccak = _hasher()
    nibble_high, is_letter = _masks()
    from_bytes = int.from_bytes

    def encode(address: bytes) -> str:
        if len(address) != 20:
            raise KeyFormatError(f"an EVM address is 20 bytes, not {len(address)}")
        lower = address.hex().encode("ascii")
        high = keccak(lower).hex()[:40].encode("ascii").translate(nibble_high)
        # Upper-casing a-f is subtracting 0x20 where the letter mask and hash mask meet.
        upper_mask = from_bytes(high, "big") & from_bytes(lower.translate(is_letter), "big")
        mixed = (from_bytes(lower, "big") - upper_mask).to_bytes(40, "big")
        return "0x" + mixed.decode("ascii")

    return encode


def to_checksum_address(address: bytes) -> str:
    return checksum_encoder()(address)


def is_checksum_valid(text: str) -> bool:
    """True when ``text`` is exactly the EIP-55 form of the address it spells."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        return False
    return to_checksum_address(bytes.fromhex(text[2:])) == text


def parse_address(text: str) -> bytes:
    """The 20 address bytes of ``0x…`` text.

    All-lower-case and all-upper-case hex carry no checksum and are accepted; mixed case
    must be a correct EIP-55 checksum.
    """
    stripped = text.strip()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", stripped):
        raise KeyFormatError("an EVM address is 0x followed by 40 hexadecimal digits")
    digits = stripped[2:]
    address = bytes.fromhex(digits)
    mixed_case = digits not in (digits.lower(), digits.upper())
    if mixed_case and to_checksum_address(address) != stripped:
        raise KeyFormatError(
            "EVM address has a bad EIP-55 checksum (mixed case does not match; a typo?)"
        )
    return address
