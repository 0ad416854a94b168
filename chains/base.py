"""What every chain adapter offers the daemon, whatever the chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chains.errors import FormatError


class KeyFormatError(FormatError):
    """An extended key, descriptor or address that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class DerivedAddress:
    """One receive address at one index of the merchant's key.

    ``script`` is what a watcher matches on: the scriptPubKey for Bitcoin-family
    chains, the 20 address bytes for EVM chains.
    """

    index: int
    address: str
    script: bytes


class AddressDeriver(Protocol):
    """Derives receive addresses from the merchant's public key material."""

    @property
    def keyspace(self) -> str:
        """A stable identity of the key (chains sharing it share one index sequence)."""
        ...

    def derive(self, index: int) -> DerivedAddress: ...

    def derive_many(self, start: int, count: int) -> list[DerivedAddress]: ...
