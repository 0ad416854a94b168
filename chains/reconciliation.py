"""Reading credited transfers back from a node: what is checked, and what was found.

The daemon hands a family's :class:`Reconciler` the transfers its books hold (each
with the block it was credited in and the script of the order it paid); the
reconciler asks the node, in batches, whether each is still there as booked: its
block on the node's best chain, the transaction in that block, paying that script
exactly that amount of that asset. Each transfer gets one :class:`Finding`: ``ok``,
a difference (with what the node says), or ``unchecked`` where the node cannot tell
(an internal transfer without a trace API, say), with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

# What a finding can be. Everything but OK and UNCHECKED is a difference.
OK = "ok"
UNCHECKED = "unchecked"
BLOCK_MISSING = "block_missing"  # no block at that height on the node (above its tip)
REORGED = "reorged"  # another block is at that height now: the booked one was reorged away
TX_MISSING = "tx_missing"  # the block is there, the transaction is not in it
FAILED = "failed"  # the transaction is in the block but failed (EVM receipt status 0)
AMOUNT_DIFFERS = "amount_differs"
ADDRESS_DIFFERS = "address_differs"
ASSET_DIFFERS = "asset_differs"
OUTPUT_MISSING = "output_missing"  # no such output / log / internal transfer in the tx
LOG_INDEX_DIFFERS = "log_index_differs"

DIFFERENCES = (
    BLOCK_MISSING,
    REORGED,
    TX_MISSING,
    FAILED,
    AMOUNT_DIFFERS,
    ADDRESS_DIFFERS,
    ASSET_DIFFERS,
    OUTPUT_MISSING,
    LOG_INDEX_DIFFERS,
)


@dataclass(frozen=True, slots=True)
class Booked:
    """One credited transfer as the books hold it.

    ``index`` is the transfer's key within its transaction (see
    :class:`chains.watching.Payment`); ``script`` the paid order's (scriptPubKey, or
    the 20 address bytes on EVM chains); ``address`` the order's address, for messages.
    """

    seq: int  # the row's number in the books, to name it
    tx_hash: str
    index: int
    log_index: int | None
    script: bytes
    address: str
    asset: str
    amount: int  # base units
    block_height: int
    block_hash: str


@dataclass(frozen=True, slots=True)
class Finding:
    """What the node says about one booked transfer."""

    transfer: Booked
    kind: str  # OK, UNCHECKED or one of DIFFERENCES
    detail: str = ""  # what the node says, in words (empty when ok)

    @property
    def differs(self) -> bool:
        return self.kind in DIFFERENCES


Progress = Callable[[int], None]


class Reconciler(Protocol):
    """Checks booked transfers of one chain against its node."""

    async def check(self, transfers: Sequence[Booked], progress: Progress) -> list[Finding]:
        """One finding per transfer, in their order; ``progress(n)`` after each n done.
        Raises ``ChainUnavailable`` when the node cannot be asked."""
        ...

    @property
    def calls_sent(self) -> int:
        """JSON-RPC calls made so far (a batch of n counts n), for benchmarks."""
        ...


def ok(transfer: Booked) -> Finding:
    return Finding(transfer, OK)


def by_block(
    transfers: Sequence[Booked], node_hashes: dict[int, str | None]
) -> tuple[list[Booked], list[Finding]]:
    """Split ``transfers`` by whether their booked block is the node's block at that
    height (``node_hashes``: height -> hash, None where the node has no block): those
    in place (one booked without a block hash takes the node's), and findings for the
    others."""
    placed: list[Booked] = []
    moved: list[Finding] = []
    for t in transfers:
        there = node_hashes.get(t.block_height)
        if there is not None and not t.block_hash:  # booked by height only: check the rest
            placed.append(replace(t, block_hash=there))
        elif there is None:
            moved.append(
                Finding(t, BLOCK_MISSING, f"the node has no block at height {t.block_height}")
            )
        elif there.lower() != t.block_hash.lower():
            moved.append(
                Finding(
                    t,
                    REORGED,
                    f"block {t.block_hash} at height {t.block_height} is not on the node's "
                    f"best chain (its block there is {there})",
                )
            )
        else:
            placed.append(t)
    return placed, moved


def where_now(finding: Finding, block_hash: str | None, height: int | None, known: bool) -> Finding:
    """A reorged/missing finding told where the node has the transaction now."""
    if not known:
        now = "the node does not find the transaction (in its mempool or a block it can search)"
    elif block_hash is None:
        now = "the transaction is unconfirmed (in the mempool)"
    else:
        at = f" at height {height}" if height is not None else ""
        now = f"the transaction is now in block {block_hash}{at}"
    return Finding(finding.transfer, finding.kind, f"{finding.detail}; {now}")
