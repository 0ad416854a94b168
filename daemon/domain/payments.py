"""Observed transfers to an order's address, keyed so none is counted twice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True, slots=True, order=True)
class TransferKey:
    """(tx hash, output index) on Bitcoin-family chains; on EVM chains (tx hash, n)
    for the n-th ERC-20 transfer of the transaction, (tx hash, -1) for its own
    value and (tx hash, -2 - n) for its n-th internal transfer. Every index is
    counted within the transaction, so a key survives a reorg that mines the
    transaction elsewhere."""

    tx_hash: str
    index: int


@dataclass(frozen=True, slots=True)
class Transfer:
    key: TransferKey
    amount: int
    seen_at: datetime
    confirmations: int = 0
    finalized: bool = False
    removed: bool = False
    # Where the node reports it in its block (an ERC-20 log index); not part of the key.
    log_index: int | None = None

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a transfer carries a positive amount")
        if self.confirmations < 0:
            raise ValueError("confirmations cannot be negative")


def merge(
    ledger: Mapping[TransferKey, Transfer], observation: Transfer
) -> dict[TransferKey, Transfer]:
    """Record one observation: a new transfer, or news about a known one.

    A transfer keeps the earliest time it was seen; everything else takes the
    latest observation (confirmations may fall in a reorg; removal is undone
    when the transfer is mined again).
    """
    merged = dict(ledger)
    known = merged.get(observation.key)
    if known is not None and known.seen_at < observation.seen_at:
        observation = replace(observation, seen_at=known.seen_at)
    merged[observation.key] = observation
    return merged


def seen_again(known: Transfer, observation: Transfer) -> Transfer:
    """``observation`` of a transfer in the very block it is known in (same block
    hash: a rescan, a block applied again) as news that never lowers what is known.

    Its confirmations were counted to some earlier reference and it cannot know the
    finalized tag, so the transfer keeps the higher depth, stays finalized once it
    was, and keeps its first sighting; merging the result into a ledger holding
    ``known`` changes nothing unless the observation knows more.
    """
    return replace(
        observation,
        seen_at=min(known.seen_at, observation.seen_at),
        confirmations=max(known.confirmations, observation.confirmations),
        finalized=known.finalized or observation.finalized,
    )
