"""Base58 and Base58Check (Bitcoin alphabet) encoding and decoding."""

from __future__ import annotations

import hashlib

from chains.base import KeyFormatError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    """Encode ``data``; every leading zero byte becomes a leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    alphabet = ALPHABET
    while number:
        number, rem = divmod(number, 58)
        digits.append(alphabet[rem])
    digits.append("1" * zeros)
    return "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode Base58; a character outside the alphabet raises :class:`KeyFormatError`."""
    number = 0
    find = ALPHABET.find
    for position, char in enumerate(text):
        value = find(char)
        if value < 0:
            raise KeyFormatError(
                f"character {char!r} at position {position} is not valid Base58 "
                "(0, O, I and l are never used)"
            )
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def checksum(payload: bytes) -> bytes:
    """The 4-byte Base58Check checksum: the start of SHA-256(SHA-256(payload))."""
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + checksum(payload))


def b58check_decode(text: str, *, what: str = "Base58Check string") -> bytes:
    """Decode and verify a Base58Check string, returning the payload without its checksum.

    ``what`` names the thing being decoded in error messages (e.g. "extended key").
    """
    raw = b58decode(text)
    if len(raw) < 4:
        raise KeyFormatError(f"{what} is too short to carry a Base58Check checksum")
    payload, check = raw[:-4], raw[-4:]
    if checksum(payload) != check:
        raise KeyFormatError(f"{what} has a bad checksum (a typo or a truncated copy?)")
    return payload
