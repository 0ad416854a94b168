"""Payments to watched addresses out of EVM JSON-RPC answers (pure, no I/O).

Matching is one set look-up per transaction and per ``Transfer`` log: the
20 address bytes (``bytes.fromhex`` of the hex the node sends) against the
watched set, so a block costs the same with ten or a million watched addresses.

Indexes (the second half of a transfer's key) are counted within the transaction,
so a payment keeps its key when a reorg mines its transaction in another block or
at another place in a block: for ERC-20, the ordinal of the ``Transfer`` log among
the transaction's ``Transfer`` logs of the configured token contracts (in log
order, whoever receives them); -1 for a transaction's own value; ``-2 - n`` for
the n-th internal native transfer of a transaction (value-carrying
``call``/``selfdestruct`` frames below the top frame, counted in execution order
over the frames that took effect). The node's block-wide log index is kept beside
(``Payment.log_index``), for display and export only.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chains.watching import BlockHeader, Payment

# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NativeCandidate:
    """A transaction paying a watched address; counts only if its receipt says success."""

    tx_hash: str
    script: bytes
    amount: int


def header_of(block: Json) -> BlockHeader:
    return BlockHeader(
        height=int(block["number"], 16),
        hash=block["hash"],
        parent_hash=block["parentHash"],
        timestamp=int(block["timestamp"], 16),
    )


def native_candidates(block: Json, watched: Collection[bytes]) -> list[NativeCandidate]:
    """Transactions (full objects) of ``block`` sending value to a watched address."""
    found: list[NativeCandidate] = []
    for tx in block["transactions"]:
        to = tx.get("to")
        if to is None:
            continue
        script = bytes.fromhex(to[2:])
        if script in watched:
            value = int(tx["value"], 16)
            if value > 0:
                found.append(NativeCandidate(tx["hash"], script, value))
    return found


def token_payments(
    logs: Sequence[Json], tokens: Mapping[str, str], watched: Collection[bytes]
) -> Iterator[tuple[str, Payment]]:
    """``(block hash, payment)`` for each ERC-20 ``Transfer`` log to a watched address.

    ``tokens`` maps lowercase contract addresses to the configured symbols. Every
    ``Transfer`` log of a configured contract counts towards its transaction's
    ordinals (also those to addresses not watched, of no value, or without an
    indexed receiver), so a payment's index does not depend on what is watched.
    """
    matched: list[tuple[Json, bytes, str, int]] = []
    for log in logs:
        topics = log["topics"]
        if len(topics) != 3 or topics[0] != TRANSFER_TOPIC or log.get("removed"):
            continue
        script = bytes.fromhex(topics[2][-40:])
        if script not in watched:
            continue
        symbol = tokens.get(log["address"].lower())
        if symbol is None:
            continue
        data = log["data"]
        amount = int(data, 16) if len(data) > 2 else 0
        if amount > 0:
            matched.append((log, script, symbol, amount))
    if not matched:
        return
    # The log indexes of the paying transactions' Transfer logs, for the ordinals.
    counted: dict[tuple[str, str], list[int]] = {
        (log["blockHash"], log["transactionHash"]): [] for log, *_ in matched
    }
    for log in logs:
        indexes = counted.get((log["blockHash"], log["transactionHash"]))
        if indexes is None or log.get("removed"):
            continue
        topics = log["topics"]
        if topics and topics[0] == TRANSFER_TOPIC and log["address"].lower() in tokens:
            indexes.append(int(log["logIndex"], 16))
    for indexes in counted.values():
        indexes.sort()  # nodes send logs in log order; never rely on it
    for log, script, symbol, amount in matched:
        tx_hash, log_index = log["transactionHash"], int(log["logIndex"], 16)
        ordinal = bisect.bisect_left(counted[log["blockHash"], tx_hash], log_index)
        yield log["blockHash"], Payment(tx_hash, ordinal, script, symbol, amount, log_index)


def internal_from_parity(
    traces: Sequence[Json], watched: Collection[bytes], symbol: str
) -> list[Payment]:
    """Internal transfers from ``trace_block`` (Parity/OpenEthereum-style flat traces).

    A frame counts when it carries value, is a ``call`` (not delegate/static)
    or a ``suicide``, is not the top frame, and neither it nor any frame above it
    (including the transaction itself) failed.
    """
    found: list[Payment] = []
    failed: dict[str, list[tuple[int, ...]]] = {}
    counters: dict[str, int] = {}
    for trace in traces:
        tx_hash = trace.get("transactionHash")
        if tx_hash is None:
            continue  # block rewards
        address = tuple(trace.get("traceAddress") or ())
        if trace.get("error") is not None:
            failed.setdefault(tx_hash, []).append(address)
        if not address:
            continue
        if any(address[: len(f)] == f for f in failed.get(tx_hash, ())):
            continue
        action = trace.get("action") or {}
        kind = trace.get("type")
        if kind == "call" and action.get("callType", "call") == "call":
            to, value = action.get("to"), action.get("value")
        elif kind == "suicide":
            to, value = action.get("refundAddress"), action.get("balance")
        else:
            continue
        amount = int(value, 16) if value else 0
        if to is None or amount <= 0:
            continue
        n = counters.get(tx_hash, 0)
        counters[tx_hash] = n + 1
        script = bytes.fromhex(to[2:])
        if script in watched:
            found.append(Payment(tx_hash, -2 - n, script, symbol, amount))
    return found


def internal_from_call_tracer(
    results: Sequence[Json], watched: Collection[bytes], symbol: str
) -> list[Payment]:
    """Internal transfers from ``debug_traceBlockByNumber`` with the ``callTracer``."""
    found: list[Payment] = []
    for item in results:
        tx_hash = item.get("txHash")
        root = item.get("result")
        if tx_hash is None or not isinstance(root, Mapping) or root.get("error") is not None:
            continue
        n = 0
        stack = list(reversed(root.get("calls") or ()))
        while stack:
            frame = stack.pop()
            if frame.get("error") is not None:
                continue  # the frame and everything under it was undone
            kind = frame.get("type")
            value = frame.get("value")
            amount = int(value, 16) if value and kind in ("CALL", "SELFDESTRUCT") else 0
            to = frame.get("to")
            if amount > 0 and to is not None:
                script = bytes.fromhex(to[2:])
                if script in watched:
                    found.append(Payment(tx_hash, -2 - n, script, symbol, amount))
                n += 1
            stack.extend(reversed(frame.get("calls") or ()))
    return found


def traced_txs(traces: Sequence[Json], call_tracer: bool) -> tuple[set[str], set[str]]:
    """``(all, failed)`` transaction hashes of a block's traces (its top frames' errors)."""
    seen: set[str] = set()
    failed: set[str] = set()
    for item in traces:
        if call_tracer:
            tx_hash, root = item.get("txHash"), item.get("result")
            error = root.get("error") if isinstance(root, Mapping) else "no trace"
        else:
            tx_hash = item.get("transactionHash")
            if item.get("traceAddress"):
                continue
            error = item.get("error")
        if tx_hash is not None:
            seen.add(tx_hash)
            if error is not None:
                failed.add(tx_hash)
    return seen, failed
