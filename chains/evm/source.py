"""`EvmSource`: an EVM chain's blocks and payments over JSON-RPC (a ChainSource).

Per scanned range, on the preferred endpoint, in as few round trips as the
node allows:

1. one JSON-RPC batch: ``eth_getBlockByNumber(h, true)`` for every height, one
   ``eth_getLogs`` over the whole range for the configured token contracts and
   the ``Transfer`` topic, and (where the node has a trace API, detected once)
   one ``trace_block`` / ``debug_traceBlockByNumber`` per block;
2. only when a transaction sends native coin to a watched address and no trace
   told its outcome (the top frame's error): its receipt (failed transactions
   never count), so receipt calls grow with matches, not with watched addresses.

Blocks must link by parent hash and every log must belong to the block fetched
at its height, otherwise the chain moved under us and ``BlockNotFound`` is raised.

With a WebSocket (``ws_url``), its ``newHeads`` are the trigger and polling is a
slow safety net (:mod:`chains.evm.news`).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chains.endpoints import EndpointPool
from chains.evm.extraction import (
    TRANSFER_TOPIC,
    NativeCandidate,
    header_of,
    internal_from_call_tracer,
    internal_from_parity,
    native_candidates,
    token_payments,
    traced_txs,
)
from chains.evm.newheads import NewHeads
from chains.evm.news import news_timeout
from chains.jsonrpc import JsonRpcClient, RpcError
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

TRACE_PARITY = "trace_block"
TRACE_CALL_TRACER = "debug_traceBlockByNumber"
# A socket silent for this many block times is not relied on: polling as without one.


@dataclass(frozen=True)
class EvmSourceSettings:
    native_symbol: str
    tokens: Mapping[str, str] = field(default_factory=dict)  # contract (any case) -> symbol
    block_time: float = 12.0
    trace_api: str = "auto"  # auto (detect once) | trace_block | debug_traceBlockByNumber | none
    max_range: int = 100  # blocks per eth_getLogs / batch


class EvmSource:
    """A ChainSource for one EVM chain behind one or more JSON-RPC endpoints."""

    def __init__(
        self,
        pool: EndpointPool[JsonRpcClient],
        settings: EvmSourceSettings,
        *,
        ws_url: str | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.tokens = {c.lower(): s for c, s in settings.tokens.items()}
        self.poll_interval = poll_interval
        self.newheads = NewHeads(ws_url, poll_interval=poll_interval) if ws_url else None
        api = settings.trace_api
        if api not in ("auto", "none", TRACE_PARITY, TRACE_CALL_TRACER):
            raise ValueError(f"unknown trace API {api!r}")
        self.trace_method: str | None = api if api in (TRACE_PARITY, TRACE_CALL_TRACER) else None
        self._trace_detected = api != "auto"
        self._tip: BlockHeader | None = None  # the last tip the HTTP endpoints showed

    # --- heads -------------------------------------------------------------------

    async def tip(self) -> BlockHeader:
        self._tip = await self.pool.refresh(_latest)
        return self._tip

    async def finalized_height(self) -> int | None:
        async def ask(client: JsonRpcClient) -> int | None:
            try:
                block = await client.call("eth_getBlockByNumber", ["finalized", False])
            except RpcError:
                return None
            return None if block is None else int(block["number"], 16)

        return await self.pool.run(ask)

    async def headers(self, heights: Sequence[int]) -> list[BlockHeader]:
        async def ask(client: JsonRpcClient) -> list[BlockHeader]:
            answers = await client.batch(
                [("eth_getBlockByNumber", [hex(h), False]) for h in heights]
            )
            return [_block_header(a, h) for a, h in zip(answers, heights, strict=True)]

        return await self.pool.run(ask)

    # --- payments ----------------------------------------------------------------

    async def scan(self, first: int, last: int, watched: Collection[bytes]) -> list[ScannedBlock]:
        out: list[ScannedBlock] = []
        for start in range(first, last + 1, self.settings.max_range):
            end = min(last, start + self.settings.max_range - 1)
            part = await self.pool.run(
                functools.partial(self._scan, first=start, last=end, watched=watched)
            )
            if out and part and part[0].header.parent_hash != out[-1].header.hash:
                raise BlockNotFound(f"block {start} does not link to block {start - 1}")
            out.extend(part)
        return out

    async def _scan(
        self, client: JsonRpcClient, first: int, last: int, watched: Collection[bytes]
    ) -> list[ScannedBlock]:
        if not self._trace_detected:
            await self._detect_traces(client, first)
        heights = range(first, last + 1)
        calls: list[tuple[str, Sequence[object]]] = [
            ("eth_getBlockByNumber", [hex(h), True]) for h in heights
        ]
        if self.tokens:
            query = {
                "fromBlock": hex(first),
                "toBlock": hex(last),
                "address": sorted(self.tokens),
                "topics": [TRANSFER_TOPIC],
            }
            calls.append(("eth_getLogs", [query]))
        if self.trace_method == TRACE_PARITY:
            calls.extend((TRACE_PARITY, [hex(h)]) for h in heights)
        elif self.trace_method == TRACE_CALL_TRACER:
            calls.extend((TRACE_CALL_TRACER, [hex(h), {"tracer": "callTracer"}]) for h in heights)
        answers = await client.batch(calls)
        n = len(heights)
        blocks = [_ok(b, "eth_getBlockByNumber") for b in answers[:n]]
        headers = [_block_header(b, h) for b, h in zip(blocks, heights, strict=True)]
        for prev, cur in itertools.pairwise(headers):
            if cur.parent_hash != prev.hash:
                raise BlockNotFound(f"block {cur.height} does not link to block {prev.height}")
        payments: dict[str, list[Payment]] = {h.hash: [] for h in headers}
        candidates: list[tuple[str, NativeCandidate]] = []
        for block, header in zip(blocks, headers, strict=True):
            candidates.extend((header.hash, c) for c in native_candidates(block, watched))
        pos = n
        if self.tokens:
            logs = _ok(answers[pos], "eth_getLogs")
            pos += 1
            for block_hash, payment in token_payments(logs, self.tokens, watched):
                bucket = payments.get(block_hash)
                if bucket is None:
                    raise BlockNotFound(f"a log of block {block_hash} is not on the fetched chain")
                bucket.append(payment)
        traced: set[str] = set()
        failed: set[str] = set()
        if self.trace_method is not None:
            method = self.trace_method
            for header, answer in zip(headers, answers[pos : pos + n], strict=True):
                traces = _ok(answer, method)
                payments[header.hash].extend(self._internal(traces, watched))
                seen, bad = traced_txs(traces, method == TRACE_CALL_TRACER)
                traced |= seen
                failed |= bad
        symbol = self.settings.native_symbol
        unknown = []
        for block_hash, c in candidates:
            if c.tx_hash not in traced:
                unknown.append((block_hash, c))  # no trace API: ask its receipt
            elif c.tx_hash not in failed:
                payments[block_hash].append(Payment(c.tx_hash, -1, c.script, symbol, c.amount))
        if unknown:
            await self._confirm_natives(client, unknown, payments)
        return [
            ScannedBlock(h, tuple(sorted(payments[h.hash], key=_payment_order))) for h in headers
        ]

    def _internal(self, traces: Any, watched: Collection[bytes]) -> list[Payment]:
        symbol = self.settings.native_symbol
        if self.trace_method == TRACE_PARITY:
            return internal_from_parity(traces, watched, symbol)
        return internal_from_call_tracer(traces, watched, symbol)

    async def _confirm_natives(
        self,
        client: JsonRpcClient,
        candidates: Sequence[tuple[str, NativeCandidate]],
        payments: dict[str, list[Payment]],
    ) -> None:
        unique = list(dict.fromkeys(c.tx_hash for _, c in candidates))
        receipts = await client.batch([("eth_getTransactionReceipt", [h]) for h in unique])
        status: dict[str, bool] = {}
        for tx_hash, answer in zip(unique, receipts, strict=True):
            receipt = _ok(answer, "eth_getTransactionReceipt")
            if receipt is None:
                raise BlockNotFound(f"transaction {tx_hash} has no receipt (the chain moved)")
            status[tx_hash] = receipt.get("status", "0x1") == "0x1"  # none before Byzantium
            if receipt.get("blockHash") not in payments:
                raise BlockNotFound(f"transaction {tx_hash} moved to another block")
        symbol = self.settings.native_symbol
        for block_hash, c in candidates:
            if status[c.tx_hash]:
                payments[block_hash].append(Payment(c.tx_hash, -1, c.script, symbol, c.amount))

    async def _detect_traces(self, client: JsonRpcClient, height: int) -> None:
        """Ask once which trace API the node has (none is fine: the balance check covers)."""
        probes: list[tuple[str, Sequence[object]]] = [
            (TRACE_PARITY, [hex(height)]),
            (TRACE_CALL_TRACER, [hex(height), {"tracer": "callTracer"}]),
        ]
        for method, params in probes:
            try:
                result = await client.call(method, params)
            except RpcError:
                continue
            if isinstance(result, list):
                self.trace_method = method
                break
        self._trace_detected = True

    async def balances(self, scripts: Sequence[bytes], height: int) -> dict[bytes, int]:
        """Native balances of ``scripts`` at block ``height``, in batched calls."""
        return await self._per_address("eth_getBalance", scripts, height)

    async def nonces(self, scripts: Sequence[bytes], height: int) -> dict[bytes, int]:
        """Transactions sent by each of ``scripts`` up to block ``height`` (batched)."""
        return await self._per_address("eth_getTransactionCount", scripts, height)

    async def _per_address(
        self, method: str, scripts: Sequence[bytes], height: int
    ) -> dict[bytes, int]:
        async def ask(client: JsonRpcClient) -> dict[bytes, int]:
            answers = await client.batch([(method, ["0x" + s.hex(), hex(height)]) for s in scripts])
            pairs = zip(scripts, answers, strict=True)
            return {s: int(_ok(a, method), 16) for s, a in pairs}

        return await self.pool.run(ask)

    async def locate(self, tx_hash: str, height_hint: int | None = None) -> TxLocation | None:
        async def ask(client: JsonRpcClient) -> TxLocation | None:
            try:
                tx = await client.call("eth_getTransactionByHash", [tx_hash])
            except RpcError:
                return None  # a malformed hash: no such transaction
            if not isinstance(tx, dict):
                return None
            block = tx.get("blockHash")
            return TxLocation(str(block) if block else None)

        return await self.pool.run(ask)

    # --- the rest of ChainSource ---------------------------------------------------

    async def mempool(self, watched: Collection[bytes]) -> MempoolView | None:
        return None  # EVM payments count from their block on

    async def wait_for_news(self, timeout: float) -> None:
        """Until a new head is announced, or ``timeout`` (the poll interval); while the
        WebSocket is relied on, until a head or the slow safety poll (:meth:`news_timeout`)."""
        timeout = self.news_timeout(timeout)
        if self.newheads is not None:
            await self.newheads.wait(timeout)  # falls back to polling while the socket is down
        else:
            await asyncio.sleep(max(timeout, 0.0))

    def news_timeout(self, poll: float) -> float:
        """How long :meth:`wait_for_news` waits at most (:func:`chains.evm.news.news_timeout`)."""
        return news_timeout(self.newheads, self.pool, self._tip, poll)

    def health(self) -> list[EndpointHealth]:
        out = self.pool.health()
        if self.newheads is not None:
            out.append(self.newheads.health())
        return out

    async def aclose(self) -> None:
        if self.newheads is not None:
            await self.newheads.aclose()
        await self.pool.aclose()
        for client in self.pool.clients:
            await client.aclose()


async def _latest(client: JsonRpcClient) -> BlockHeader:
    try:
        block = await client.call("eth_getBlockByNumber", ["latest", False])
    except RpcError as exc:
        raise ChainUnavailable(f"{client.url}: latest block: {exc}") from None
    if not isinstance(block, dict):
        raise ChainUnavailable(f"{client.url}: no latest block")
    return header_of(block)


def _ok(answer: Any, method: str) -> Any:
    if isinstance(answer, RpcError):
        raise ChainUnavailable(f"{method}: {answer}")
    return answer


def _block_header(answer: Any, height: int) -> BlockHeader:
    if isinstance(answer, RpcError):
        raise ChainUnavailable(f"block {height}: {answer}")
    if answer is None:
        raise BlockNotFound(f"block {height} is not on the node's chain")
    header = header_of(answer)
    if header.height != height:
        raise ChainUnavailable(f"asked for block {height}, got {header.height}")
    return header


def _payment_order(p: Payment) -> tuple[str, int]:
    return (p.tx_hash, p.index)
