"""Pure EVM extraction: hand-written JSON-RPC answers in the shapes geth/anvil send."""

from __future__ import annotations

from typing import Any

from chains.evm.extraction import (
    TRANSFER_TOPIC,
    header_of,
    internal_from_call_tracer,
    internal_from_parity,
    native_candidates,
    token_payments,
)
from chains.evm.keccak import keccak256
from chains.watching import Payment

A = bytes.fromhex("11" * 20)
B = bytes.fromhex("22" * 20)
OTHER = bytes.fromhex("33" * 20)
TOKEN = "0x" + "ab" * 20


def addr(script: bytes) -> str:
    return "0x" + script.hex()


def topic(script: bytes) -> str:
    return "0x" + "00" * 12 + script.hex()


def test_transfer_topic_is_the_event_signature_hash() -> None:
    assert "0x" + keccak256(b"Transfer(address,address,uint256)").hex() == TRANSFER_TOPIC


def test_header_and_native_candidates() -> None:
    block = {
        "number": "0x10",
        "hash": "0xbb",
        "parentHash": "0xaa",
        "timestamp": "0x5f5e100",
        "transactions": [
            {"hash": "0x1", "to": addr(A), "value": "0xde0b6b3a7640000"},
            {"hash": "0x2", "to": addr(A).upper().replace("0X", "0x"), "value": "0x1"},
            {"hash": "0x3", "to": addr(B), "value": "0x0"},  # a call, no value
            {"hash": "0x4", "to": None, "value": "0x5"},  # contract creation
            {"hash": "0x5", "to": addr(OTHER), "value": "0x5"},
        ],
    }
    header = header_of(block)
    assert (header.height, header.hash, header.parent_hash, header.timestamp) == (
        16,
        "0xbb",
        "0xaa",
        100_000_000,
    )
    found = native_candidates(block, {A, B})
    assert [(c.tx_hash, c.script, c.amount) for c in found] == [
        ("0x1", A, 10**18),
        ("0x2", A, 1),
    ]


def _log(
    to: bytes, value: int, index: int, *, address: str = TOKEN, **extra: object
) -> dict[str, object]:
    return {
        "address": address,
        "topics": [TRANSFER_TOPIC, topic(OTHER), topic(to)],
        "data": "0x" + value.to_bytes(32, "big").hex(),
        "blockHash": "0xbb",
        "transactionHash": "0xt",
        "logIndex": hex(index),
        **extra,
    }


def test_token_payments_match_only_configured_contracts_and_watched_receivers() -> None:
    logs = [
        _log(A, 5_000_000, 0),
        _log(A, 7, 1),  # the same order twice in one transaction: two keys
        _log(B, 1, 2, address="0x" + "cd" * 20),  # a token we do not take
        _log(OTHER, 9, 3),
        _log(B, 0, 4),  # zero value
        {**_log(B, 3, 5), "topics": [TRANSFER_TOPIC, topic(OTHER)]},  # non-indexed variant
        {**_log(B, 3, 6), "removed": True},
        _log(B, 2, 7, address=TOKEN.upper().replace("0X", "0x")),
    ]
    found = list(token_payments(logs, {TOKEN: "USDC"}, {A, B}))
    # Indexes count the transaction's Transfer logs of configured contracts (the
    # one of another token and the removed one do not count), log indexes are kept.
    assert found == [
        ("0xbb", Payment("0xt", 0, A, "USDC", 5_000_000, log_index=0)),
        ("0xbb", Payment("0xt", 1, A, "USDC", 7, log_index=1)),
        ("0xbb", Payment("0xt", 5, B, "USDC", 2, log_index=7)),
    ]


def test_a_token_payment_keeps_its_index_when_its_transaction_moves() -> None:
    """The index is the ordinal among the transaction's Transfer logs of configured
    contracts, whatever the block around it: the same transaction mined at log 1
    (after another transaction's transfer) and at log 0 alone gets the same key."""
    other = "0x" + "cd" * 20

    def tx(block: str, tx_hash: str, first: int) -> list[dict[str, object]]:
        return [
            _log(OTHER, 4, first, blockHash=block, transactionHash=tx_hash),
            _log(A, 1, first + 1, address=other, blockHash=block, transactionHash=tx_hash),
            _log(A, 5, first + 2, blockHash=block, transactionHash=tx_hash),
            _log(B, 6, first + 3, blockHash=block, transactionHash=tx_hash),
        ]

    crowded = [_log(A, 9, 0, blockHash="0xb1", transactionHash="0xfirst"), *tx("0xb1", "0xt", 1)]
    alone = tx("0xb2", "0xt", 0)
    tokens = {TOKEN: "USDC", "0x" + "ee" * 20: "DAI"}
    in_crowd = [p for _, p in token_payments(crowded, tokens, {A, B}) if p.tx_hash == "0xt"]
    moved = [p for _, p in token_payments(alone, tokens, {A, B})]
    assert [(p.index, p.log_index) for p in in_crowd] == [(1, 3), (2, 4)]
    assert [(p.index, p.log_index) for p in moved] == [(1, 2), (2, 3)]
    # Nor does it depend on what is watched, or on the order the node sends logs in.
    assert [p.index for _, p in token_payments(list(reversed(alone)), tokens, {B})] == [2]
    assert [p.index for _, p in token_payments(alone, tokens, {A, B, OTHER})] == [0, 1, 2]


def _trace(address: list[int], to: bytes, value: int, **extra: object) -> dict[str, object]:
    return {
        "type": "call",
        "action": {"callType": "call", "to": addr(to), "value": hex(value)},
        "traceAddress": address,
        "transactionHash": "0xt",
        **extra,
    }


def test_parity_traces_skip_top_frame_failed_subtrees_and_delegate_calls() -> None:
    traces: list[dict[str, Any]] = [
        _trace([], OTHER, 10),  # the transaction itself (counted from the tx, index -1)
        _trace([0], A, 1),  # n=0
        _trace([1], OTHER, 2, error="Reverted"),  # failed: it and its children
        _trace([1, 0], A, 3),
        _trace([2], B, 4),  # n=1
        {
            **_trace([3], A, 5),
            "action": {"callType": "delegatecall", "to": addr(A), "value": "0x5"},
        },
        {
            "type": "suicide",
            "action": {"refundAddress": addr(A), "balance": "0x6", "address": addr(OTHER)},
            "traceAddress": [4],
            "transactionHash": "0xt",
        },  # n=2
        {"type": "reward", "action": {"author": addr(A), "value": "0x1"}, "traceAddress": []},
        _trace([], A, 1, transactionHash="0xfailed", error="out of gas"),
        _trace([0], A, 1, transactionHash="0xfailed"),
    ]
    assert internal_from_parity(traces, {A, B}, "ETH") == [
        Payment("0xt", -2, A, "ETH", 1),
        Payment("0xt", -3, B, "ETH", 4),
        Payment("0xt", -4, A, "ETH", 6),
    ]


def test_call_tracer_frames_in_execution_order() -> None:
    def frame(
        to: bytes, value: int, *calls: dict[str, object], **extra: object
    ) -> dict[str, object]:
        return {"type": "CALL", "to": addr(to), "value": hex(value), "calls": list(calls), **extra}

    results = [
        {
            "txHash": "0xt",
            "result": frame(
                OTHER,
                10,
                frame(OTHER, 1, frame(A, 1)),  # n=0 (OTHER), n=1 (A)
                frame(B, 2, frame(A, 9), error="execution reverted"),
                {"type": "DELEGATECALL", "to": addr(A), "value": "0x3"},
                frame(B, 4),  # n=2
            ),
        },
        {"txHash": "0xbad", "result": frame(OTHER, 1, frame(A, 1), error="reverted")},
    ]
    assert internal_from_call_tracer(results, {A, B}, "POL") == [
        Payment("0xt", -3, A, "POL", 1),
        Payment("0xt", -4, B, "POL", 4),
    ]
