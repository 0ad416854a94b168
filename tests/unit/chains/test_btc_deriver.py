"""BitcoinDeriver against published BIP-44/49/84/86 vectors, plus Litecoin and API behaviour."""

from __future__ import annotations

import pytest
from bip_utils import Bip44Changes, Bip84, Bip84Coins, P2SHAddrEncoder, P2WPKHAddrEncoder

from chains.base import AddressDeriver, DerivedAddress, KeyFormatError
from chains.bitcoin.addresses import decode_address
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from chains.bitcoin.script_types import ScriptType
from chains.hd.bip32 import HARDENED, ExtendedPublicKey

MAIN = get_network("bitcoin", "mainnet")
TEST = get_network("bitcoin", "testnet")
SEED_WORDS = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
BIP44_XPUB = (
    "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R"
    "5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
)
BIP49_YPUB = (
    "ypub6Ww3ibxVfGzLrAH1PNcjyAWenMTbbAosGNB6VvmSEgytSER9azL"
    "DWCxoJwW7Ke7icmizBMXrzBx9979FfaHxHcrArf3zbeJJJUZPf663zsP"
)
BIP49_UPUB = (
    "upub5EFU65HtV5TeiSHmZZm7FUffBGy8UKeqp7vw43jYbvZPpoVsgU9"
    "3oac7Wk3u6moKegAEWtGNF8DehrnHtv21XXEMYRUocHqguyjknFHYfgY"
)
BIP84_ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXN"
    "fE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
BIP86_XPUB = (
    "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2a"
    "fYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
)


@pytest.mark.parametrize(
    ("network", "xpub", "address_type", "expected"),
    [
        (MAIN, BIP44_XPUB, None, ["1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"]),
        (MAIN, BIP49_YPUB, None, ["37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf"]),
        (TEST, BIP49_UPUB, None, ["2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2"]),
        (
            MAIN,
            BIP84_ZPUB,
            None,
            [
                "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
                "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
            ],
        ),
        (
            MAIN,
            BIP86_XPUB,
            "p2tr",
            [
                "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
                "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh",
            ],
        ),
    ],
)
def test_published_vectors(
    network: object, xpub: str, address_type: str | None, expected: list[str]
) -> None:
    assert isinstance(network, type(MAIN))
    deriver = BitcoinDeriver.from_config(network, xpub=xpub, address_type=address_type)
    derived = deriver.derive_many(0, len(expected))
    assert [item.address for item in derived] == expected
    for index, item in enumerate(derived):
        assert item.index == index
        assert item.script == decode_address(item.address, network)
        assert deriver.derive(index) == item


def test_bip86_descriptor_and_internal_key() -> None:
    deriver = BitcoinDeriver.from_config(
        MAIN, descriptor=f"tr([73c5da0a/86h/0h/0h]{BIP86_XPUB}/0/*)"
    )
    assert deriver.derive(0).address == (
        "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"
    )
    internal = deriver.receive_node.child(0).public_key[1:]
    assert internal.hex() == "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115"


def test_keyspace_is_the_receive_node_not_the_script_type() -> None:
    spellings = [
        BitcoinDeriver.from_config(MAIN, xpub=BIP84_ZPUB),
        BitcoinDeriver.from_config(MAIN, xpub=BIP84_ZPUB, address_type="p2pkh"),
        BitcoinDeriver.from_config(MAIN, xpub=BIP84_ZPUB, address_type="p2tr"),
        BitcoinDeriver.from_config(get_network("litecoin", "mainnet"), xpub=BIP84_ZPUB),
    ]
    assert len({deriver.keyspace for deriver in spellings}) == 1
    assert BitcoinDeriver.from_config(MAIN, xpub=BIP44_XPUB).keyspace != spellings[0].keyspace
    assert len(spellings[0].keyspace) == 40


def test_implements_the_protocol() -> None:
    deriver: AddressDeriver = BitcoinDeriver.from_config(MAIN, xpub=BIP84_ZPUB)
    assert isinstance(deriver.derive(5), DerivedAddress)


def test_derive_many_ranges() -> None:
    deriver = BitcoinDeriver.from_config(MAIN, xpub=BIP84_ZPUB)
    assert deriver.derive_many(10, 0) == []
    many = deriver.derive_many(100, 25)
    assert [item.index for item in many] == list(range(100, 125))
    assert many[7] == deriver.derive(107)
    last = deriver.derive_many(HARDENED - 2, 2)
    assert [item.index for item in last] == [HARDENED - 2, HARDENED - 1]
    for start, count in ((-1, 1), (0, -1), (HARDENED - 1, 2)):
        with pytest.raises(KeyFormatError):
            deriver.derive_many(start, count)
    with pytest.raises(KeyFormatError, match="hardened"):
        deriver.derive(HARDENED)


@pytest.mark.parametrize(
    ("name", "address_type", "prefix"),
    [
        ("regtest", "p2wpkh", "rltc1q"),
        ("regtest", "p2sh-p2wpkh", "Q"),
        ("testnet", "p2wpkh", "tltc1q"),
        ("testnet", "p2sh-p2wpkh", "Q"),
    ],
)
def test_litecoin_test_networks_against_bip_utils(
    name: str, address_type: str, prefix: str
) -> None:
    from bip_utils import Bip39SeedGenerator

    seed = Bip39SeedGenerator(SEED_WORDS).Generate()
    account = Bip84.FromSeed(seed, Bip84Coins.LITECOIN_TESTNET).Purpose().Coin().Account(0)
    ttub = account.PublicKey().ToExtended()
    assert ttub.startswith("ttub")
    deriver = BitcoinDeriver.from_config(
        get_network("litecoin", name), xpub=ttub, address_type=address_type
    )
    for index in range(3):
        pubkey = account.Change(Bip44Changes.CHAIN_EXT).AddressIndex(index).PublicKey()
        raw = pubkey.RawCompressed().ToBytes()
        if address_type == "p2wpkh":
            expected = P2WPKHAddrEncoder.EncodeKey(
                raw, hrp="rltc" if name == "regtest" else "tltc", wit_ver=0
            )
        else:
            expected = P2SHAddrEncoder.EncodeKey(raw, net_ver=b"\x3a")
        address = deriver.derive(index).address
        assert address == expected
        assert address.startswith(prefix)


def test_litecoin_mainnet_ltub_and_mtub() -> None:
    ltc = get_network("litecoin", "mainnet")
    node = BitcoinDeriver.from_config(MAIN, xpub=BIP44_XPUB).receive_node
    account = ExtendedPublicKey.parse(BIP44_XPUB)
    ltub = account.serialize(bytes.fromhex("019da462"))
    mtub = account.serialize(bytes.fromhex("01b26ef6"))
    assert ltub.startswith("Ltub")
    assert mtub.startswith("Mtub")
    p2pkh = BitcoinDeriver.from_config(ltc, xpub=ltub).derive(0)
    p2sh = BitcoinDeriver.from_config(ltc, xpub=mtub).derive(0)
    assert p2pkh.address.startswith("L")
    assert p2sh.address.startswith("M")
    bitcoin_pkh = BitcoinDeriver.from_config(MAIN, xpub=BIP44_XPUB).derive(0)
    assert p2pkh.script == bitcoin_pkh.script  # same key, same script, other encoding
    assert BitcoinDeriver.from_config(ltc, xpub=ltub).keyspace == node.keyspace_id()
    assert BitcoinDeriver.from_config(ltc, xpub=ltub).descriptor.startswith("pkh(xpub")


def test_script_types_are_exposed() -> None:
    deriver = BitcoinDeriver.from_config(MAIN, xpub=BIP49_YPUB)
    assert deriver.script_type is ScriptType.P2SH_P2WPKH
    assert deriver.network is MAIN
