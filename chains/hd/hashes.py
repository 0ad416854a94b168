"""Hash functions used by HD keys and addresses: HASH160 and BIP-340 tagged hashes."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable


@functools.cache
def _ripemd160() -> Callable[[bytes], bytes]:
    """RIPEMD-160 from hashlib if OpenSSL offers it, else pycryptodome (chosen on first use)."""
    try:
        hashlib.new("ripemd160", b"")
    except ValueError:
        from Crypto.Hash import RIPEMD160

        def pycryptodome_ripemd160(data: bytes) -> bytes:
            digest: bytes = RIPEMD160.new(data).digest()
            return digest

        return pycryptodome_ripemd160

    empty = hashlib.new("ripemd160")  # copying a fresh state beats hashlib.new by ~1/3

    def hashlib_ripemd160(data: bytes) -> bytes:
        state = empty.copy()
        state.update(data)
        return state.digest()

    return hashlib_ripemd160


def ripemd160(data: bytes) -> bytes:
    return _ripemd160()(data)


def hash160_function() -> Callable[[bytes], bytes]:
    """A HASH160 callable with the backend already resolved, for hot loops."""
    rmd = _ripemd160()
    sha256 = hashlib.sha256

    def hash160_(data: bytes) -> bytes:
        return rmd(sha256(data).digest())

    return hash160_


def hash160(data: bytes) -> bytes:
    """RIPEMD-160(SHA-256(data))."""
    return _ripemd160()(hashlib.sha256(data).digest())


@functools.cache
def _tag_prefix(tag: str) -> bytes:
    tag_hash = hashlib.sha256(tag.encode()).digest()
    return tag_hash + tag_hash


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP-340 tagged hash: SHA-256(SHA-256(tag) || SHA-256(tag) || data)."""
    return hashlib.sha256(_tag_prefix(tag) + data).digest()
