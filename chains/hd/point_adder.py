"""Fast ``P + k*G`` on secp256k1: one libsecp256k1 combine over a precomputed table.

Plain ``coincurve.PublicKey.add`` does a full variable-base scalar multiplication; here
``k*G`` comes from :mod:`chains.hd.generator_table`, so the cost is one multi-point
addition, one field inversion and a little Python to lay out the pointers.
"""

from __future__ import annotations

import threading
from typing import Any

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from chains.base import KeyFormatError
from chains.hd.generator_table import GeneratorTable, generator_table


class PointAdder:
    """Adds multiples of G to one point ``P`` (settable). Safe to share between threads."""

    __slots__ = (
        "_flags",
        "_length",
        "_lock",
        "_out",
        "_point",
        "_pointers",
        "_serialized",
        "_table",
        "_views",
        "_words",
    )

    def __init__(self, point: bytes, table: GeneratorTable | None = None) -> None:
        self._table = table if table is not None else generator_table()
        self._lock = threading.Lock()
        windows = self._table.windows
        self._point: Any = ffi.new("secp256k1_pubkey *")
        self._pointers: Any = ffi.new("secp256k1_pubkey *[]", windows + 1)
        self._pointers[windows] = self._point
        self._words = memoryview(ffi.buffer(self._pointers)).cast("B")
        self._out: Any = ffi.new("secp256k1_pubkey *")
        self._serialized: Any = ffi.new("unsigned char[65]")
        self._length: Any = ffi.new("size_t *")
        # Views of the serialization buffer, by ``compressed``: slicing one copies out bytes.
        self._views = (ffi.buffer(self._serialized, 65), ffi.buffer(self._serialized, 33))
        self._flags = (lib.SECP256K1_EC_UNCOMPRESSED, lib.SECP256K1_EC_COMPRESSED)
        self._parse_into(point)

    @property
    def table(self) -> GeneratorTable:
        return self._table

    def _parse_into(self, point: bytes) -> None:
        if not lib.secp256k1_ec_pubkey_parse(GLOBAL_CONTEXT.ctx, self._point, point, len(point)):
            raise KeyFormatError("not a valid secp256k1 public key")

    def add(self, scalar: bytes, compressed: bool = True) -> bytes | None:
        """``P + scalar*G`` serialized (33 or 65 bytes), or None for the point at infinity.

        ``scalar`` is 32 big-endian bytes; callers enforce any range rule (BIP-32: < n).
        """
        with self._lock:
            return self._add_locked(scalar, compressed)

    def add_to(self, point: bytes, scalar: bytes, compressed: bool = True) -> bytes | None:
        """Replace ``P`` with ``point`` and return ``point + scalar*G`` (see :meth:`add`)."""
        with self._lock:
            self._parse_into(point)
            return self._add_locked(scalar, compressed)

    def _add_locked(self, scalar: bytes, compressed: bool) -> bytes | None:
        table = self._table
        if table.pointers_fast:
            value = int.from_bytes(scalar, "big")
            for mask, shift in table.spread_steps:
                low = value & mask
                value = low | ((value ^ low) << shift)
            self._words[: table.windows * 8] = ((value << 6) + table.pointer_base).to_bytes(
                table.windows * 8, "little"
            )
        else:
            entries = table.entries
            for window, entry in enumerate(table.entry_indexes(int.from_bytes(scalar, "big"))):
                self._pointers[window] = entries + entry
        ctx = GLOBAL_CONTEXT.ctx
        if not lib.secp256k1_ec_pubkey_combine(
            ctx, self._out, self._pointers, self._table.windows + 1
        ):
            return None
        size = 33 if compressed else 65
        self._length[0] = size
        lib.secp256k1_ec_pubkey_serialize(
            ctx, self._serialized, self._length, self._out, self._flags[compressed]
        )
        serialized: bytes = self._views[compressed][:]
        return serialized
