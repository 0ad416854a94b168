"""What a chain adapter gives the watcher: block headers and the payments in them.

Every chain family (Bitcoin Core RPC, EVM JSON-RPC, Tatum's gateway) implements
:class:`ChainSource`; the daemon's watcher engine drives it, keeps the cursor,
handles reorgs and confirmations, and never sees a chain's own formats.

Matching happens here, in the adapter, against a set of watched scripts (the
20 address bytes on EVM chains, the scriptPubKey on Bitcoin-family chains), so
the cost of a block never grows with the number of watched addresses.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from chains.errors import ChainError


class ChainUnavailable(ChainError):
    """No endpoint of the chain answered usefully; the watcher retries later."""


class BlockNotFound(ChainUnavailable):
    """A block asked for by height or hash is not (or no longer) on the node's chain."""


@dataclass(frozen=True, slots=True)
class BlockHeader:
    height: int
    hash: str  # as the node prints it (hex, lowercase; EVM with 0x)
    parent_hash: str
    timestamp: int  # unix seconds


@dataclass(frozen=True, slots=True)
class Payment:
    """A value transfer to a watched script, found in a block or the mempool.

    ``(tx_hash, index)`` is the payment's identity, the same wherever the
    transaction is mined: ``index`` is the output index (Bitcoin), the ordinal of
    an ERC-20 ``Transfer`` among its transaction's ``Transfer`` logs of the
    configured token contracts (0, 1, … in log order), -1 for a native EVM
    transaction's value, and ``-2 - n`` for the n-th internal (contract-sent)
    native transfer of a transaction.

    ``log_index`` is where the node reports an ERC-20 transfer in its block (the
    block-wide log index, which changes when the transaction is mined in another
    block); None for every other kind.
    """

    tx_hash: str
    index: int
    script: bytes
    asset: str  # the asset symbol as configured for the chain
    amount: int  # base units, > 0
    log_index: int | None = None


@dataclass(frozen=True, slots=True)
class ScannedBlock:
    header: BlockHeader
    payments: tuple[Payment, ...] = ()


@dataclass(frozen=True, slots=True)
class MempoolView:
    """Unconfirmed payments, for chains whose mempool counts (Bitcoin family).

    ``txids`` is every transaction in the node's mempool now (so the engine can
    tell that an unconfirmed payment was replaced or dropped); ``payments`` are
    the payments to watched scripts among them.
    """

    txids: frozenset[str]
    payments: tuple[Payment, ...] = ()


@dataclass(frozen=True, slots=True)
class TxLocation:
    """Where a node has a transaction: in a block (``block_hash``) or in its mempool."""

    block_hash: str | None  # None: unconfirmed

    @property
    def confirmed(self) -> bool:
        return self.block_hash is not None


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    url: str  # never carries credentials
    healthy: bool
    head_height: int | None = None
    head_age_seconds: float | None = None
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class ChainSource(Protocol):
    """One chain's data. All methods may raise :class:`ChainUnavailable`."""

    async def tip(self) -> BlockHeader:
        """The best block of the healthiest endpoint."""
        ...

    async def finalized_height(self) -> int | None:
        """The node's finalized block height, or None where the chain has no such tag."""
        ...

    async def headers(self, heights: Sequence[int]) -> list[BlockHeader]:
        """Headers at these heights on the node's current best chain (batched)."""
        ...

    async def scan(self, first: int, last: int, watched: Collection[bytes]) -> list[ScannedBlock]:
        """Blocks ``first..last`` inclusive, in order, with their payments to ``watched``.

        Fetched in batches; the blocks must link by parent hash, otherwise raise
        :class:`BlockNotFound` (the chain moved under us; the engine retries).
        """
        ...

    async def mempool(self, watched: Collection[bytes]) -> MempoolView | None:
        """Unconfirmed payments, or None where the chain's mempool is not watched."""
        ...

    async def wait_for_news(self, timeout: float) -> None:
        """Return when a new block or transaction may be there (WebSocket newHeads,
        ZMQ), or after ``timeout`` seconds (polling)."""
        ...

    def health(self) -> list[EndpointHealth]:
        """What each endpoint last looked like (for ``chain status``, metrics, readyz)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class TransactionLookup(Protocol):
    """Sources that can check a single transaction (to verify a notification's hint).

    Both adapters' sources implement it; a source without it gets no hints (its chain is
    polled)."""

    async def locate(self, tx_hash: str, height_hint: int | None = None) -> TxLocation | None:
        """Where the node has ``tx_hash``, or None when it knows no such transaction.

        ``height_hint`` is the block the hint names; nodes without a transaction index
        find a confirmed transaction only through it."""
        ...


@runtime_checkable
class MempoolHints(Protocol):
    """Sources that can be told of a mempool transaction to fetch (Bitcoin family: over a
    metered gateway only the transactions notified are fetched)."""

    def hint(self, txid: str) -> None: ...
