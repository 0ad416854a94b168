"""Random wallets: our public derivation against bip_utils' private derivation."""

from __future__ import annotations

from typing import Any

from bip_utils import (
    Bip44,
    Bip44Changes,
    Bip44Coins,
    Bip49,
    Bip49Coins,
    Bip84,
    Bip84Coins,
    Bip86,
    Bip86Coins,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.bitcoin.addresses import decode_address
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network

seeds = st.binary(min_size=16, max_size=64)
indexes = st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=3)
SETTINGS = settings(max_examples=25, deadline=None, database=None)


def _check(
    account: Any, coin: str, network: str, address_type: str | None, extra: list[int]
) -> None:
    xpub = account.PublicKey().ToExtended()
    deriver = BitcoinDeriver.from_config(
        get_network(coin, network), xpub=xpub, address_type=address_type
    )
    external = account.Change(Bip44Changes.CHAIN_EXT)
    for index in [0, 1, *extra]:
        expected = external.AddressIndex(index).PublicKey().ToAddress()
        derived = deriver.derive(index)
        assert derived.address == expected
        assert derived.script == decode_address(expected, deriver.network)


@SETTINGS
@given(seed=seeds, extra=indexes)
def test_bitcoin_mainnet(seed: bytes, extra: list[int]) -> None:
    _check(
        Bip44.FromSeed(seed, Bip44Coins.BITCOIN).Purpose().Coin().Account(0),
        "bitcoin",
        "mainnet",
        None,
        extra,
    )
    _check(
        Bip49.FromSeed(seed, Bip49Coins.BITCOIN).Purpose().Coin().Account(1),
        "bitcoin",
        "mainnet",
        None,
        extra,
    )
    _check(
        Bip84.FromSeed(seed, Bip84Coins.BITCOIN).Purpose().Coin().Account(0),
        "bitcoin",
        "mainnet",
        None,
        extra,
    )
    _check(
        Bip86.FromSeed(seed, Bip86Coins.BITCOIN).Purpose().Coin().Account(0),
        "bitcoin",
        "mainnet",
        "p2tr",
        extra,
    )


@SETTINGS
@given(seed=seeds, extra=indexes)
def test_bitcoin_testnet(seed: bytes, extra: list[int]) -> None:
    _check(
        Bip44.FromSeed(seed, Bip44Coins.BITCOIN_TESTNET).Purpose().Coin().Account(0),
        "bitcoin",
        "testnet",
        None,
        extra,
    )
    _check(
        Bip49.FromSeed(seed, Bip49Coins.BITCOIN_TESTNET).Purpose().Coin().Account(0),
        "bitcoin",
        "testnet",
        None,
        extra,
    )
    _check(
        Bip84.FromSeed(seed, Bip84Coins.BITCOIN_TESTNET).Purpose().Coin().Account(2),
        "bitcoin",
        "testnet",
        None,
        extra,
    )
    _check(
        Bip86.FromSeed(seed, Bip86Coins.BITCOIN_TESTNET).Purpose().Coin().Account(0),
        "bitcoin",
        "testnet",
        "p2tr",
        extra,
    )


@SETTINGS
@given(seed=seeds, extra=indexes)
def test_bitcoin_regtest(seed: bytes, extra: list[int]) -> None:
    _check(
        Bip84.FromSeed(seed, Bip84Coins.BITCOIN_REGTEST).Purpose().Coin().Account(0),
        "bitcoin",
        "regtest",
        None,
        extra,
    )
    _check(
        Bip86.FromSeed(seed, Bip86Coins.BITCOIN_REGTEST).Purpose().Coin().Account(0),
        "bitcoin",
        "regtest",
        "p2tr",
        extra,
    )


@SETTINGS
@given(seed=seeds, extra=indexes)
def test_litecoin_mainnet(seed: bytes, extra: list[int]) -> None:
    _check(
        Bip44.FromSeed(seed, Bip44Coins.LITECOIN).Purpose().Coin().Account(0),
        "litecoin",
        "mainnet",
        None,
        extra,
    )
    _check(
        Bip49.FromSeed(seed, Bip49Coins.LITECOIN).Purpose().Coin().Account(0),
        "litecoin",
        "mainnet",
        None,
        extra,
    )
    _check(
        Bip84.FromSeed(seed, Bip84Coins.LITECOIN).Purpose().Coin().Account(0),
        "litecoin",
        "mainnet",
        None,
        extra,
    )


@SETTINGS
@given(seed=seeds, extra=indexes)
def test_litecoin_testnet(seed: bytes, extra: list[int]) -> None:
    # bip_utils exports every Litecoin testnet account as ttub, so the type is explicit.
    _check(
        Bip44.FromSeed(seed, Bip44Coins.LITECOIN_TESTNET).Purpose().Coin().Account(0),
        "litecoin",
        "testnet",
        None,
        extra,
    )
    _check(
        Bip49.FromSeed(seed, Bip49Coins.LITECOIN_TESTNET).Purpose().Coin().Account(0),
        "litecoin",
        "testnet",
        "p2sh-p2wpkh",
        extra,
    )
    _check(
        Bip84.FromSeed(seed, Bip84Coins.LITECOIN_TESTNET).Purpose().Coin().Account(0),
        "litecoin",
        "testnet",
        "p2wpkh",
        extra,
    )
