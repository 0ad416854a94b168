"""Fast BIP-32 CKDpub for many children of one fixed parent (e.g. the receive chain node)."""

from __future__ import annotations

import hashlib

from chains.hd.bip32 import (
    CURVE_ORDER,
    HARDENED,
    ExtendedPublicKey,
    InvalidChildIndex,
    check_public_index,
)
from chains.hd.generator_table import GeneratorTable
from chains.hd.point_adder import PointAdder

_ORDER_BYTES = CURVE_ORDER.to_bytes(32, "big")


class ChildKeyDeriver:
    """Derives child public keys ``parent/i`` at tens of thousands per second per core.

    Byte-for-byte the same result as :meth:`ExtendedPublicKey.child`, which tests check.
    """

    __slots__ = ("_adder", "_inner", "_outer", "_parent", "_prefix")

    def __init__(self, parent: ExtendedPublicKey, table: GeneratorTable | None = None) -> None:
        self._parent = parent
        self._prefix = parent.public_key
        # HMAC-SHA512 keyed by the chain code, with the padded-key blocks hashed once.
        block = parent.chain_code.ljust(128, b"\0")
        self._inner = hashlib.sha512(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha512(bytes(byte ^ 0x5C for byte in block))
        self._adder = PointAdder(parent.public_key, table)

    @property
    def parent(self) -> ExtendedPublicKey:
        return self._parent

    def child_pubkey(self, index: int, compressed: bool = True) -> bytes:
        """SEC public key of child ``index``: 33 bytes compressed or 65 uncompressed.

        Raises :class:`InvalidChildIndex` for the (astronomically rare) invalid indexes and
        :class:`~chains.base.KeyFormatError` for hardened or out-of-range indexes.
        """
        if type(index) is not int or not 0 <= index < HARDENED:
            check_public_index(index)
        inner = self._inner.copy()
        inner.update(self._prefix + index.to_bytes(4, "big"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return self.tweaked_pubkey(index, outer.digest()[:32], compressed)

    def tweaked_pubkey(self, index: int, tweak: bytes, compressed: bool = True) -> bytes:
        """``parent + tweak*G`` with the BIP-32 validity rules (exposed for tests)."""
        if tweak >= _ORDER_BYTES:
            raise InvalidChildIndex(index)
        point = self._adder.add(tweak, compressed)
        if point is None:
            raise InvalidChildIndex(index)
        return point
