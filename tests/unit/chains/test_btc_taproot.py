"""BIP-86 Taproot output keys."""

from __future__ import annotations

import dataclasses

from coincurve import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.bitcoin.taproot import TaprootTweaker, output_key_reference, p2tr_output_script
from chains.hd.bip32 import CURVE_ORDER
from chains.hd.generator_table import generator_table
from chains.hd.point_adder import PointAdder

# BIP-86 vector: m/86'/0'/0'/0/0 of the "abandon ... about" mnemonic.
INTERNAL = bytes.fromhex("cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115")
OUTPUT = bytes.fromhex("a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c")


def test_bip86_vector() -> None:
    assert TaprootTweaker().output_key(INTERNAL) == OUTPUT
    assert output_key_reference(INTERNAL) == OUTPUT
    assert p2tr_output_script(INTERNAL) == b"\x51\x20" + OUTPUT


@settings(max_examples=50, deadline=None, database=None)
@given(st.integers(1, CURVE_ORDER - 1))
def test_fast_tweak_matches_libsecp256k1(secret: int) -> None:
    compressed = PrivateKey(secret.to_bytes(32, "big")).public_key.format()
    tweaker = TaprootTweaker()
    # Parity of the internal key must not matter: lift_x always takes the even point.
    assert tweaker.output_key(compressed) == output_key_reference(compressed)
    assert tweaker.output_key(compressed[1:]) == output_key_reference(compressed)


def test_portable_pointer_path_gives_the_same_result() -> None:
    portable = dataclasses.replace(generator_table(), pointers_fast=False)
    generator = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    assert TaprootTweaker(PointAdder(generator, portable)).output_key(INTERNAL) == OUTPUT
