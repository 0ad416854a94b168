"""Booked EVM transfers read back from the node (see :mod:`chains.reconciliation`).

Per chunk of transfers, in JSON-RPC batches on the preferred endpoint:

1. ``eth_getBlockByNumber(h, false)`` once per booked height: the booked block hash
   must be the node's block there (else: reorged away, or above the node's tip;
   then ``eth_getTransactionByHash`` says where the transaction is now);
2. ``eth_getTransactionReceipt`` once per transaction (and ``eth_getTransactionByHash``
   for native ones): in the booked block, succeeded, and
   - native (index -1): ``to`` is the order's address and ``value`` the amount;
   - ERC-20 (index n >= 0): the n-th ``Transfer`` log of the configured token contracts
     in the receipt (the ordinal :func:`chains.evm.extraction.token_payments` counts)
     pays the order's address that amount of that token, at the booked log index;
   - internal (index -2-n): the transaction's trace (``debug_traceTransaction`` with the
     call tracer, else ``trace_transaction``) has that n-th internal transfer to the
     address with that amount; without a trace API only block and receipt are checked;
3. balance-check transfers (``balance:<address>``, no transaction): the amount can be
   no more than the address's balance at the booked block (``eth_getBalance``); what
   sent it is not known, so nothing more is checkable.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from chains.evm.extraction import TRANSFER_TOPIC, internal_from_call_tracer, internal_from_parity
from chains.evm.source import EvmSource
from chains.jsonrpc import JsonRpcClient, RpcError
from chains.reconciliation import (
    ADDRESS_DIFFERS,
    AMOUNT_DIFFERS,
    ASSET_DIFFERS,
    FAILED,
    LOG_INDEX_DIFFERS,
    OUTPUT_MISSING,
    TX_MISSING,
    UNCHECKED,
    Booked,
    Finding,
    Progress,
    by_block,
    ok,
    where_now,
)
from chains.watching import ChainUnavailable

BALANCE_PREFIX = "balance:"
CHUNK = 2000  # transfers per round of batches


class EvmReconciler:
    """A :class:`chains.reconciliation.Reconciler` over an :class:`EvmSource`."""

    def __init__(self, source: EvmSource) -> None:
        self.source = source
        self.tokens = source.tokens  # lowercase contract -> symbol
        self.native = source.settings.native_symbol
        self._traces: str | bool | None = False  # False: not asked yet; None: no trace API

    @property
    def calls_sent(self) -> int:
        return sum(client.calls_sent for client in self.source.pool.clients)

    async def check(self, transfers: Sequence[Booked], progress: Progress) -> list[Finding]:
        found: dict[int, Finding] = {}
        for start in range(0, len(transfers), CHUNK):
            chunk = transfers[start : start + CHUNK]
            checked = await self.source.pool.run(functools.partial(self._chunk, transfers=chunk))
            for finding in checked:
                found[finding.transfer.seq] = finding
            progress(len(chunk))
        return [found[t.seq] for t in transfers]

    async def _chunk(self, client: JsonRpcClient, transfers: Sequence[Booked]) -> list[Finding]:
        heights = sorted({t.block_height for t in transfers})
        blocks = await client.batch([("eth_getBlockByNumber", [hex(h), False]) for h in heights])
        hashes: dict[int, str | None] = {}
        for height, block in zip(heights, blocks, strict=True):
            if isinstance(block, RpcError):
                raise ChainUnavailable(f"eth_getBlockByNumber {height}: {block}")
            hashes[height] = block["hash"] if isinstance(block, dict) else None
        placed, findings = by_block(transfers, hashes)
        findings = await self._where_now(client, findings)
        balance = [t for t in placed if t.tx_hash.startswith(BALANCE_PREFIX)]
        on_tx = [t for t in placed if not t.tx_hash.startswith(BALANCE_PREFIX)]
        findings += await self._balances(client, balance)
        findings += await self._transactions(client, on_tx)
        return findings

    async def _where_now(self, client: JsonRpcClient, moved: list[Finding]) -> list[Finding]:
        txs = [f for f in moved if not f.transfer.tx_hash.startswith(BALANCE_PREFIX)]
        answers = await client.batch(
            [("eth_getTransactionByHash", [f.transfer.tx_hash]) for f in txs]
        )
        told = {id(f): a for f, a in zip(txs, answers, strict=True)}
        out = []
        for f in moved:
            tx = told.get(id(f))
            if id(f) not in told:
                out.append(f)
            elif isinstance(tx, dict):
                height = int(tx["blockNumber"], 16) if tx.get("blockNumber") else None
                out.append(where_now(f, tx.get("blockHash"), height, True))
            else:
                out.append(where_now(f, None, None, False))
        return out

    async def _balances(self, client: JsonRpcClient, transfers: list[Booked]) -> list[Finding]:
        answers = await client.batch(
            [("eth_getBalance", ["0x" + t.script.hex(), hex(t.block_height)]) for t in transfers]
        )
        out = []
        for t, answer in zip(transfers, answers, strict=True):
            if isinstance(answer, RpcError):
                raise ChainUnavailable(f"eth_getBalance at {t.block_height}: {answer}")
            balance = int(answer, 16)
            if t.asset.upper() != self.native.upper():
                out.append(Finding(t, ASSET_DIFFERS, f"a balance check credits {self.native} only"))
            elif balance < t.amount:
                out.append(
                    Finding(
                        t,
                        AMOUNT_DIFFERS,
                        f"the balance of {t.address} at block {t.block_height} is {balance}, "
                        f"less than the {t.amount} credited by the balance check",
                    )
                )
            else:
                out.append(
                    Finding(
                        t,
                        UNCHECKED,
                        f"balance check: {t.amount} <= balance {balance} at block "
                        f"{t.block_height}; which transaction sent it is not known",
                    )
                )
        return out

    async def _transactions(self, client: JsonRpcClient, transfers: list[Booked]) -> list[Finding]:
        hashes = list(dict.fromkeys(t.tx_hash for t in transfers))
        natives = list(dict.fromkeys(t.tx_hash for t in transfers if t.index == -1))
        internals = list(dict.fromkeys(t.tx_hash for t in transfers if t.index <= -2))
        calls: list[tuple[str, Sequence[object]]] = [
            ("eth_getTransactionReceipt", [h]) for h in hashes
        ]
        calls += [("eth_getTransactionByHash", [h]) for h in natives]
        answers = await client.batch(calls)
        receipts = dict(zip(hashes, answers[: len(hashes)], strict=True))
        txs = dict(zip(natives, answers[len(hashes) :], strict=True))
        traces = await self._trace(client, internals) if internals else {}
        out = []
        for t in transfers:
            receipt = receipts[t.tx_hash]
            if isinstance(receipt, RpcError):
                raise ChainUnavailable(f"eth_getTransactionReceipt {t.tx_hash}: {receipt}")
            if not isinstance(receipt, dict) or receipt.get("blockHash", "").lower() != (
                t.block_hash.lower()
            ):
                where = receipt.get("blockHash") if isinstance(receipt, dict) else None
                out.append(
                    Finding(
                        t,
                        TX_MISSING,
                        f"transaction {t.tx_hash} is not in block {t.block_hash}"
                        + (f" (the node has it in block {where})" if where else ""),
                    )
                )
            elif receipt.get("status", "0x1") != "0x1":
                out.append(Finding(t, FAILED, f"transaction {t.tx_hash} failed (receipt status 0)"))
            elif t.index == -1:
                out.append(self._native(t, txs[t.tx_hash]))
            elif t.index >= 0:
                out.append(self._token(t, receipt["logs"]))
            else:
                out.append(self._internal(t, traces.get(t.tx_hash)))
        return out

    def _native(self, t: Booked, tx: Any) -> Finding:
        if not isinstance(tx, dict):
            return Finding(t, TX_MISSING, f"the node has a receipt but no transaction {t.tx_hash}")
        to = tx.get("to")
        if to is None or bytes.fromhex(to[2:]) != t.script:
            return Finding(t, ADDRESS_DIFFERS, f"the transaction pays {to}, not {t.address}")
        if t.asset.upper() != self.native.upper():
            return Finding(t, ASSET_DIFFERS, f"the transaction's value is {self.native}")
        value = int(tx["value"], 16)
        if value != t.amount:
            return Finding(t, AMOUNT_DIFFERS, f"the transaction's value is {value}, not {t.amount}")
        return ok(t)

    def _token(self, t: Booked, logs: Sequence[Mapping[str, Any]]) -> Finding:
        counted = sorted(
            (
                log
                for log in logs
                if log["topics"]
                and log["topics"][0] == TRANSFER_TOPIC
                and log["address"].lower() in self.tokens
            ),
            key=lambda log: int(log["logIndex"], 16),
        )
        if t.index >= len(counted):
            return Finding(
                t,
                OUTPUT_MISSING,
                f"the transaction has {len(counted)} Transfer logs of the configured tokens, "
                f"no number {t.index}",
            )
        log = counted[t.index]
        topics = log["topics"]
        receiver = topics[2][-40:] if len(topics) == 3 else None
        if receiver is None or bytes.fromhex(receiver) != t.script:
            to = f"0x{receiver}" if receiver else "no indexed receiver"
            return Finding(t, ADDRESS_DIFFERS, f"Transfer log {t.index} pays {to}, not {t.address}")
        symbol = self.tokens[log["address"].lower()]
        if symbol.upper() != t.asset.upper():
            return Finding(
                t, ASSET_DIFFERS, f"Transfer log {t.index} moves {symbol}, not {t.asset}"
            )
        data = log["data"]
        amount = int(data, 16) if len(data) > 2 else 0
        if amount != t.amount:
            return Finding(
                t, AMOUNT_DIFFERS, f"Transfer log {t.index} moves {amount}, not {t.amount}"
            )
        log_index = int(log["logIndex"], 16)
        if t.log_index is not None and t.log_index != log_index:
            return Finding(
                t,
                LOG_INDEX_DIFFERS,
                f"the node has the log at index {log_index}, not {t.log_index}",
            )
        return ok(t)

    def _internal(self, t: Booked, trace: Any) -> Finding:
        if trace is None:
            return Finding(
                t,
                UNCHECKED,
                "internal transfer: the node has no trace API, so only its block and the "
                "transaction's success were checked (not its address and amount)",
            )
        method, result = trace
        if method == "debug_traceTransaction":
            found = internal_from_call_tracer(
                [{"txHash": t.tx_hash, "result": result}], _Everything(), self.native
            )
        else:
            found = internal_from_parity(result, _Everything(), self.native)
        match = [p for p in found if p.index == t.index]
        if not match:
            return Finding(t, OUTPUT_MISSING, f"the trace has no internal transfer {-2 - t.index}")
        payment = match[0]
        if payment.script != t.script:
            paid = "0x" + payment.script.hex()
            return Finding(
                t, ADDRESS_DIFFERS, f"the internal transfer pays {paid}, not {t.address}"
            )
        if payment.amount != t.amount:
            return Finding(
                t, AMOUNT_DIFFERS, f"the internal transfer moves {payment.amount}, not {t.amount}"
            )
        return ok(t)

    async def _trace(self, client: JsonRpcClient, hashes: list[str]) -> dict[str, Any]:
        """Each transaction's trace as ``(method, result)``; empty without a trace API."""
        for method in ("debug_traceTransaction", "trace_transaction"):
            if self._traces is not False and self._traces != method:
                continue
            params: list[Sequence[object]] = (
                [[h, {"tracer": "callTracer"}] for h in hashes]
                if method == "debug_traceTransaction"
                else [[h] for h in hashes]
            )
            answers = await client.batch([(method, p) for p in params])
            if any(isinstance(a, RpcError) for a in answers):
                continue
            self._traces = method
            return {h: (method, a) for h, a in zip(hashes, answers, strict=True)}
        self._traces = None
        return {}


class _Everything:
    """A watched set holding every script (to number every internal transfer)."""

    def __contains__(self, item: object) -> bool:
        return True

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Any:
        return iter(())
