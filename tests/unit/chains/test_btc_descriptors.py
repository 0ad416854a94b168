"""Output descriptors: BIP-380 checksums, the accepted subset and helpful refusals."""

from __future__ import annotations

import pytest

from chains.base import KeyFormatError
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.descriptor_checksum import add_checksum, descriptor_checksum, strip_checksum
from chains.bitcoin.descriptors import descriptor_from_xpub, parse_descriptor
from chains.bitcoin.networks import get_network
from chains.bitcoin.script_types import ScriptType

MAIN = get_network("bitcoin", "mainnet")
TEST = get_network("bitcoin", "testnet")
ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXN"
    "fE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
# The same node as ZPUB, written with xpub version bytes (as descriptors do).
ACCOUNT_84 = (
    "xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3"
    "XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V"
)
BIP32_V2_M0 = (
    "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9Lgp"
    "eyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"
)
XPRV = (
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jP"
    "PqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
)


def test_bip380_checksum_vector() -> None:
    assert descriptor_checksum("raw(deadbeef)") == "89f8spxm"
    assert add_checksum("raw(deadbeef)") == "raw(deadbeef)#89f8spxm"
    assert strip_checksum("raw(deadbeef)#89f8spxm") == "raw(deadbeef)"
    assert strip_checksum("raw(deadbeef)") == "raw(deadbeef)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("raw(deadbeef)#", "8 characters"),
        ("raw(deadbeef)#89f8spxmx", "8 characters"),
        ("raw(deadbeef)#89f8spx", "8 characters"),
        ("raw(deedbeef)#89f8spxm", "does not match"),
        ("raw(deedbeef)##9f8spxm", "outside its alphabet"),
        ("raw(Ü)#00000000", "not allowed in a descriptor"),
    ],
)
def test_bip380_checksum_failures(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        strip_checksum(text)


def test_bip382_wpkh_vector_with_origin_and_two_steps() -> None:
    deriver = BitcoinDeriver.from_config(
        MAIN, descriptor=f"wpkh([ffffffff/13']{BIP32_V2_M0}/1/2/*)"
    )
    scripts = [item.script.hex() for item in deriver.derive_many(0, 3)]
    assert scripts == [
        "0014326b2249e3a25d5dc60935f044ee835d090ba859",
        "0014af0bd98abc2f2cae66e36896a39ffe2d32984fb7",
        "00141fa798efd1cbf95cebf912c031b8a4a6e9fb9f27",
    ]
    assert deriver.descriptor.startswith(f"wpkh([ffffffff/13h]{BIP32_V2_M0}/1/2/*)#")


@pytest.mark.parametrize(
    "text",
    [
        f"wpkh([73c5da0a/84h/0h/0h]{ACCOUNT_84}/0/*)",
        f"wpkh([73C5DA0A/84'/0'/0']{ACCOUNT_84}/0/*)",
        f"wpkh([73c5da0a/84H/0H/0H]{ACCOUNT_84}/0/*)",
        f"wpkh([73c5da0a/84h/0h/0h]{ACCOUNT_84}/<0;1>/*)",
        f"wpkh({ACCOUNT_84}/0/*)",
        f"  wpkh({ACCOUNT_84}/<0;1;2>/*)  ",
        f"wpkh({ZPUB}/0/*)",
    ],
)
def test_equivalent_spellings_derive_the_bip84_vector(text: str) -> None:
    deriver = BitcoinDeriver.from_config(MAIN, descriptor=text)
    assert deriver.derive(0).address == "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    assert deriver.keyspace == BitcoinDeriver.from_config(MAIN, xpub=ZPUB).keyspace


def test_checksummed_descriptor_round_trips() -> None:
    body = f"wpkh([73c5da0a/84h/0h/0h]{ACCOUNT_84}/0/*)"
    canonical = parse_descriptor(add_checksum(body)).to_string()
    assert canonical == add_checksum(body)
    again = BitcoinDeriver.from_config(MAIN, descriptor=canonical)
    assert again.descriptor == canonical


def test_canonical_form_normalises() -> None:
    parsed = parse_descriptor(f"sh(wpkh([D34DB33F/49'/0'/0']{ACCOUNT_84}/<0;1>/*))")
    assert parsed.to_string(checksum=False) == (f"sh(wpkh([d34db33f/49h/0h/0h]{ACCOUNT_84}/0/*))")
    assert parsed.script_type is ScriptType.P2SH_P2WPKH


def test_key_with_only_wildcard_uses_key_itself_as_chain_node() -> None:
    receive = parse_descriptor(f"wpkh({ACCOUNT_84}/0/*)").receive_node()
    from_chain = BitcoinDeriver.from_config(MAIN, descriptor=f"wpkh({receive.serialize()}/*)")
    assert from_chain.derive(0).address == "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"


@pytest.mark.parametrize(
    ("prefix_key", "address_type", "expected"),
    [
        (ZPUB, None, f"wpkh({ACCOUNT_84}/0/*)"),
        (ACCOUNT_84, "p2tr", f"tr({ACCOUNT_84}/0/*)"),
        (ACCOUNT_84, None, f"pkh({ACCOUNT_84}/0/*)"),
        (ZPUB, "p2sh-p2wpkh", f"sh(wpkh({ACCOUNT_84}/0/*))"),
    ],
)
def test_slip132_shorthand_to_descriptor(
    prefix_key: str, address_type: str | None, expected: str
) -> None:
    descriptor = descriptor_from_xpub(prefix_key, MAIN, address_type)
    assert descriptor.to_string(MAIN.descriptor_key_version) == add_checksum(expected)


def test_testnet_descriptor_uses_tpub() -> None:
    vpub_text = parse_descriptor(f"wpkh({ACCOUNT_84}/0/*)").key.serialize(bytes.fromhex("045f1cf6"))
    deriver = BitcoinDeriver.from_config(TEST, xpub=vpub_text)
    assert deriver.descriptor.startswith("wpkh(tpub")
    assert deriver.derive(0).address.startswith("tb1q")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"sh(multi(2,{ACCOUNT_84}/0/*,{BIP32_V2_M0}/0/*))", "multisig"),
        (f"wsh(sortedmulti(2,{ACCOUNT_84}/0/*,{BIP32_V2_M0}/0/*))", r"wsh\(\) script"),
        (f"sortedmulti(2,{ACCOUNT_84}/0/*,{BIP32_V2_M0}/0/*)", "multisig"),
        (f"tr({ACCOUNT_84}/0/*,pk({BIP32_V2_M0}/0/*))", "script tree"),
        (f"wpkh({ACCOUNT_84}/0h/*)", r"hardened step '0h' after the extended key"),
        (f"wpkh({ACCOUNT_84}/0/*h)", "hardened wildcard"),
        (f"wpkh({ACCOUNT_84}/0/*')", "hardened wildcard"),
        (f"wpkh({ACCOUNT_84}/<0h;1h>/*)", "multipath"),
        (f"wpkh({ACCOUNT_84}/<0;1>/<0;1>/*)", "only one multipath"),
        (f"wpkh({ACCOUNT_84}/0)", "must be ranged"),
        (f"wpkh({ACCOUNT_84})", "must be ranged"),
        (f"wpkh({ACCOUNT_84}/*/0)", "may only be the last"),
        (f"wpkh({ACCOUNT_84}/2147483648/*)", "out of range"),
        (f"wpkh({ACCOUNT_84}/1aa/*)", "invalid derivation step"),
        (f"wpkh({XPRV}/0/*)", "private key; paywatch needs the extended PUBLIC key"),
        ("wpkh(L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1)", "private key"),
        ("wpkh(5KYZdUEo39z3FPrtuX2QbbwGnNP5zTd7yyr2SC1j299sBCnWjss)", "private key"),
        (
            "wpkh(03a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)",
            "single public key",
        ),
        (f"wpkh([deadbef/0h]{ACCOUNT_84}/0/*)", "8-hex-digit fingerprint"),
        (f"wpkh([gaaaaaaa]{ACCOUNT_84}/0/*)", "8-hex-digit fingerprint"),
        (f"wpkh([deadbeef/0f]{ACCOUNT_84}/0/*)", "invalid step"),
        (f"wpkh([deadbeef/0h/]{ACCOUNT_84}/0/*)", "invalid step"),
        (f"wpkh([aaaaaaaa][aaaaaaaa]{ACCOUNT_84}/0/*)", "malformed"),
        ("wpkh([deadbeef])", "malformed"),
        (f"wpkh({ACCOUNT_84}/0/*", "unbalanced"),
        (f"pk({ACCOUNT_84}/0/*)", "pk()"),
        (f"combo({ACCOUNT_84}/0/*)", "combo"),
        (f"foo({ACCOUNT_84}/0/*)", "unknown descriptor function foo"),
        (f"wpkh(wsh(pkh({ACCOUNT_84}/0/*)))", "takes a key"),
        (f"sh(pkh({ACCOUNT_84}/0/*))", r"only sh\(wpkh\(KEY\)\)"),
        ("addr(bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu)", "fixed address"),
        ("hello world", "not a descriptor"),
        (ZPUB, "not a descriptor"),
    ],
)
def test_refusals(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        BitcoinDeriver.from_config(MAIN, descriptor=text)


def test_wrong_network_key_inside_descriptor() -> None:
    with pytest.raises(KeyFormatError, match=r"mainnet key .* bitcoin testnet"):
        BitcoinDeriver.from_config(TEST, descriptor=f"wpkh({ACCOUNT_84}/0/*)")


def test_private_key_is_not_echoed() -> None:
    with pytest.raises(KeyFormatError) as caught:
        BitcoinDeriver.from_config(MAIN, descriptor=f"wpkh({XPRV}/0/*)")
    assert XPRV[4:30] not in str(caught.value)


@pytest.mark.parametrize(
    ("xpub", "descriptor", "address_type", "message"),
    [
        (ZPUB, f"wpkh({ACCOUNT_84}/0/*)", None, "exactly one"),
        (None, None, None, "exactly one"),
        (None, f"wpkh({ACCOUNT_84}/0/*)", "p2pkh", "contradicts the descriptor"),
        (ZPUB, None, "segwit", "unknown address type"),
    ],
)
def test_config_combinations(
    xpub: str | None, descriptor: str | None, address_type: str | None, message: str
) -> None:
    with pytest.raises(KeyFormatError, match=message):
        BitcoinDeriver.from_config(
            MAIN, xpub=xpub, descriptor=descriptor, address_type=address_type
        )


def test_matching_address_type_with_descriptor_is_fine() -> None:
    deriver = BitcoinDeriver.from_config(
        MAIN, descriptor=f"wpkh({ACCOUNT_84}/0/*)", address_type="p2wpkh"
    )
    assert deriver.script_type is ScriptType.P2WPKH
