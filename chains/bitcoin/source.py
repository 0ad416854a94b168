"""``BitcoinSource``: a :class:`~chains.watching.ChainSource` over Bitcoin Core's JSON-RPC.

Bitcoin and Litecoin by the same code (Litecoin Core speaks the same RPC). Blocks are
fetched raw (``getblock <hash> 0``) in batched requests, the next batch already in
flight while the current one is parsed (off the event loop when it is large), and every
output is matched by its scriptPubKey bytes against the watched set: never by an
address string, which node versions print differently.

The mempool is polled with ``getrawmempool``; only transactions not seen before are
fetched (``getrawtransaction``, batched), and ZMQ ``rawtx`` messages fill the same cache
so a transaction announced there is never fetched at all. ZMQ ``hashblock`` wakes the
watcher at once; without ZMQ, or when it goes quiet, the watcher's polls carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from chains.bitcoin.mempool_cache import SeenTransactions
from chains.bitcoin.networks import Network
from chains.bitcoin.node_rpc import BitcoinRpc
from chains.bitcoin.raw_block import RawFormatError, parse_block, parse_transaction
from chains.bitcoin.zmq_feed import ZmqFeed
from chains.endpoints import EndpointPool
from chains.jsonrpc import RpcError
from chains.waiting import wait_for_any
from chains.watching import (
    BlockHeader,
    BlockNotFound,
    ChainUnavailable,
    EndpointHealth,
    MempoolView,
    Payment,
    ScannedBlock,
    TxLocation,
)

log = logging.getLogger(__name__)

R = TypeVar("R")
_HINTS_KEPT = 10_000
_THREAD_THRESHOLD = 400_000  # hex characters: parse bigger batches in a worker thread


class BitcoinSource:
    """One Bitcoin-family chain served by one or more nodes (failover in configured order)."""

    def __init__(
        self,
        nodes: Sequence[BitcoinRpc],
        *,
        network: Network,
        asset: str,
        zmq: str | None = None,
        blocks_per_request: int = 8,
        mempool_cache: int = 300_000,
        zmq_quiet_after: float | None = None,
        mempool_hinted_only: bool = False,
        block_time: float | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        if blocks_per_request < 1:
            raise ValueError("blocks_per_request must be at least 1")
        self.network = network
        self.asset = asset
        self._nodes = list(nodes)
        self._pool: EndpointPool[BitcoinRpc] = EndpointPool(
            self._nodes,
            [n.url for n in self._nodes],
            block_time=block_time or network.block_interval,
            poll_interval=poll_interval,
            name=asset,
        )
        self._info: dict[int, dict[str, Any]] = {}
        self._blocks_per_request = blocks_per_request
        self._seen = SeenTransactions(mempool_cache)
        self._watched: Collection[bytes] = ()
        self._news = asyncio.Event()
        self._zmq = ZmqFeed(zmq, on_block=self._zmq_block, on_tx=self._zmq_tx) if zmq else None
        self._zmq_quiet_after = zmq_quiet_after or 2.0 * network.block_interval
        self._last_tip: str | None = None
        self.zmq_missed_blocks = 0  # new tips found by polling that ZMQ had not announced
        self._zmq_behind = False
        # Behind a metered gateway (Tatum) the mempool's transactions are not all fetched:
        # only those a notification named (see :meth:`hint`).
        self._hinted_only = mempool_hinted_only
        self._hinted: dict[str, None] = {}

    # --- ChainSource ---------------------------------------------------------------

    async def tip(self) -> BlockHeader:
        async def probe(node: BitcoinRpc) -> BlockHeader:
            header, info = await node.best_header()
            self._info[self._nodes.index(node)] = info
            return header

        head = await self._pool.refresh(probe)
        if head.hash != self._last_tip:
            zmq = self._zmq
            if self._last_tip is not None and zmq is not None and zmq.last_block != head.hash:
                self.zmq_missed_blocks += 1
                self._zmq_behind = True  # polling found a block ZMQ had not announced
            self._last_tip = head.hash
        return head

    async def finalized_height(self) -> int | None:
        return None  # proof of work: depth is the only finality

    async def headers(self, heights: Sequence[int]) -> list[BlockHeader]:
        async def op(node: BitcoinRpc) -> list[BlockHeader]:
            return await node.headers(await node.block_hashes(heights))

        return await self._pool.run(op)

    async def scan(self, first: int, last: int, watched: Collection[bytes]) -> list[ScannedBlock]:
        self._watched = watched
        heights = list(range(first, last + 1))
        if not heights:
            return []

        async def op(node: BitcoinRpc) -> list[ScannedBlock]:
            hashes = await node.block_hashes(heights)
            return await self._fetch(node, heights, hashes, watched)

        return await self._pool.run(op)

    async def mempool(self, watched: Collection[bytes]) -> MempoolView:
        self._watched = watched

        async def op(node: BitcoinRpc) -> MempoolView:
            txids = await node.call("getrawmempool")
            if not isinstance(txids, list):
                raise ChainUnavailable(f"{node.url}: getrawmempool: unexpected answer")
            await self._fetch_unseen(node, [str(t) for t in txids])
            current = frozenset(str(t) for t in txids)
            self._seen.retain(current)
            payments = self._seen.payments(current, watched, self.asset)
            return MempoolView(current, tuple(payments))

        return await self._pool.run(op)

    async def locate(self, tx_hash: str, height_hint: int | None = None) -> TxLocation | None:
        async def op(node: BitcoinRpc) -> TxLocation | None:
            found = await node.transaction(tx_hash)
            if found is None and height_hint is not None:
                try:
                    (block,) = await node.block_hashes([height_hint])
                except BlockNotFound:
                    return None
                found = await node.transaction(tx_hash, block)
            if found is None:
                return None
            block_hash = found.get("blockhash")
            return TxLocation(str(block_hash) if block_hash else None)

        return await self._pool.run(op)

    async def wait_for_news(self, timeout: float) -> None:
        recheck = self._pool.recheck_in()  # an endpoint's lag is judged sooner than a poll
        if recheck is not None:
            timeout = min(timeout, recheck)
        if self._zmq is None:
            await asyncio.sleep(timeout)
            return
        self._zmq.start()
        await wait_for_any(self._news, timeout=timeout)
        self._news.clear()

    def health(self) -> list[EndpointHealth]:
        out = []
        for i, entry in enumerate(self._pool.health()):
            extra = dict(entry.extra)
            info = self._info.get(i)
            healthy, error = entry.healthy, entry.error
            if info is not None:
                extra["blocks"] = str(info.get("blocks"))
                extra["headers"] = str(info.get("headers"))
                if info.get("initialblockdownload"):
                    healthy = False
                    error = error or (
                        f"initial block download: {info.get('blocks')} of "
                        f"{info.get('headers')} headers"
                    )
                    extra["initialblockdownload"] = "true"
            if self._zmq is not None:
                extra.update(self._zmq.health(self._zmq_quiet_after, self._zmq_behind))
                extra["zmq_missed_blocks"] = str(self.zmq_missed_blocks)
            out.append(replace(entry, healthy=healthy, error=error, extra=extra))
        return out

    async def aclose(self) -> None:
        if self._zmq is not None:
            await self._zmq.aclose()
        await self._pool.aclose()
        for node in self._nodes:
            await node.aclose()

    async def on_node(self, op: Callable[[BitcoinRpc], Awaitable[R]]) -> R:
        """Run ``op`` on the preferred node, failing over as every call here does."""
        return await self._pool.run(op)

    # --- blocks --------------------------------------------------------------------

    async def _fetch(
        self,
        node: BitcoinRpc,
        heights: list[int],
        hashes: list[str],
        watched: Collection[bytes],
    ) -> list[ScannedBlock]:
        step = self._blocks_per_request
        chunks = [
            (heights[i : i + step], hashes[i : i + step]) for i in range(0, len(heights), step)
        ]

        def request(chunk_hashes: list[str]) -> asyncio.Task[list[Any]]:
            return asyncio.ensure_future(
                node.batch_strict("getblock", [[h, 0] for h in chunk_hashes])
            )

        scanned: list[ScannedBlock] = []
        pending = request(chunks[0][1])
        try:
            for n, (chunk_heights, chunk_hashes) in enumerate(chunks):
                raws = await pending
                if n + 1 < len(chunks):
                    pending = request(chunks[n + 1][1])  # in flight while this one is parsed
                args = (chunk_heights, chunk_hashes, raws, watched)
                if sum(len(r) for r in raws) > _THREAD_THRESHOLD:
                    blocks = await asyncio.to_thread(self._parse_chunk, *args)
                else:
                    blocks = self._parse_chunk(*args)
                for block in blocks:
                    if scanned and block.header.parent_hash != scanned[-1].header.hash:
                        raise BlockNotFound(
                            f"block {block.header.height} does not build on the one before it: "
                            "the chain moved during the scan"
                        )
                    scanned.append(block)
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, ChainUnavailable):
                    await pending
        return scanned

    def _parse_chunk(
        self,
        heights: list[int],
        hashes: list[str],
        raws: list[Any],
        watched: Collection[bytes],
    ) -> list[ScannedBlock]:
        return [
            self._parse_one(height, expected, raw, watched)
            for height, expected, raw in zip(heights, hashes, raws, strict=True)
        ]

    def _parse_one(
        self, height: int, expected: str, raw_hex: Any, watched: Collection[bytes]
    ) -> ScannedBlock:
        try:
            block = parse_block(bytes.fromhex(raw_hex))
        except (RawFormatError, ValueError, TypeError) as exc:
            raise ChainUnavailable(f"block {height} ({expected}): {exc}") from None
        if block.header.hash != expected:
            raise ChainUnavailable(f"asked for block {expected}, the node sent {block.header.hash}")
        txs = block.transactions
        scripts, values = txs.scripts, txs.values
        payments = tuple(
            Payment(
                txs.txid(txs.output_tx[k]), txs.output_index[k], scripts[k], self.asset, values[k]
            )
            for k in txs.matching(watched)
            if values[k] > 0
        )
        header = block.header
        return ScannedBlock(
            BlockHeader(height, header.hash, header.parent_hash, header.timestamp), payments
        )

    # --- mempool and ZMQ -----------------------------------------------------------

    def hint(self, txid: str) -> None:
        """Fetch this mempool transaction at the next poll (``mempool_hinted_only``)."""
        self._hinted[txid] = None
        while len(self._hinted) > _HINTS_KEPT:
            del self._hinted[next(iter(self._hinted))]

    async def _fetch_unseen(self, node: BitcoinRpc, txids: list[str]) -> None:
        missing = [t for t in txids if t not in self._seen]
        if self._hinted_only:
            missing = [t for t in missing if t in self._hinted]
        if not missing:
            return
        answers = await node.batch([("getrawtransaction", [t, False]) for t in missing])
        for txid, answer in zip(missing, answers, strict=True):
            if isinstance(answer, RpcError):
                continue  # it left the mempool since getrawmempool
            try:
                parsed = parse_transaction(bytes.fromhex(answer))
            except (RawFormatError, ValueError, TypeError) as exc:
                log.warning("mempool transaction %s not parsed (%s); ignored", txid, exc)
                self._seen.add(txid, ((), ()))
                continue
            self._seen.add_parsed(parsed)

    def _zmq_block(self, block_hash: str) -> None:
        if block_hash:
            self._zmq_behind = False
        self._news.set()

    def _zmq_tx(self, raw: bytes) -> None:
        try:
            parsed = parse_transaction(raw)
        except RawFormatError:
            return  # e.g. a Litecoin MWEB transaction: the mempool poll still sees it
        (txid,) = self._seen.add_parsed(parsed)
        if self._seen.pays(txid, self._watched):
            self._news.set()
