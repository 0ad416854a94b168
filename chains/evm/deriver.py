"""``EvmDeriver``: Ethereum-style receive addresses ``m/44'/60'/0'/0/i`` from an account xpub."""

from __future__ import annotations

from chains.base import DerivedAddress, KeyFormatError
from chains.evm.addresses import checksum_encoder
from chains.evm.keccak import keccak256_function
from chains.hd.bip32 import ExtendedPublicKey
from chains.hd.receive_chain import ReceiveChain

_ACCEPTED_VERSIONS = {bytes.fromhex("0488b21e"): "xpub", bytes.fromhex("043587cf"): "tpub"}
ACCOUNT_DEPTH = 3


class EvmDeriver(ReceiveChain):
    """Implements :class:`chains.base.AddressDeriver` for EVM chains (public derivation only).

    The key is the account node (``m/44'/60'/0'``, depth 3); address ``i`` is at ``0/i``
    under it, as in MetaMask, Ledger and Trezor.
    """

    __slots__ = ("_account", "_encode", "_keccak")
    _compressed = False

    def __init__(self, account: ExtendedPublicKey) -> None:
        self._account = account
        super().__init__(account.child(0))
        self._keccak = keccak256_function()
        self._encode = checksum_encoder()

    @classmethod
    def from_xpub(cls, xpub: str, *, allow_any_depth: bool = False) -> EvmDeriver:
        """Parse an account xpub (or tpub).

        ``allow_any_depth`` accepts a key at a depth other than 3 (for wallets that really
        derive addresses at ``<that key>/0/i``); without it such keys are refused.
        """
        key = ExtendedPublicKey.parse(xpub)
        if key.version not in _ACCEPTED_VERSIONS:
            raise KeyFormatError(
                f"this extended key ({xpub.strip()[:4]}…) is not an xpub or tpub; EVM chains "
                "need the plain xpub of the account m/44'/60'/0'"
            )
        if key.depth != ACCOUNT_DEPTH and not allow_any_depth:
            raise KeyFormatError(
                f"this xpub is at depth {key.depth}, but an EVM account key (m/44'/60'/0') "
                "is at depth 3; export the account-level xpub, or set allow_any_depth if your "
                "wallet derives addresses at <this key>/0/i"
            )
        return cls(key)

    @property
    def account_node(self) -> ExtendedPublicKey:
        return self._account

    def _build(self, index: int, uncompressed: bytes) -> DerivedAddress:
        address = self._keccak(uncompressed[1:])[12:]
        return DerivedAddress(index, self._encode(address), address)
