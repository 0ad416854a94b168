"""A chain model in memory, for property tests of the watcher engine.

It implements :class:`chains.watching.ChainSource` the way a node behaves (best
chain by height, reorgs that replace blocks, a mempool whose transactions are
mined, replaced or dropped) so that hypothesis can try thousands of histories.
The adapters themselves are tested against real nodes (anvil, litecoind).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from chains.watching import (
    BlockHeader,
    BlockNotFound,
    ChainUnavailable,
    EndpointHealth,
    MempoolView,
    Payment,
    ScannedBlock,
)


@dataclass
class ModelBlock:
    header: BlockHeader
    payments: list[Payment]


@dataclass
class ModelChain:
    with_mempool: bool = True
    blocks: list[ModelBlock] = field(default_factory=list)
    pool: dict[str, list[Payment]] = field(default_factory=dict)
    finalized_depth: int | None = None
    failing: bool = False
    calls: int = 0
    _nonce: int = 0
    _news: asyncio.Event | None = None

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks.append(ModelBlock(self._header(0, "00" * 32), []))

    def _header(self, height: int, parent: str) -> BlockHeader:
        self._nonce += 1
        digest = hashlib.sha256(f"{parent}:{height}:{self._nonce}".encode()).hexdigest()
        return BlockHeader(height, digest, parent, 1_700_000_000 + height * 10)

    # --- driving the model -------------------------------------------------

    def send(self, tx_hash: str, payments: list[Payment]) -> None:
        self.pool[tx_hash] = payments

    def mine(self, tx_hashes: Sequence[str] | None = None) -> ModelBlock:
        chosen = list(self.pool) if tx_hashes is None else list(tx_hashes)
        payments = [p for tx in chosen for p in self.pool.pop(tx)]
        tip = self.blocks[-1].header
        block = ModelBlock(self._header(tip.height + 1, tip.hash), payments)
        self.blocks.append(block)
        return block

    def reorg(self, depth: int, *, back_to_pool: bool) -> list[str]:
        """Drop the top ``depth`` blocks; their transactions return to the mempool
        (Bitcoin) or vanish (anvil). Returns the dropped transactions."""
        depth = min(depth, len(self.blocks) - 1)
        dropped = self.blocks[len(self.blocks) - depth :]
        del self.blocks[len(self.blocks) - depth :]
        txs: dict[str, list[Payment]] = {}
        for block in dropped:
            for p in block.payments:
                txs.setdefault(p.tx_hash, []).append(p)
        if back_to_pool:
            self.pool.update(txs)
        return list(txs)

    def live_payments(self) -> dict[tuple[str, int], tuple[Payment, int | None]]:
        """Every payment on the best chain (with its height) and in the mempool."""
        found: dict[tuple[str, int], tuple[Payment, int | None]] = {}
        for block in self.blocks:
            for p in block.payments:
                found[(p.tx_hash, p.index)] = (p, block.header.height)
        if self.with_mempool:
            for payments in self.pool.values():
                for p in payments:
                    found[(p.tx_hash, p.index)] = (p, None)
        return found

    # --- ChainSource --------------------------------------------------------

    def _call(self) -> None:
        self.calls += 1
        if self.failing:
            raise ChainUnavailable("model node is down")

    async def tip(self) -> BlockHeader:
        self._call()
        return self.blocks[-1].header

    async def finalized_height(self) -> int | None:
        self._call()
        if self.finalized_depth is None:
            return None
        return max(self.blocks[-1].header.height - self.finalized_depth, 0)

    async def headers(self, heights: Sequence[int]) -> list[BlockHeader]:
        self._call()
        if any(h >= len(self.blocks) or h < 0 for h in heights):
            raise BlockNotFound(f"no block at one of {list(heights)}")
        return [self.blocks[h].header for h in heights]

    async def scan(self, first: int, last: int, watched: Collection[bytes]) -> list[ScannedBlock]:
        self._call()
        if last >= len(self.blocks):
            raise BlockNotFound(f"no block {last}")
        return [
            ScannedBlock(b.header, tuple(p for p in b.payments if p.script in watched))
            for b in self.blocks[first : last + 1]
        ]

    async def mempool(self, watched: Collection[bytes]) -> MempoolView | None:
        self._call()
        if not self.with_mempool:
            return None
        payments = tuple(p for ps in self.pool.values() for p in ps if p.script in watched)
        return MempoolView(frozenset(self.pool), payments)

    async def wait_for_news(self, timeout: float) -> None:
        await asyncio.sleep(min(timeout, 0.01))

    def health(self) -> list[EndpointHealth]:
        return [EndpointHealth("model://", not self.failing)]

    async def aclose(self) -> None:
        return None
