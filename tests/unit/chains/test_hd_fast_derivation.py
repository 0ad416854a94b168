"""The table-driven fast path (generator table, point adder, child key deriver)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from coincurve import PrivateKey, PublicKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chains.base import KeyFormatError
from chains.hd.bip32 import CURVE_ORDER, HARDENED, ExtendedPublicKey, InvalidChildIndex
from chains.hd.child_keys import ChildKeyDeriver
from chains.hd.generator_table import build_generator_table, generator_table
from chains.hd.point_adder import PointAdder

ACCOUNT = ExtendedPublicKey.parse(
    "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
)
scalars = st.integers(min_value=1, max_value=CURVE_ORDER - 1)


def _point(secret: int) -> bytes:
    return PrivateKey(secret.to_bytes(32, "big")).public_key.format(compressed=True)


@settings(max_examples=60, deadline=None, database=None)
@given(secret=scalars, tweak=scalars)
@example(secret=1, tweak=CURVE_ORDER - 1)  # hypothesis's favourite bounds: the sum is n
@example(secret=CURVE_ORDER - 1, tweak=1)
@example(secret=12345, tweak=CURVE_ORDER - 12345)
@example(secret=CURVE_ORDER - 1, tweak=CURVE_ORDER - 1)  # wraps past n, not to zero
def test_adder_matches_coincurve(secret: int, tweak: int) -> None:
    point, scalar = _point(secret), tweak.to_bytes(32, "big")
    adder = PointAdder(point)
    if (secret + tweak) % CURVE_ORDER == 0:
        # The point at infinity has no encoding: libsecp256k1 refuses the sum, the adder
        # answers None, and the child key deriver calls the index invalid (BIP-32: skip
        # it and use the next one).
        with pytest.raises(ValueError, match="invalid"):
            PublicKey(point).add(scalar)
        assert adder.add(scalar) is None
        assert adder.add(scalar, compressed=False) is None
        parent = ExtendedPublicKey(b"\x04\x88\xb2\x1e", 3, b"\1\2\3\4", 0, bytes(32), point)
        with pytest.raises(InvalidChildIndex) as caught:
            ChildKeyDeriver(parent).tweaked_pubkey(7, scalar)
        assert caught.value.index == 7
        return
    expected = PublicKey(point).add(scalar)
    assert adder.add(scalar) == expected.format(compressed=True)
    assert adder.add(scalar, compressed=False) == expected.format(compressed=False)


@pytest.mark.parametrize(
    "tweak", [0, 1, 2, 4095, 4096, 2**252, 2**256 - 1 - 2**200, CURVE_ORDER - 1]
)
def test_adder_edge_scalars(tweak: int) -> None:
    point = _point(12345)
    expected = (12345 + tweak) % CURVE_ORDER
    assert PointAdder(point).add(tweak.to_bytes(32, "big")) == _point(expected)


def test_sum_at_infinity_is_none() -> None:
    adder = PointAdder(_point(5))
    assert adder.add((CURVE_ORDER - 5).to_bytes(32, "big")) is None


@pytest.mark.parametrize("window_bits", [8, 11, 13])
def test_other_window_sizes(window_bits: int) -> None:
    table = build_generator_table(window_bits)
    assert table.windows == -(-256 // window_bits)
    point = _point(999)
    for tweak in (1, 2**255 + 17, CURVE_ORDER - 2, 0x1234567890ABCDEF << 100):
        assert PointAdder(point, table).add(tweak.to_bytes(32, "big")) == _point(
            (999 + tweak) % CURVE_ORDER
        )


def test_portable_pointer_layout_agrees() -> None:
    table = generator_table()
    words = table.pointer_words(0xDEADBEEF << 140)
    base = int.from_bytes(words[:8], "little") - table.entry_indexes(0xDEADBEEF << 140)[0] * 64
    for window, entry in enumerate(table.entry_indexes(0xDEADBEEF << 140)):
        word = int.from_bytes(words[window * 8 : window * 8 + 8], "little")
        assert word == base + entry * 64


def test_table_stays_within_memory_budget() -> None:
    table = generator_table()
    assert table.nbytes <= 8 * 1024 * 1024
    assert generator_table() is table  # cached per process


def test_fast_children_match_plain_bip32() -> None:
    receive = ACCOUNT.child(0)
    fast = ChildKeyDeriver(receive)
    for index in [*range(50), 1000, 2**31 - 1]:
        expected = receive.child(index).public_key
        assert fast.child_pubkey(index) == expected
        assert PublicKey(fast.child_pubkey(index, compressed=False)).format() == expected


@settings(max_examples=40, deadline=None, database=None)
@given(
    secret=scalars,
    chain_code=st.binary(min_size=32, max_size=32),
    index=st.integers(0, HARDENED - 1),
)
def test_fast_children_match_on_random_keys(secret: int, chain_code: bytes, index: int) -> None:
    parent = ExtendedPublicKey(
        b"\x04\x88\xb2\x1e", 3, b"\1\2\3\4", HARDENED, chain_code, _point(secret)
    )
    assert ChildKeyDeriver(parent).child_pubkey(index) == parent.child(index).public_key


def test_bip32_invalid_tweaks_raise_invalid_child_index() -> None:
    fast = ChildKeyDeriver(ACCOUNT)
    with pytest.raises(InvalidChildIndex):
        fast.tweaked_pubkey(3, CURVE_ORDER.to_bytes(32, "big"))
    with pytest.raises(InvalidChildIndex):
        fast.tweaked_pubkey(3, (2**256 - 1).to_bytes(32, "big"))
    secret_point = ExtendedPublicKey(
        ACCOUNT.version, 1, b"\0\0\0\1", 0, ACCOUNT.chain_code, _point(77)
    )
    with pytest.raises(InvalidChildIndex) as caught:
        ChildKeyDeriver(secret_point).tweaked_pubkey(9, (CURVE_ORDER - 77).to_bytes(32, "big"))
    assert caught.value.index == 9


@pytest.mark.parametrize("index", [HARDENED, HARDENED + 5, -1, 2**40])
def test_fast_path_refuses_hardened_and_out_of_range(index: int) -> None:
    with pytest.raises(KeyFormatError):
        ChildKeyDeriver(ACCOUNT).child_pubkey(index)


def test_invalid_point_is_refused() -> None:
    with pytest.raises(KeyFormatError):
        PointAdder(b"\x02" + bytes(32))


def test_nothing_is_built_at_import_or_construction() -> None:
    code = (
        "import chains.bitcoin.deriver, chains.evm.deriver, chains.bitcoin.descriptors\n"
        "from chains.hd import generator_table as g\n"
        "from chains.bitcoin.deriver import BitcoinDeriver\n"
        "from chains.bitcoin.networks import get_network\n"
        "BitcoinDeriver.from_config(get_network('bitcoin', 'mainnet'), xpub="
        f"'{ACCOUNT.serialize()}')\n"
        "assert not g.is_built(), 'table built too early'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
