"""What every address deriver shares: one receive-chain node, its children, ranges."""

from __future__ import annotations

from abc import ABC, abstractmethod

from chains.base import DerivedAddress, KeyFormatError
from chains.hd.bip32 import HARDENED, ExtendedPublicKey, InvalidChildIndex
from chains.hd.child_keys import ChildKeyDeriver


class ReceiveChain(ABC):
    """Base of the chain-specific derivers: subclasses turn a child public key into an
    address (``_build``) and say whether they want it compressed."""

    __slots__ = ("_children", "_keyspace", "_node")
    _compressed = True

    def __init__(self, node: ExtendedPublicKey) -> None:
        self._node = node
        self._keyspace = node.keyspace_id()
        self._children: ChildKeyDeriver | None = None

    @property
    def keyspace(self) -> str:
        """hash160(receive-node pubkey || chain code), hex: chains sharing it share indexes."""
        return self._keyspace

    @property
    def receive_node(self) -> ExtendedPublicKey:
        return self._node

    @abstractmethod
    def _build(self, index: int, pubkey: bytes) -> DerivedAddress:
        """The address (and script) of the child key ``pubkey`` at ``index``."""

    def _child_keys(self) -> ChildKeyDeriver:
        children = self._children
        if children is None:
            children = self._children = ChildKeyDeriver(self._node)
        return children

    def derive(self, index: int) -> DerivedAddress:
        """Address ``index``; raises ``InvalidChildIndex`` if BIP-32 skips it (take the next)."""
        return self._build(index, self._child_keys().child_pubkey(index, self._compressed))

    def derive_many(self, start: int, count: int) -> list[DerivedAddress]:
        """Addresses ``start .. start+count-1``; BIP-32-invalid indexes (odds < 2^-127) are
        left out, so check ``.index`` rather than assuming positions."""
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise KeyFormatError("start must be a non-negative integer")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise KeyFormatError("count must be a non-negative integer")
        if start + count > HARDENED:
            raise KeyFormatError("derive_many would run past index 2^31 - 1")
        child_pubkey = self._child_keys().child_pubkey
        build, compressed = self._build, self._compressed
        out: list[DerivedAddress] = []
        for index in range(start, start + count):
            try:
                out.append(build(index, child_pubkey(index, compressed)))
            except InvalidChildIndex:
                continue
        return out
