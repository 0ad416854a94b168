"""What a batch of chain news does to the database, in the caller's one transaction.

The engine fetches; this module turns blocks, orphaned transfers and the mempool
into :class:`Observation` s, hands them to :class:`OrderChanges` (orders, transfers
and their events), and moves the cursor with them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Connection

from chains.watching import BlockHeader, MempoolView, Payment, ScannedBlock
from daemon.cluster.fence import NO_FENCE, Fence
from daemon.domain.payments import Transfer, TransferKey, seen_again
from daemon.services.order_changes import Observation, OrderChanges
from daemon.storage.after_commit import on_commit
from daemon.watching import block_times, ledger
from daemon.watching.ledger import WatchedTransfer


@dataclass(frozen=True, slots=True)
class Batch:
    """Blocks to apply on top of ``orphaned_from`` (the fork point of a reorg, or
    None); confirmations count up to ``cursor``, the block the watcher moves to.
    (The finalized tag is applied by :meth:`Effects.mature` in the same round.)"""

    blocks: Sequence[ScannedBlock]
    cursor: BlockHeader
    tip_height: int | None = None  # the node's tip, when it is beyond the cursor
    orphaned_from: int | None = None
    mempool: MempoolView | None = None


class Effects:
    def __init__(self, chain: str, changes: OrderChanges, *, keep_blocks: int) -> None:
        self.chain = chain
        self.changes = changes
        self.keep_blocks = keep_blocks
        # When set, told (chain, asset, count) of the transfers a unit of work stores
        # for the first time (one indexed look-up when a batch has payments), once that
        # unit has committed: an attempt rolled back and run again counts once.
        self.on_credit: Callable[[str, str, int], None] | None = None
        # The chain's lease, checked in each of the watcher's units of work right after
        # the writer lock: a deposed leader's commit is refused (daemon.cluster.fence).
        # A rescan (the CLI, not a leader) is not fenced: the lock is enough for it.
        self.fence: Fence = NO_FENCE
        # The lowest block a transfer may still mature in, as far as this process
        # knows: the lowest still short at the last count, lowered by every transfer
        # recorded since (None: not known, the engine counts its whole window).
        # Transfers recorded elsewhere (a rescan from the CLI, another instance) are
        # counted by the engine's full passes.
        self.maturing_from: int | None = None

    def note_heights(self, heights: Sequence[int]) -> None:
        """Transfers in these blocks were recorded (committed) by another writer."""
        if self.maturing_from is not None and heights:
            self.maturing_from = min(self.maturing_from, *heights)

    def count_from(self, since: int | None) -> int | None:
        """Where a count from ``since`` (None: all) may start: nothing below
        :attr:`maturing_from` is short (at 50 payments a block, a 2,000-block window
        held 100,000 transfers, read again every round)."""
        if since is None or self.maturing_from is None:
            return since
        return max(since, self.maturing_from)

    def _record(self, conn: Connection, observations: Sequence[Observation], now: datetime) -> None:
        self.changes.record(conn, observations, now)
        self.note_heights([o.block_height for o in observations if o.block_height is not None])

    def _lock(self, conn: Connection) -> None:
        self.changes.lock_chain(conn, self.chain)  # what is read next stays as read
        self.fence.check(conn)

    def _note_new(self, conn: Connection, observations: Sequence[Observation]) -> None:
        report = self.on_credit
        if report is None or not observations:
            return
        new = ledger.new_transfers(conn, self.chain, observations)
        chain = self.chain

        def credited() -> None:
            for asset, count in new.items():
                report(chain, asset, count)

        if new:
            on_commit(conn, credited)

    def observe(
        self, payment: Payment, transfer: Transfer, header: BlockHeader | None
    ) -> Observation:
        return Observation(
            chain=self.chain,
            script=payment.script,
            asset=payment.asset,
            transfer=transfer,
            block_height=None if header is None else header.height,
            block_hash=None if header is None else header.hash,
        )

    def _revisit(
        self, known: WatchedTransfer, *, confirmations: int, removed: bool, finalized: bool = False
    ) -> Observation:
        record = known.record
        transfer = Transfer(
            key=record.transfer.key,
            amount=record.transfer.amount,
            seen_at=record.transfer.seen_at,
            confirmations=confirmations,
            finalized=finalized,
            removed=removed,
            log_index=record.transfer.log_index if confirmations > 0 else None,
        )
        keep_block = confirmations > 0
        return Observation(
            chain=self.chain,
            script=known.script,
            asset=record.asset,
            transfer=transfer,
            block_height=record.block_height if keep_block else None,
            block_hash=record.block_hash if keep_block else None,
        )

    def block_observations(
        self, blocks: Sequence[ScannedBlock], reference: int, now: datetime
    ) -> list[Observation]:
        """The blocks' payments, with confirmations counted up to ``reference``."""
        observations: list[Observation] = []
        for block in blocks:
            header = block.header
            depth = max(reference - header.height + 1, 1)
            # First seen no later than its block: a watcher that was down must not
            # make a payment that was in time look late.
            seen_at = min(now, datetime.fromtimestamp(header.timestamp, UTC))
            for payment in block.payments:
                key = TransferKey(payment.tx_hash, payment.index)
                position = payment.log_index
                transfer = Transfer(key, payment.amount, seen_at, depth, log_index=position)
                observations.append(self.observe(payment, transfer, header))
        return observations

    def apply_batch(self, conn: Connection, batch: Batch, now: datetime) -> int:
        """Apply blocks (and a reorg's roll-back); return the payments observed."""
        # Depth is counted to the node's tip (its blocks are about to be processed in
        # this round), so a catch-up does not revisit every transfer once per batch.
        reference = max(batch.cursor.height, batch.tip_height or 0)
        self._lock(conn)
        observations = self.block_observations(batch.blocks, reference, now)
        self._note_new(conn, observations)
        seen = {obs.transfer.key for obs in observations}
        if batch.orphaned_from is not None:
            for known in ledger.transfers_above(conn, self.chain, batch.orphaned_from):
                if known.record.transfer.key in seen:
                    continue
                pooled = batch.mempool is not None and (
                    known.record.transfer.key.tx_hash in batch.mempool.txids
                )
                observations.append(self._revisit(known, confirmations=0, removed=not pooled))
        self._record(conn, observations, now)
        block_times.stamp_blocks(conn, self.chain, batch.blocks)
        headers = [b.header for b in batch.blocks]
        ledger.store_blocks(conn, self.chain, headers, keep=self.keep_blocks)
        if not batch.blocks and batch.orphaned_from is not None:
            ledger.forget_blocks_above(conn, self.chain, batch.orphaned_from)
        ledger.save_cursor(conn, self.chain, batch.cursor, now)
        return len(observations)

    def apply_rescan(
        self, conn: Connection, blocks: Sequence[ScannedBlock], reference: int, now: datetime
    ) -> int:
        """Payments found again in blocks already processed (cursor unchanged).

        A transfer already known in the same block is news that never lowers what is
        known: its depth here is counted to ``reference`` and it cannot know the
        finalized tag, so a finalized or deeper transfer stays so and no event fires
        for it again. What is known is read under the chain's writer lock, so a
        watcher running meanwhile cannot change it before this commits."""
        self.changes.lock_chain(conn, self.chain)
        observations = self.block_observations(blocks, reference, now)
        known = ledger.stored_transfers(
            conn, self.chain, {o.transfer.key.tx_hash for o in observations}
        )
        for i, obs in enumerate(observations):
            record = known.get(obs.transfer.key)
            if record is None or record.transfer.removed or record.block_hash != obs.block_hash:
                continue  # new, or news from another block (it moved): taken as it is
            observations[i] = replace(obs, transfer=seen_again(record.transfer, obs.transfer))
        self._note_new(conn, observations)
        self._record(conn, observations, now)
        block_times.stamp_blocks(conn, self.chain, blocks)
        return len(observations)

    def apply_mempool(self, conn: Connection, view: MempoolView, now: datetime) -> int:
        """New unconfirmed payments, and unconfirmed ones that left the mempool."""
        self._lock(conn)
        mined = ledger.known_in_blocks(conn, self.chain, (p.tx_hash for p in view.payments))
        observations = [
            self.observe(p, Transfer(TransferKey(p.tx_hash, p.index), p.amount, now), None)
            for p in view.payments
            if p.tx_hash not in mined
        ]
        self._note_new(conn, observations)
        for known in ledger.unconfirmed_transfers(conn, self.chain):
            if known.record.transfer.key.tx_hash not in view.txids:
                observations.append(self._revisit(known, confirmations=0, removed=True))
        if observations:
            self._record(conn, observations, now)
        return len(observations)

    def mature(
        self,
        conn: Connection,
        height: int,
        finalized: int | None,
        now: datetime,
        since: int | None = None,
        *,
        recount: bool = False,
    ) -> int:
        """Count confirmations (and the finalized tag) up to the processed ``height``,
        for transfers mined at ``since`` or later (all, when None); ``recount``: also
        those already deep enough (after a reorg the chain may be shorter). Without
        ``recount``, :attr:`maturing_from` becomes the lowest block still short after it."""
        self._lock(conn)
        observations = []
        short_from = height + 1
        for known in ledger.maturing_transfers(conn, self.chain, since, recount=recount):
            mined_at = known.record.block_height
            assert mined_at is not None
            depth = max(height - mined_at + 1, 0)
            final = finalized is not None and mined_at <= finalized
            required = known.confirmations_required
            if not final and (required is None or depth < required):
                short_from = min(short_from, mined_at)
            old = known.record.transfer
            if depth != old.confirmations or final != old.finalized:
                observations.append(
                    self._revisit(known, confirmations=depth, removed=False, finalized=final)
                )
        if observations:
            self.changes.record(conn, observations, now)
        # Once committed (a count rolled back leaves its transfers short below it), in
        # this order: a recount in the same unit lowers what the count found.
        if not recount:
            on_commit(conn, functools.partial(setattr, self, "maturing_from", short_from))
        elif short_from <= height:
            on_commit(conn, functools.partial(self.note_heights, [short_from]))
        return len(observations)
