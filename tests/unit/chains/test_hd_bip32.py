"""BIP-32 extended public keys: published vectors 1-3 (public parts) and vector 5 (invalid)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from bip_utils import Bip32Slip10Secp256k1

from chains.base import KeyFormatError
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from chains.hd.base58 import b58check_encode
from chains.hd.bip32 import HARDENED, ExtendedPublicKey, InvalidChildIndex, check_public_index

H = HARDENED
FIXTURE = Path(__file__).parents[2] / "fixtures" / "chains" / "bip32_vectors.json"
DATA = json.loads(FIXTURE.read_text(encoding="utf-8"))
VECTORS: list[tuple[str, list[tuple[str, str]]]] = [
    (vector["seed"], [(path, xpub) for path, xpub in vector["chain"]]) for vector in DATA["vectors"]
]
VECTOR_1, VECTOR_2, VECTOR_3 = (chain for _, chain in VECTORS)
VECTOR_5: list[str] = [entry["key"] for entry in DATA["invalid"]]
VECTOR_5_IDS: list[str] = [entry["reason"] for entry in DATA["invalid"]]
XPRV_1 = (
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRN"
    "NU3TGtRBeJgk33yuGBxrMPHi"
)
ZPRV = (
    "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9i"
    "efm1yYNZKEm7z6qUWCroSQnE"
)


def _parse_path(path: str) -> list[int]:
    steps = []
    for part in path.split("/")[1:]:
        steps.append(int(part[:-1]) + H if part.endswith("'") else int(part))
    return steps


@pytest.mark.parametrize(("seed", "chain"), VECTORS)
def test_transcribed_vectors_match_an_independent_library(
    seed: str, chain: list[tuple[str, str]]
) -> None:
    root = Bip32Slip10Secp256k1.FromSeed(bytes.fromhex(seed))
    for path, xpub in chain:
        assert root.DerivePath(path).PublicKey().ToExtended() == xpub


@pytest.mark.parametrize(("seed", "chain"), VECTORS)
def test_serialization_round_trip_and_fingerprints(seed: str, chain: list[tuple[str, str]]) -> None:
    del seed
    parent: ExtendedPublicKey | None = None
    for path, xpub in chain:
        key = ExtendedPublicKey.parse(xpub)
        assert key.serialize() == xpub
        assert key.depth == len(_parse_path(path))
        if parent is None:
            assert key.parent_fingerprint == b"\0\0\0\0"
        else:
            assert key.parent_fingerprint == parent.fingerprint
            assert key.child_number == _parse_path(path)[-1]
        parent = key


@pytest.mark.parametrize(("seed", "chain"), VECTORS)
def test_every_public_step_of_the_vectors(seed: str, chain: list[tuple[str, str]]) -> None:
    del seed
    checked = 0
    for (_, parent_text), (path, child_text) in itertools.pairwise(chain):
        index = _parse_path(path)[-1]
        parent = ExtendedPublicKey.parse(parent_text)
        if index >= H:
            with pytest.raises(KeyFormatError, match="hardened"):
                parent.child(index)
            continue
        assert parent.child(index).serialize() == child_text
        checked += 1
    assert checked or chain is VECTOR_3


def test_vector_1_fingerprint_value() -> None:
    master = ExtendedPublicKey.parse(VECTOR_1[0][1])
    assert master.fingerprint.hex() == "3442193e"
    assert master.identifier.hex() == "3442193e1bb70916e914552172cd4e2dbc9df811"


@pytest.mark.parametrize("text", VECTOR_5, ids=VECTOR_5_IDS)
def test_vector_5_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyFormatError):
        BitcoinDeriver.from_config(get_network("bitcoin", "mainnet"), xpub=text)


@pytest.mark.parametrize(
    "text",
    [XPRV_1, VECTOR_5[0], ZPRV],
)
def test_private_keys_get_the_clear_message(text: str) -> None:
    with pytest.raises(KeyFormatError, match="private key; paywatch needs the extended PUBLIC"):
        ExtendedPublicKey.parse(text)


def test_private_key_text_is_not_echoed() -> None:
    secret = VECTOR_1[0][1].replace("xpub", "xprv")
    with pytest.raises(KeyFormatError) as caught:
        ExtendedPublicKey.parse(secret)
    assert secret[4:20] not in str(caught.value)


def test_seed_phrase_is_refused() -> None:
    with pytest.raises(KeyFormatError, match="seed phrase"):
        ExtendedPublicKey.parse("abandon " * 11 + "about")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VECTOR_1[0][1][:80], "checksum"),
        ("not-a-key", "not valid Base58"),
        (b58check_encode(bytes.fromhex("0488b21e") + bytes(20)), "exactly 78"),
    ],
)
def test_garbage(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        ExtendedPublicKey.parse(text)


@pytest.mark.parametrize(
    ("index", "message"),
    [(H, "hardened"), (2**32, "hardened"), (-1, "negative"), (True, "integer")],
)
def test_index_checks(index: int, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        check_public_index(index)
    key = ExtendedPublicKey.parse(VECTOR_2[1][1])
    with pytest.raises(KeyFormatError, match=message):
        key.child(index)


def test_invalid_child_index_is_a_key_format_error() -> None:
    error = InvalidChildIndex(7)
    assert isinstance(error, KeyFormatError)
    assert error.index == 7


def test_keyspace_ignores_version_and_metadata() -> None:
    key = ExtendedPublicKey.parse(VECTOR_2[1][1])
    as_zpub = ExtendedPublicKey.parse(key.serialize(bytes.fromhex("04b24746")))
    assert as_zpub.serialize().startswith("zpub")
    assert as_zpub.keyspace_id() == key.keyspace_id()
    assert key.keyspace_id() != key.child(0).keyspace_id()
