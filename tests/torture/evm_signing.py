"""Raw signed EVM transactions from anvil's published dev keys, so the very same bytes
can be mined again on another branch (same hash, maybe another block or log index).

Legacy transactions with EIP-155 replay protection: RLP, keccak and a recoverable
secp256k1 signature (coincurve) are all it takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PrivateKey

from chains.evm.keccak import keccak256

# anvil's default accounts 1, 3, 4 and 5 ("test test ... junk"); account 0 deploys and mints.
DEV_KEYS = (
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
)
GAS_PRICE = 20 * 10**9  # above anvil's base fee on a young chain


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def rlp(item: bytes | int | list[bytes | int]) -> bytes:
    """Recursive length prefix encoding of bytes, integers and flat lists of them."""
    if isinstance(item, list):
        body = b"".join(rlp(x) for x in item)
        return _length(len(body), 0xC0) + body
    data = _int_bytes(item) if isinstance(item, int) else item
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _length(len(data), 0x80) + data


def _length(size: int, offset: int) -> bytes:
    if size < 56:
        return bytes([offset + size])
    encoded = _int_bytes(size)
    return bytes([offset + 55 + len(encoded)]) + encoded


@dataclass(frozen=True)
class Signer:
    key: PrivateKey
    chain_id: int

    @classmethod
    def dev(cls, number: int, chain_id: int) -> Signer:
        return cls(PrivateKey(bytes.fromhex(DEV_KEYS[number])), chain_id)

    @property
    def address(self) -> str:
        public = self.key.public_key.format(compressed=False)[1:]
        return "0x" + keccak256(public)[-20:].hex()

    def sign(self, *, nonce: int, to: str, value: int, data: str = "0x", gas: int = 21_000) -> str:
        """The raw transaction, 0x hex, ready for ``eth_sendRawTransaction``."""
        fields: list[bytes | int] = [
            nonce,
            GAS_PRICE,
            gas,
            bytes.fromhex(to[2:]),
            value,
            bytes.fromhex(data[2:]),
        ]
        digest = keccak256(rlp([*fields, self.chain_id, 0, 0]))
        signature = self.key.sign_recoverable(digest, hasher=None)
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        v = signature[64] + self.chain_id * 2 + 35
        return "0x" + rlp([*fields, v, r, s]).hex()
