"""BIP-86 key-path-only Taproot outputs: ``Q = lift_x(P) + hash_TapTweak(P)*G``."""

from __future__ import annotations

from chains.hd.bip32 import CURVE_ORDER, InvalidChildIndex
from chains.hd.hashes import tagged_hash
from chains.hd.point_adder import PointAdder

_ORDER_BYTES = CURVE_ORDER.to_bytes(32, "big")
# SEC encoding of the generator: only a placeholder point until the first tweak.
_GENERATOR = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")


class TaprootTweaker:
    """Computes BIP-86 output keys (x-only, 32 bytes) from internal keys, using the fast table."""

    __slots__ = ("_adder",)

    def __init__(self, adder: PointAdder | None = None) -> None:
        self._adder = adder if adder is not None else PointAdder(_GENERATOR)

    def output_key(self, internal_key: bytes, index: int = -1) -> bytes:
        """x-only output key for a 33-byte compressed or 32-byte x-only internal key.

        ``index`` only labels the :class:`InvalidChildIndex` raised in the (negligible) case
        that the tweak is out of range or the sum is the point at infinity.
        """
        x_only = internal_key[1:] if len(internal_key) == 33 else internal_key
        tweak = tagged_hash("TapTweak", x_only)
        if tweak >= _ORDER_BYTES:
            raise InvalidChildIndex(index)
        point = self._adder.add_to(b"\x02" + x_only, tweak)
        if point is None:
            raise InvalidChildIndex(index)
        return point[1:]


def output_key_reference(internal_key: bytes) -> bytes:
    """Same as :meth:`TaprootTweaker.output_key` via libsecp256k1's own x-only tweak.

    Slower (a full scalar multiplication); kept as an independent cross-check.
    """
    from coincurve import PublicKeyXOnly

    x_only = internal_key[1:] if len(internal_key) == 33 else internal_key
    key = PublicKeyXOnly(x_only)
    key.tweak_add(tagged_hash("TapTweak", x_only))
    output: bytes = key.format()
    return output


def p2tr_output_script(internal_key: bytes) -> bytes:
    """``OP_1 <output key>`` for a BIP-86 (key-path only) internal key."""
    return b"\x51\x20" + TaprootTweaker().output_key(internal_key)
