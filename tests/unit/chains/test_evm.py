"""EVM: EIP-55, Keccak, EvmDeriver (vectors and random wallets vs bip_utils) and EIP-681."""

from __future__ import annotations

import pytest
from bip_utils import Bip39SeedGenerator, Bip44, Bip44Changes, Bip44Coins
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.base import AddressDeriver, KeyFormatError
from chains.evm.addresses import is_checksum_valid, parse_address, to_checksum_address
from chains.evm.deriver import EvmDeriver
from chains.evm.keccak import keccak256, keccak256_function
from chains.evm.uri import eip681_native_uri, eip681_token_uri
from chains.hd.bip32 import ExtendedPublicKey

ABANDON = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
ETH_ACCOUNT = (
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMt"
    "VxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
)
EIP55_VECTORS = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
]
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"


def test_keccak() -> None:
    empty = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    fast = keccak256_function()
    assert keccak256(b"").hex() == empty
    assert fast(b"").hex() == empty
    for size in (1, 64, 135, 136, 137, 1000):
        data = bytes(range(256)) * 4
        assert fast(data[:size]) == keccak256(data[:size])


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_eip55_vectors(address: str) -> None:
    raw = bytes.fromhex(address[2:])
    assert to_checksum_address(raw) == address
    assert is_checksum_valid(address)
    assert parse_address(address) == raw
    assert parse_address(address.lower()) == raw
    assert parse_address("0x" + address[2:].upper()) == raw


def test_bad_checksum_is_named() -> None:
    wrong = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
    assert not is_checksum_valid(wrong)
    with pytest.raises(KeyFormatError, match="EIP-55 checksum"):
        parse_address(wrong)


@pytest.mark.parametrize(
    "text", ["5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aAeb6053F3E", "0xZZ" + "0" * 38, ""]
)
def test_malformed_addresses(text: str) -> None:
    assert not is_checksum_valid(text)
    with pytest.raises(KeyFormatError, match="40 hexadecimal"):
        parse_address(text)


def test_to_checksum_address_length() -> None:
    with pytest.raises(KeyFormatError):
        to_checksum_address(bytes(19))


def test_abandon_vector() -> None:
    deriver = EvmDeriver.from_xpub(ETH_ACCOUNT)
    first = deriver.derive(0)
    assert first.address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    assert first.script == bytes.fromhex("9858effd232b4033e47d90003d41ec34ecaeda94")
    assert deriver.derive_many(0, 3)[0] == first
    assert deriver.keyspace == deriver.receive_node.keyspace_id()
    as_protocol: AddressDeriver = deriver
    assert as_protocol.derive(1).index == 1


def test_account_xpub_of_the_abandon_mnemonic() -> None:
    seed = Bip39SeedGenerator(ABANDON).Generate()
    account = Bip44.FromSeed(seed, Bip44Coins.ETHEREUM).Purpose().Coin().Account(0)
    assert account.PublicKey().ToExtended() == ETH_ACCOUNT


@settings(max_examples=25, deadline=None, database=None)
@given(
    seed=st.binary(min_size=16, max_size=64),
    account=st.integers(0, 5),
    extra=st.integers(0, 2**31 - 1),
)
def test_random_wallets_against_bip_utils(seed: bytes, account: int, extra: int) -> None:
    node = Bip44.FromSeed(seed, Bip44Coins.ETHEREUM).Purpose().Coin().Account(account)
    deriver = EvmDeriver.from_xpub(node.PublicKey().ToExtended())
    external = node.Change(Bip44Changes.CHAIN_EXT)
    for index in (0, 1, extra):
        assert deriver.derive(index).address == external.AddressIndex(index).PublicKey().ToAddress()


def test_tpub_is_accepted() -> None:
    tpub = ExtendedPublicKey.parse(ETH_ACCOUNT).serialize(bytes.fromhex("043587cf"))
    assert EvmDeriver.from_xpub(tpub).derive(0).address == (
        "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    )


def test_wrong_depth_needs_the_flag() -> None:
    chain_node = ExtendedPublicKey.parse(ETH_ACCOUNT).child(0).serialize()
    with pytest.raises(KeyFormatError, match=r"depth 4.*m/44'/60'/0'"):
        EvmDeriver.from_xpub(chain_node)
    allowed = EvmDeriver.from_xpub(chain_node, allow_any_depth=True)
    assert allowed.receive_node == ExtendedPublicKey.parse(chain_node).child(0)


@pytest.mark.parametrize(
    ("version", "message"), [("04b24746", "not an xpub or tpub"), ("019da462", "not an xpub")]
)
def test_other_versions_are_refused(version: str, message: str) -> None:
    other = ExtendedPublicKey.parse(ETH_ACCOUNT).serialize(bytes.fromhex(version))
    with pytest.raises(KeyFormatError, match=message):
        EvmDeriver.from_xpub(other)


def test_private_key_is_refused() -> None:
    xprv = (
        "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJx"
        "WUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
    )
    with pytest.raises(KeyFormatError, match="extended PUBLIC key"):
        EvmDeriver.from_xpub(xprv)


def test_derive_many_argument_checks() -> None:
    deriver = EvmDeriver.from_xpub(ETH_ACCOUNT)
    assert deriver.derive_many(0, 0) == []
    with pytest.raises(KeyFormatError):
        deriver.derive_many(-1, 2)
    with pytest.raises(KeyFormatError):
        deriver.derive(2**31)


def test_native_uri() -> None:
    address = "0x9858effd232b4033e47d90003d41ec34ecaeda94"
    assert eip681_native_uri(address, 1, 10**18) == (
        "ethereum:0x9858EfFD232B4033E47d90003D41EC34EcaEda94@1?value=1000000000000000000"
    )
    assert eip681_native_uri(bytes.fromhex(address[2:]), 137, 0).endswith("@137?value=0")


def test_erc20_uri() -> None:
    uri = eip681_token_uri(
        USDC.lower(), "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", 1, 25_500_000
    )
    assert uri == (
        f"ethereum:{USDC}@1/transfer?address=0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
        "&uint256=25500000"
    )


@pytest.mark.parametrize(("chain_id", "value"), [(0, 1), (1, -1), (1, 1.5), (True, 1), (1, False)])
def test_uri_argument_checks(chain_id: object, value: object) -> None:
    with pytest.raises(KeyFormatError):
        eip681_native_uri(EIP55_VECTORS[0], chain_id, value)  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError):
        eip681_token_uri(USDC, EIP55_VECTORS[0], chain_id, value)  # type: ignore[arg-type]
