"""Address encoding, scriptPubKeys and ``decode_address``."""

from __future__ import annotations

import pytest

from chains.base import KeyFormatError
from chains.bitcoin.addresses import (
    decode_address,
    p2pkh_address,
    p2sh_address,
    script_to_address,
    segwit_address,
)
from chains.bitcoin.networks import get_network
from chains.bitcoin.script_types import (
    ScriptType,
    p2pkh_script,
    p2sh_p2wpkh_script,
    p2tr_script,
    p2wpkh_script,
    witness_script,
)

MAIN = get_network("bitcoin", "mainnet")
TEST = get_network("bitcoin", "testnet")
REGTEST = get_network("bitcoin", "regtest")
LTC = get_network("litecoin", "mainnet")
LTC_TEST = get_network("litecoin", "testnet")
LTC_REGTEST = get_network("litecoin", "regtest")
KEY_HASH = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")


@pytest.mark.parametrize(
    ("network", "address", "script"),
    [
        (
            MAIN,
            "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA",
            "76a914d986ed01b7a22225a70edbf2ba7cfb63a15cb3aa88ac",
        ),
        (
            MAIN,
            "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf",
            "a9143fb6e95812e57bb4691f9a4a628862a61a4f769b87",
        ),
        (
            MAIN,
            "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
            "0014c0cebcd6c3d3ca8c75dc5ec62ebe55330ef910e2",
        ),
        (
            MAIN,
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
            "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
        ),
        (
            TEST,
            "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2",
            "a914336caa13e08b96080a32b5d818d59b4ab3b3674287",
        ),
        (
            MAIN,
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
        ),
    ],
)
def test_decode_known_addresses(network: object, address: str, script: str) -> None:
    assert isinstance(network, type(MAIN))
    decoded = decode_address(address, network)
    assert decoded.hex() == script
    expected = address.lower() if address[:2].lower() == "bc" else address
    assert script_to_address(decoded, network) == expected


def test_builders_and_round_trip_on_every_network() -> None:
    for network in (MAIN, TEST, REGTEST, LTC, LTC_TEST, LTC_REGTEST):
        cases = [
            (p2pkh_address(KEY_HASH, network), p2pkh_script(KEY_HASH)),
            (p2sh_address(KEY_HASH, network), p2sh_script_of(KEY_HASH)),
            (segwit_address(0, KEY_HASH, network), p2wpkh_script(KEY_HASH)),
            (segwit_address(1, bytes(range(32)), network), p2tr_script(bytes(range(32)))),
        ]
        for address, script in cases:
            assert decode_address(address, network) == script
            assert script_to_address(script, network) == address


def p2sh_script_of(script_hash: bytes) -> bytes:
    return b"\xa9\x14" + script_hash + b"\x87"


def test_prefixes() -> None:
    assert p2pkh_address(KEY_HASH, LTC).startswith("L")
    assert p2sh_address(KEY_HASH, LTC).startswith("M")
    assert p2sh_address(KEY_HASH, LTC_REGTEST).startswith("Q")
    assert p2pkh_address(KEY_HASH, LTC_TEST)[0] in "mn"
    assert segwit_address(0, KEY_HASH, LTC_REGTEST).startswith("rltc1q")
    assert segwit_address(0, KEY_HASH, REGTEST).startswith("bcrt1q")


def test_p2sh_p2wpkh_script() -> None:
    # BIP-49 test vector: keyhash -> scriptSig -> address bytes.
    key_hash = bytes.fromhex("38971f73930f6c141d977ac4fd4a727c854935b3")
    assert p2sh_p2wpkh_script(key_hash).hex() == "a914336caa13e08b96080a32b5d818d59b4ab3b3674287"


@pytest.mark.parametrize(
    ("network", "address", "message"),
    [
        (
            MAIN,
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
            "bitcoin testnet/signet address but the chain's network is bitcoin mainnet",
        ),
        (TEST, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bitcoin mainnet address"),
        (REGTEST, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "testnet/signet address"),
        (LTC, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bitcoin mainnet address"),
        (LTC, "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "bitcoin mainnet address"),
        (LTC, "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "legacy-prefix P2SH"),
        (MAIN, "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2", "testnet/signet/regtest address"),
        (MAIN, "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgg", "bad checksum"),
        (MAIN, "hello", "not a valid bitcoin mainnet address"),
        (MAIN, "", "empty"),
        (MAIN, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"),
    ],
)
def test_decode_refusals(network: object, address: str, message: str) -> None:
    assert isinstance(network, type(MAIN))
    with pytest.raises(KeyFormatError, match=message):
        decode_address(address, network)


def test_litecoin_mainnet_address_refused_on_bitcoin() -> None:
    address = p2pkh_address(KEY_HASH, LTC)
    with pytest.raises(KeyFormatError, match="litecoin mainnet address"):
        decode_address(address, MAIN)


def test_witness_script_limits() -> None:
    assert witness_script(16, b"\1\2") == b"\x60\x02\x01\x02"
    with pytest.raises(KeyFormatError):
        witness_script(17, b"\1\2")
    with pytest.raises(KeyFormatError):
        witness_script(1, b"\1")


def test_script_to_address_refuses_non_standard() -> None:
    with pytest.raises(KeyFormatError, match="not a standard"):
        script_to_address(b"\x6a\x04test", MAIN)


def test_script_type_names() -> None:
    assert ScriptType.from_name(" P2WPKH ") is ScriptType.P2WPKH
    with pytest.raises(KeyFormatError, match="p2pkh, p2sh-p2wpkh, p2wpkh, p2tr"):
        ScriptType.from_name("segwit")
