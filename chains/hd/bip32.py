"""BIP-32 extended public keys: parsing, serialization and (slow, general) public derivation.

For bulk derivation of many children of one node use :mod:`chains.hd.child_keys`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from coincurve import PublicKey

from chains.base import KeyFormatError
from chains.hd.base58 import b58check_decode, b58check_encode
from chains.hd.hashes import hash160

HARDENED = 0x80000000
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

PRIVATE_KEY_MESSAGE = "this is a private key; paywatch needs the extended PUBLIC key"

# Version bytes of serialized extended PRIVATE keys (BIP-32, BIP-49, SLIP-132).
_PRIVATE_VERSIONS = (
    0x0488ADE4,  # xprv
    0x049D7878,  # yprv
    0x04B2430C,  # zprv
    0x0295B005,  # Yprv
    0x02AA7A99,  # Zprv
    0x04358394,  # tprv
    0x044A4E28,  # uprv
    0x024285B5,  # Uprv
    0x045F18BC,  # vprv
    0x02575048,  # Vprv
    0x019D9CFE,  # Ltpv
    0x01B26792,  # Mtpv
    0x0436EF7D,  # ttpv
)
_PRIVATE_PREFIXES = (
    "xprv",
    "yprv",
    "zprv",
    "Yprv",
    "Zprv",
    "tprv",
    "uprv",
    "Uprv",
    "vprv",
    "Vprv",
    "Ltpv",
    "Mtpv",
    "ttpv",
)


class InvalidChildIndex(KeyFormatError):
    """BIP-32 declares this child index invalid for this parent (I_L >= n or the point at
    infinity, probability below 2^-127); skip to the next index."""

    def __init__(self, index: int) -> None:
        super().__init__(f"child index {index} is invalid for this key under BIP-32; use the next")
        self.index = index


def check_public_index(index: int) -> None:
    """Refuse anything that is not a non-hardened child index (0 <= index < 2^31)."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise KeyFormatError(f"child index must be an integer, not {type(index).__name__}")
    if index < 0:
        raise KeyFormatError(f"child index {index} is negative")
    if index >= HARDENED:
        raise KeyFormatError(
            f"child index {index} is hardened (>= 2^31): hardened children cannot be "
            "derived from a public key"
        )


def looks_like_private_key(text: str) -> bool:
    """True for strings that announce a serialized extended private key by their prefix."""
    return text.startswith(_PRIVATE_PREFIXES)


@dataclass(frozen=True, slots=True)
class ExtendedPublicKey:
    """One node of a BIP-32 tree, public part only."""

    version: bytes
    depth: int
    parent_fingerprint: bytes
    child_number: int
    chain_code: bytes
    public_key: bytes  # 33-byte compressed SEC point

    @classmethod
    def parse(cls, text: str) -> ExtendedPublicKey:
        """Parse a Base58Check extended public key of any version (xpub, zpub, Ltub, tpub…).

        Which versions a chain accepts is the caller's business; this checks structure only.
        """
        text = text.strip()
        if looks_like_private_key(text):
            raise KeyFormatError(PRIVATE_KEY_MESSAGE)
        if len(text.split()) > 1:
            raise KeyFormatError(
                "this looks like several words (a seed phrase?); never give paywatch a seed, "
                "give it the account's extended public key"
            )
        raw = b58check_decode(text, what="extended key")
        if len(raw) != 78:
            raise KeyFormatError(
                f"extended key decodes to {len(raw)} bytes, a BIP-32 key is exactly 78"
            )
        version = raw[0:4]
        if int.from_bytes(version, "big") in _PRIVATE_VERSIONS or raw[45] == 0:
            raise KeyFormatError(PRIVATE_KEY_MESSAGE)
        depth = raw[4]
        parent_fingerprint = raw[5:9]
        child_number = int.from_bytes(raw[9:13], "big")
        if depth == 0 and parent_fingerprint != b"\0\0\0\0":
            raise KeyFormatError("extended key has depth 0 but a non-zero parent fingerprint")
        if depth == 0 and child_number != 0:
            raise KeyFormatError("extended key has depth 0 but a non-zero child number")
        public_key = raw[45:78]
        check_compressed_point(public_key)
        return cls(version, depth, parent_fingerprint, child_number, raw[13:45], public_key)

    def serialize(self, version: bytes | None = None) -> str:
        """Base58Check form, optionally under other version bytes (e.g. zpub -> xpub)."""
        payload = b"".join(
            (
                self.version if version is None else version,
                bytes((self.depth,)),
                self.parent_fingerprint,
                self.child_number.to_bytes(4, "big"),
                self.chain_code,
                self.public_key,
            )
        )
        return b58check_encode(payload)

    @property
    def identifier(self) -> bytes:
        """HASH160 of the public key (BIP-32 key identifier)."""
        return hash160(self.public_key)

    @property
    def fingerprint(self) -> bytes:
        """The first 4 bytes of the identifier."""
        return self.identifier[:4]

    def keyspace_id(self) -> str:
        """A stable hex identity of this node, independent of version bytes and metadata."""
        return hash160(self.public_key + self.chain_code).hex()

    def child(self, index: int) -> ExtendedPublicKey:
        """CKDpub: the non-hardened child ``index`` (plain coincurve; fine for a few steps)."""
        check_public_index(index)
        digest = hmac.digest(
            self.chain_code, self.public_key + index.to_bytes(4, "big"), hashlib.sha512
        )
        tweak, chain_code = digest[:32], digest[32:]
        if int.from_bytes(tweak, "big") >= CURVE_ORDER:
            raise InvalidChildIndex(index)
        try:
            point = PublicKey(self.public_key).add(tweak)
        except ValueError as exc:  # the sum is the point at infinity
            raise InvalidChildIndex(index) from exc
        if self.depth >= 255:
            raise KeyFormatError("BIP-32 depth cannot exceed 255")
        return ExtendedPublicKey(
            self.version,
            self.depth + 1,
            self.fingerprint,
            index,
            chain_code,
            point.format(compressed=True),
        )

    def derive_path(self, path: Iterable[int]) -> ExtendedPublicKey:
        node = self
        for index in path:
            node = node.child(index)
        return node


def check_compressed_point(data: bytes) -> None:
    """Raise unless ``data`` is a 33-byte compressed SEC encoding of a point on secp256k1."""
    if len(data) != 33 or data[0] not in (2, 3):
        raise KeyFormatError(
            "key data is not a compressed public key (it must start with 02 or 03)"
        )
    try:
        PublicKey(data)
    except ValueError as exc:
        raise KeyFormatError("key data is not a point on the secp256k1 curve") from exc
