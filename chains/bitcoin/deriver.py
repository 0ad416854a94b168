"""``BitcoinDeriver``: receive addresses ``…/0/i`` for Bitcoin and Litecoin wallets."""

from __future__ import annotations

from collections.abc import Callable

from chains.base import DerivedAddress, KeyFormatError
from chains.bitcoin.descriptors import Descriptor, descriptor_from_xpub, parse_descriptor
from chains.bitcoin.networks import Network
from chains.bitcoin.script_types import ScriptType
from chains.bitcoin.segwit import segwit_encoder
from chains.bitcoin.taproot import TaprootTweaker
from chains.hd.base58 import b58check_encode
from chains.hd.hashes import hash160_function
from chains.hd.receive_chain import ReceiveChain


class BitcoinDeriver(ReceiveChain):
    """Implements :class:`chains.base.AddressDeriver` for one wallet on one network.

    Public derivation only. The fast child-key table is built on the first derivation,
    not at construction, so validating configuration stays cheap.
    """

    __slots__ = ("_build_address", "_descriptor", "_hash160", "_network", "_tweaker")

    def __init__(self, network: Network, descriptor: Descriptor) -> None:
        network.key_version(descriptor.key.version)
        self._network = network
        self._descriptor = descriptor
        super().__init__(descriptor.receive_node())
        self._tweaker: TaprootTweaker | None = None
        self._hash160 = hash160_function()
        self._build_address = self._builder(descriptor.script_type)

    @classmethod
    def from_config(
        cls,
        network: Network,
        xpub: str | None = None,
        descriptor: str | None = None,
        address_type: str | None = None,
    ) -> BitcoinDeriver:
        """From an xpub (SLIP-132 shorthand, optionally re-typed) or an output descriptor."""
        if (xpub is None) == (descriptor is None):
            raise KeyFormatError("configure exactly one of xpub or descriptor")
        if xpub is not None:
            return cls(network, descriptor_from_xpub(xpub, network, address_type))
        assert descriptor is not None
        parsed = parse_descriptor(descriptor, network)
        if address_type is not None and ScriptType.from_name(address_type) != parsed.script_type:
            raise KeyFormatError(
                f"address_type {address_type!r} contradicts the descriptor, which gives "
                f"{parsed.script_type.value}; drop address_type"
            )
        return cls(network, parsed)

    @property
    def network(self) -> Network:
        return self._network

    @property
    def script_type(self) -> ScriptType:
        return self._descriptor.script_type

    @property
    def descriptor(self) -> str:
        """Canonical descriptor with checksum (keys written as xpub/tpub), for display."""
        return self._descriptor.to_string(self._network.descriptor_key_version)

    def _build(self, index: int, pubkey: bytes) -> DerivedAddress:
        return self._build_address(index, pubkey)

    def _builder(self, script_type: ScriptType) -> Callable[[int, bytes], DerivedAddress]:
        network = self._network
        hash160 = self._hash160
        if script_type is ScriptType.P2WPKH:
            encode = segwit_encoder(network.hrp, 0, 20).encode

            def p2wpkh(index: int, pubkey: bytes) -> DerivedAddress:
                key_hash = hash160(pubkey)
                return DerivedAddress(index, encode(key_hash), b"\x00\x14" + key_hash)

            return p2wpkh
        if script_type is ScriptType.P2SH_P2WPKH:
            p2sh_prefix = bytes((network.p2sh_version,))

            def p2sh_p2wpkh(index: int, pubkey: bytes) -> DerivedAddress:
                script_hash = hash160(b"\x00\x14" + hash160(pubkey))
                return DerivedAddress(
                    index,
                    b58check_encode(p2sh_prefix + script_hash),
                    b"\xa9\x14" + script_hash + b"\x87",
                )

            return p2sh_p2wpkh
        if script_type is ScriptType.P2PKH:
            p2pkh_prefix = bytes((network.p2pkh_version,))

            def p2pkh(index: int, pubkey: bytes) -> DerivedAddress:
                key_hash = hash160(pubkey)
                return DerivedAddress(
                    index,
                    b58check_encode(p2pkh_prefix + key_hash),
                    b"\x76\xa9\x14" + key_hash + b"\x88\xac",
                )

            return p2pkh
        encode_v1 = segwit_encoder(network.hrp, 1, 32).encode

        def p2tr(index: int, pubkey: bytes) -> DerivedAddress:
            output_key = self._taproot().output_key(pubkey, index)
            return DerivedAddress(index, encode_v1(output_key), b"\x51\x20" + output_key)

        return p2tr

    def _taproot(self) -> TaprootTweaker:
        tweaker = self._tweaker
        if tweaker is None:
            tweaker = self._tweaker = TaprootTweaker()
        return tweaker
