"""HASH160, RIPEMD-160 backend choice and BIP-340 tagged hashes."""

from __future__ import annotations

import hashlib

import pytest

from chains.hd import hashes


def test_hash160_known_value() -> None:
    # BIP-49 vector: HASH160 of m/49'/1'/0'/0/0's public key.
    pubkey = bytes.fromhex("03a1af804ac108a8a51782198c2d034b28bf90c8803f5a53f76276fa69a4eae77f")
    assert hashes.hash160(pubkey).hex() == "38971f73930f6c141d977ac4fd4a727c854935b3"
    assert hashes.hash160_function()(pubkey) == hashes.hash160(pubkey)


def test_ripemd160_known_values() -> None:
    assert hashes.ripemd160(b"").hex() == "9c1185a5c5e9fc54612808977ee8f548b2258d31"
    assert hashes.ripemd160(b"abc").hex() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"


def test_pycryptodome_fallback_when_openssl_lacks_ripemd160(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_new = hashlib.new

    def no_ripemd(name: str, *args: bytes) -> object:
        if name == "ripemd160":
            raise ValueError("unsupported hash type ripemd160")
        return real_new(name, *args)

    monkeypatch.setattr(hashlib, "new", no_ripemd)
    fallback = hashes._ripemd160.__wrapped__()  # bypasses the per-process cache
    assert fallback(b"abc").hex() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"


def test_tagged_hash() -> None:
    tag = hashlib.sha256(b"TapTweak").digest()
    assert hashes.tagged_hash("TapTweak", b"x") == hashlib.sha256(tag + tag + b"x").digest()
