"""Booked Bitcoin-family transfers read back from the node (see :mod:`chains.reconciliation`).

Per chunk of transfers, in batched requests on the preferred node:

1. ``getblockhash`` once per booked height: the booked block must be the node's block
   there (else it was reorged away, or the height is above the node's tip; then
   ``getrawtransaction`` verbose says where the transaction is now, which needs
   ``-txindex`` for a confirmed one);
2. ``getrawtransaction <txid> false <block>`` once per transaction (no ``-txindex``
   needed: the block is named), parsed from raw bytes so values are exact satoshi:
   the output at the booked index pays the order's scriptPubKey the booked amount.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from chains.bitcoin.node_rpc import RPC_INVALID_ADDRESS_OR_KEY, BitcoinRpc
from chains.bitcoin.raw_block import RawFormatError, parse_transaction
from chains.bitcoin.source import BitcoinSource
from chains.jsonrpc import RpcError
from chains.reconciliation import (
    ADDRESS_DIFFERS,
    AMOUNT_DIFFERS,
    ASSET_DIFFERS,
    OUTPUT_MISSING,
    TX_MISSING,
    Booked,
    Finding,
    Progress,
    by_block,
    ok,
    where_now,
)
from chains.watching import ChainUnavailable

CHUNK = 1000  # transfers per round of batches


class BitcoinReconciler:
    """A :class:`chains.reconciliation.Reconciler` over a :class:`BitcoinSource`."""

    def __init__(self, source: BitcoinSource) -> None:
        self.source = source
        self._calls = 0

    @property
    def calls_sent(self) -> int:
        return self._calls

    async def check(self, transfers: Sequence[Booked], progress: Progress) -> list[Finding]:
        found: dict[int, Finding] = {}
        for start in range(0, len(transfers), CHUNK):
            chunk = transfers[start : start + CHUNK]
            checked = await self.source.on_node(functools.partial(self._chunk, transfers=chunk))
            for finding in checked:
                found[finding.transfer.seq] = finding
            progress(len(chunk))
        return [found[t.seq] for t in transfers]

    async def _batch(
        self, node: BitcoinRpc, calls: list[tuple[str, Sequence[object]]]
    ) -> list[object]:
        self._calls += len(calls)
        return list(await node.batch(calls))

    async def _chunk(self, node: BitcoinRpc, transfers: Sequence[Booked]) -> list[Finding]:
        heights = sorted({t.block_height for t in transfers})
        answers = await self._batch(node, [("getblockhash", [h]) for h in heights])
        hashes: dict[int, str | None] = {}
        for height, answer in zip(heights, answers, strict=True):
            if isinstance(answer, RpcError):
                if answer.code != -8:  # RPC_INVALID_PARAMETER: above the tip
                    raise ChainUnavailable(f"{node.url}: getblockhash {height}: {answer}")
                hashes[height] = None
            else:
                hashes[height] = str(answer)
        placed, findings = by_block(transfers, hashes)
        findings = await self._where_now(node, findings)
        txids = list(dict.fromkeys((t.tx_hash, t.block_hash) for t in placed))
        raws = await self._batch(
            node, [("getrawtransaction", [txid, False, block]) for txid, block in txids]
        )
        by_tx = dict(zip(txids, raws, strict=True))
        for t in placed:
            raw = by_tx[t.tx_hash, t.block_hash]
            if isinstance(raw, RpcError):
                if raw.code != RPC_INVALID_ADDRESS_OR_KEY:
                    raise ChainUnavailable(f"{node.url}: getrawtransaction {t.tx_hash}: {raw}")
                findings.append(
                    Finding(t, TX_MISSING, f"block {t.block_hash} has no transaction {t.tx_hash}")
                )
                continue
            findings.append(self._output(t, str(raw)))
        return findings

    def _output(self, t: Booked, raw_hex: str) -> Finding:
        try:
            tx = parse_transaction(bytes.fromhex(raw_hex))
        except (ValueError, RawFormatError) as exc:
            raise ChainUnavailable(f"getrawtransaction {t.tx_hash}: {exc}") from None
        if t.asset.upper() != self.source.asset.upper():
            return Finding(t, ASSET_DIFFERS, f"the chain's coin is {self.source.asset}")
        if not 0 <= t.index < len(tx.values):
            return Finding(
                t, OUTPUT_MISSING, f"the transaction has {len(tx.values)} outputs, no {t.index}"
            )
        script, value = tx.scripts[t.index], tx.values[t.index]
        if script != t.script:
            return Finding(
                t,
                ADDRESS_DIFFERS,
                f"output {t.index} pays script {script.hex()}, not {t.address} "
                f"(script {t.script.hex()})",
            )
        if value != t.amount:
            return Finding(t, AMOUNT_DIFFERS, f"output {t.index} is {value}, not {t.amount}")
        return ok(t)

    async def _where_now(self, node: BitcoinRpc, moved: list[Finding]) -> list[Finding]:
        txids = list(dict.fromkeys(f.transfer.tx_hash for f in moved))
        answers = await self._batch(node, [("getrawtransaction", [txid, True]) for txid in txids])
        told = dict(zip(txids, answers, strict=True))
        out = []
        for f in moved:
            tx = told[f.transfer.tx_hash]
            if isinstance(tx, dict):
                block = tx.get("blockhash")
                out.append(where_now(f, str(block) if block else None, None, True))
            else:
                out.append(where_now(f, None, None, False))
        return out
