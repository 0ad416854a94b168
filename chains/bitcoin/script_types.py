"""The output script types paywatch derives, and their scriptPubKey builders."""

from __future__ import annotations

from enum import StrEnum

from chains.base import KeyFormatError
from chains.hd.hashes import hash160


class ScriptType(StrEnum):
    """Single-key output types; the value is the name used in configuration."""

    P2PKH = "p2pkh"
    P2SH_P2WPKH = "p2sh-p2wpkh"
    P2WPKH = "p2wpkh"
    P2TR = "p2tr"

    @classmethod
    def from_name(cls, name: str) -> ScriptType:
        try:
            return cls(name.strip().lower())
        except ValueError:
            choices = ", ".join(member.value for member in cls)
            raise KeyFormatError(f"unknown address type {name!r}; use one of: {choices}") from None


def p2pkh_script(key_hash: bytes) -> bytes:
    """OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG."""
    return b"\x76\xa9\x14" + key_hash + b"\x88\xac"


def p2sh_script(script_hash: bytes) -> bytes:
    """OP_HASH160 <20> OP_EQUAL."""
    return b"\xa9\x14" + script_hash + b"\x87"


def p2wpkh_script(key_hash: bytes) -> bytes:
    """OP_0 <20-byte key hash>."""
    return b"\x00\x14" + key_hash


def p2sh_p2wpkh_redeem_script(key_hash: bytes) -> bytes:
    """The witness program P2SH-P2WPKH wraps (BIP-49/141)."""
    return b"\x00\x14" + key_hash


def p2sh_p2wpkh_script(key_hash: bytes) -> bytes:
    return p2sh_script(hash160(p2sh_p2wpkh_redeem_script(key_hash)))


def p2tr_script(output_key: bytes) -> bytes:
    """OP_1 <32-byte x-only output key>."""
    return b"\x51\x20" + output_key


def witness_script(version: int, program: bytes) -> bytes:
    """scriptPubKey of a native segwit output of any version (0..16)."""
    if not 0 <= version <= 16:
        raise KeyFormatError(f"witness version {version} is out of range 0..16")
    if not 2 <= len(program) <= 40:
        raise KeyFormatError(f"witness program of {len(program)} bytes is out of range 2..40")
    opcode = 0 if version == 0 else 0x50 + version
    return bytes((opcode, len(program))) + program
