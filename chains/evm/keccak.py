"""Keccak-256 (the pre-standard SHA-3 padding Ethereum uses), via pycryptodome.

``Crypto.Hash.keccak`` costs several microseconds per call in Python wrapper overhead;
:func:`keccak256_function` drives the same C core directly through one reusable state,
checked against the public API on first use, with a fallback to the public API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from Crypto.Hash import keccak as _keccak

_EMPTY_DIGEST = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


def keccak256(data: bytes) -> bytes:
    """Keccak-256 of ``data`` (public pycryptodome API; for non-hot paths)."""
    digest: bytes = _keccak.new(data=data, digest_bits=256).digest()
    return digest


def keccak256_function() -> Callable[[bytes], bytes]:
    """A fast, thread-safe Keccak-256 callable (one reusable C state per callable)."""
    try:
        fast = _raw_keccak256()
        if fast(b"") == _EMPTY_DIGEST and fast(b"abc") == keccak256(b"abc"):
            return fast
    except (AttributeError, ImportError, KeyError, TypeError, ValueError):
        pass
    return keccak256


def _raw_keccak256() -> Callable[[bytes], bytes]:
    from Crypto.Util import _raw_api

    api: Any = _raw_api  # private pycryptodome helpers, checked by the self-test above
    raw: Any = vars(_keccak)["_raw_keccak_lib"]
    get_raw_buffer = api.get_raw_buffer
    pointer = api.VoidPointer()
    if raw.keccak_init(pointer.address_of(), 64, 24):  # capacity 512 bits, 24 rounds
        raise ValueError("keccak_init failed")
    owner = api.SmartPointer(pointer.get(), raw.keccak_destroy)
    state = owner.get()
    out = api.create_string_buffer(32)
    reset, absorb, squeeze = raw.keccak_reset, raw.keccak_absorb, raw.keccak_digest
    lock = threading.Lock()

    def keccak256_raw(data: bytes) -> bytes:
        with lock:
            if reset(state) or absorb(state, data, len(data)) or squeeze(state, out, 32, 0x01):
                raise ValueError("keccak failed")
            digest: bytes = get_raw_buffer(out)
        _ = owner  # keep the C state alive as long as this function lives
        return digest

    return keccak256_raw
