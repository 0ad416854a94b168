"""Network parameters, SLIP-132 versions and wrong-network refusals."""

from __future__ import annotations

import pytest

from chains.base import KeyFormatError
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import all_networks, get_network
from chains.bitcoin.script_types import ScriptType
from chains.hd.bip32 import ExtendedPublicKey

ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXN"
    "fE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
VERSIONS = {
    "xpub": "0488b21e",
    "ypub": "049d7cb2",
    "zpub": "04b24746",
    "tpub": "043587cf",
    "upub": "044a5262",
    "vpub": "045f1cf6",
    "Ltub": "019da462",
    "Mtub": "01b26ef6",
    "ttub": "0436f6e1",
    "Zpub": "02aa7ed3",
    "Vpub": "02575483",
}


def as_version(prefix: str) -> str:
    text = ExtendedPublicKey.parse(ZPUB).serialize(bytes.fromhex(VERSIONS[prefix]))
    assert text.startswith(prefix)
    return text


@pytest.mark.parametrize(
    ("coin", "name", "hrp", "p2pkh", "p2sh", "coin_type"),
    [
        ("bitcoin", "mainnet", "bc", 0x00, 0x05, 0),
        ("bitcoin", "testnet", "tb", 0x6F, 0xC4, 1),
        ("bitcoin", "signet", "tb", 0x6F, 0xC4, 1),
        ("bitcoin", "regtest", "bcrt", 0x6F, 0xC4, 1),
        ("litecoin", "mainnet", "ltc", 0x30, 0x32, 2),
        ("litecoin", "testnet", "tltc", 0x6F, 0x3A, 1),
        ("litecoin", "regtest", "rltc", 0x6F, 0x3A, 1),
    ],
)
def test_parameters(coin: str, name: str, hrp: str, p2pkh: int, p2sh: int, coin_type: int) -> None:
    network = get_network(coin, name)
    assert (network.hrp, network.p2pkh_version, network.p2sh_version) == (hrp, p2pkh, p2sh)
    assert network.bip44_coin_type == coin_type
    assert network.uri_scheme == coin
    assert network.is_mainnet == (name == "mainnet")


def test_all_networks() -> None:
    assert len(all_networks()) == 7
    assert get_network("bitcoin", "mainnet") is get_network("bitcoin", "mainnet")


@pytest.mark.parametrize(
    ("coin", "name", "message"),
    [
        ("litecoin", "signet", "litecoin has no signet"),
        ("dogecoin", "mainnet", "unknown coin"),
        ("bitcoin", "mainnet2", "unknown network"),
    ],
)
def test_unknown_networks(coin: str, name: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        get_network(coin, name)


@pytest.mark.parametrize(
    ("coin", "name", "prefix", "script_type"),
    [
        ("bitcoin", "mainnet", "xpub", ScriptType.P2PKH),
        ("bitcoin", "mainnet", "ypub", ScriptType.P2SH_P2WPKH),
        ("bitcoin", "mainnet", "zpub", ScriptType.P2WPKH),
        ("bitcoin", "testnet", "tpub", ScriptType.P2PKH),
        ("bitcoin", "signet", "upub", ScriptType.P2SH_P2WPKH),
        ("bitcoin", "regtest", "vpub", ScriptType.P2WPKH),
        ("litecoin", "mainnet", "Ltub", ScriptType.P2PKH),
        ("litecoin", "mainnet", "Mtub", ScriptType.P2SH_P2WPKH),
        ("litecoin", "mainnet", "xpub", ScriptType.P2PKH),
        ("litecoin", "mainnet", "ypub", ScriptType.P2SH_P2WPKH),
        ("litecoin", "mainnet", "zpub", ScriptType.P2WPKH),
        ("litecoin", "testnet", "ttub", ScriptType.P2PKH),
        ("litecoin", "testnet", "tpub", ScriptType.P2PKH),
        ("litecoin", "regtest", "upub", ScriptType.P2SH_P2WPKH),
        ("litecoin", "regtest", "vpub", ScriptType.P2WPKH),
    ],
)
def test_slip132_script_types(coin: str, name: str, prefix: str, script_type: ScriptType) -> None:
    deriver = BitcoinDeriver.from_config(get_network(coin, name), xpub=as_version(prefix))
    assert deriver.script_type is script_type


@pytest.mark.parametrize(
    ("coin", "name", "prefix", "message"),
    [
        (
            "bitcoin",
            "mainnet",
            "vpub",
            r"a testnet key \(vpub…\) but the chain's network is bitcoin mainnet",
        ),
        (
            "bitcoin",
            "testnet",
            "zpub",
            r"a mainnet key \(zpub…\) but the chain's network is bitcoin testnet",
        ),
        ("bitcoin", "mainnet", "Ltub", r"a litecoin mainnet key \(Ltub…\)"),
        ("bitcoin", "regtest", "ttub", r"a litecoin testnet key \(ttub…\)"),
        (
            "litecoin",
            "mainnet",
            "tpub",
            r"a testnet key \(tpub…\) but the chain's network is "
            "litecoin mainnet",
        ),
        ("litecoin", "testnet", "Mtub", r"a litecoin mainnet key \(Mtub…\)"),
        ("bitcoin", "mainnet", "Zpub", "multisig key"),
        ("litecoin", "testnet", "Vpub", "multisig key"),
    ],
)
def test_wrong_network_keys(coin: str, name: str, prefix: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        BitcoinDeriver.from_config(get_network(coin, name), xpub=as_version(prefix))


def test_unknown_version() -> None:
    text = ExtendedPublicKey.parse(ZPUB).serialize(b"\x01\x02\x03\x04")
    with pytest.raises(KeyFormatError, match="unknown extended key version 0x01020304"):
        BitcoinDeriver.from_config(get_network("bitcoin", "mainnet"), xpub=text)
