"""Segwit addresses (BIP-173 bech32 for v0, BIP-350 bech32m for v1+): fast encode, strict decode.

The encoder avoids per-character Python work: the checksum, being GF(2)-affine in the
program bits, is a constant (per HRP, version and length) XORed with one table lookup per
program byte; the 5-bit symbols of program and checksum are spread into bytes with a few
big-integer mask/shift rounds and mapped to characters with ``bytes.translate``. Tables are
built on first use per program length.
"""

from __future__ import annotations

import functools

from chains.base import KeyFormatError
from chains.bitcoin.bech32 import CHARSET, Encoding, bech32_decode, convert_bits, polymod


@functools.cache
def _symbol_translation() -> bytes:
    """bytes.translate table mapping symbol values 0..31 to bech32 characters."""
    return bytes.maketrans(bytes(range(32)), CHARSET.encode())


def _shift(state: int, steps: int) -> int:
    """Feed ``steps`` zero symbols into a checksum state that starts from 0."""
    return polymod([0] * steps, start=state) if steps else state


@functools.cache
def _byte_tables(program_length: int) -> tuple[list[int], ...]:
    """For each program byte position, the checksum contribution of every byte value."""
    symbols = -(-program_length * 8 // 5)
    total_bits = program_length * 8
    bit_contribution = []
    for bit in range(total_bits):
        symbol, offset = divmod(bit, 5)
        after = symbols - 1 - symbol + 6  # symbols fed after this one, checksum slots included
        bit_contribution.append(_shift(1 << (4 - offset), after))
    tables = []
    for position in range(program_length):
        bits = bit_contribution[position * 8 : position * 8 + 8]  # bits[0] is the MSB
        table = [0] * 256
        for value in range(1, 256):
            low = value & -value
            table[value] = table[value ^ low] ^ bits[8 - low.bit_length()]
        tables.append(table)
    return tuple(tables)


def _spread_steps(groups: int, width: int, slot: int) -> tuple[tuple[int, int], ...]:
    """Mask/shift rounds moving ``width``-bit group k (from the right) to bit ``slot*k``."""
    size = 1
    while size < groups:
        size *= 2
    steps: list[tuple[int, int]] = []
    while size > 1:
        half = size // 2
        mask = 0
        for block in range(groups // size + 1):
            mask |= ((1 << (width * half)) - 1) << (block * size * slot)
        steps.append((mask, half * (slot - width)))
        size = half
    return tuple(steps)


class SegwitEncoder:
    """Encodes witness programs of one version and length under one HRP, quickly."""

    __slots__ = (
        "_constant",
        "_pad",
        "_prefix",
        "_skip",
        "_slots",
        "_steps",
        "_tables",
        "_translate",
        "program_length",
    )

    def __init__(self, hrp: str, version: int, program_length: int) -> None:
        _check_program(version, program_length)
        hrp = hrp.lower()
        encoding = Encoding.BECH32 if version == 0 else Encoding.BECH32M
        symbols = -(-program_length * 8 // 5)
        expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
        self._constant = polymod([*expanded, version] + [0] * (symbols + 6)) ^ encoding.value
        self._tables = _byte_tables(program_length)
        self._translate = _symbol_translation()
        self._prefix = hrp + "1" + CHARSET[version]
        # Data symbols and checksum symbols are spread into one byte each in one go.
        groups = symbols + 6
        self._steps = _spread_steps(groups, 5, 8)
        self._slots = 1 << (groups - 1).bit_length()
        self._skip = self._slots - groups
        self._pad = symbols * 5 - program_length * 8 + 30
        self.program_length = program_length

    def encode(self, program: bytes) -> str:
        if len(program) != self.program_length:
            raise KeyFormatError(
                f"witness program is {len(program)} bytes, expected {self.program_length}"
            )
        check = self._constant
        for table, byte in zip(self._tables, program, strict=True):
            check ^= table[byte]
        value = (int.from_bytes(program, "big") << self._pad) | check
        for mask, shift in self._steps:
            low = value & mask
            value = low | ((value ^ low) << shift)
        symbols = value.to_bytes(self._slots, "big")[self._skip :]
        return self._prefix + symbols.translate(self._translate).decode("ascii")


@functools.cache
def segwit_encoder(hrp: str, version: int, program_length: int) -> SegwitEncoder:
    """A cached encoder for (hrp, version, length)."""
    return SegwitEncoder(hrp, version, program_length)


def encode_segwit_address(hrp: str, version: int, program: bytes) -> str:
    return segwit_encoder(hrp.lower(), version, len(program)).encode(program)


def decode_segwit_address(hrp: str, address: str) -> tuple[int, bytes]:
    """(witness version, program) of ``address``, which must carry ``hrp``.

    Enforces BIP-173/350: checksum variant by version, program length 2..40 (20 or 32
    for v0), padding rules, case rules.
    """
    found_hrp, data, encoding = bech32_decode(address)
    if found_hrp != hrp:
        raise KeyFormatError(f"address is for the '{found_hrp}' network prefix, expected '{hrp}'")
    if not data:
        raise KeyFormatError("segwit address has an empty data part")
    version = data[0]
    if version > 16:
        raise KeyFormatError(f"witness version {version} is invalid (maximum 16)")
    program = bytes(convert_bits(data[1:], 5, 8, pad=False))
    _check_program(version, len(program))
    expected = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    if encoding is not expected:
        raise KeyFormatError(
            f"witness version {version} needs a {expected.name.lower()} checksum, "
            f"the address uses {encoding.name.lower()}"
        )
    return version, program


def _check_program(version: int, length: int) -> None:
    if not 0 <= version <= 16:
        raise KeyFormatError(f"witness version {version} is out of range 0..16")
    if not 2 <= length <= 40:
        raise KeyFormatError(f"witness program of {length} bytes is out of range 2..40")
    if version == 0 and length not in (20, 32):
        raise KeyFormatError(f"a version 0 witness program must be 20 or 32 bytes, not {length}")


def reference_encode(hrp: str, version: int, program: bytes) -> str:
    """Straightforward encoder (for tests against the fast one)."""
    from chains.bitcoin.bech32 import bech32_encode

    encoding = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    return bech32_encode(hrp, [version, *convert_bits(program, 8, 5, pad=True)], encoding)
