"""One chain's watcher: follow the node's best chain block by block, never skipping.

Each round (:meth:`ChainWatcher.sync_once`):

1. compare the node's chain with the persisted cursor; on a mismatch walk back to
   the fork point and apply the new branch *and* the roll-back of the old one in one
   transaction, so a payment that only moved to another block fires nothing;
2. otherwise scan the blocks after the cursor in batches; each batch's payments,
   its blocks and the cursor commit together (a crash replays at most one batch,
   and replaying is harmless: transfers are keyed);
3. on chains whose mempool counts, record new unconfirmed payments and drop those
   that left the mempool without being mined (replaced, conflicted, expired);
4. count confirmations (and the finalized tag) of maturing transfers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from chains.waiting import wait_for_any
from chains.watching import BlockHeader, ChainSource, ChainUnavailable, ScannedBlock
from daemon.cluster.fence import Fence
from daemon.errors import WatchError
from daemon.services.order_changes import OrderChanges
from daemon.storage.database import Database
from daemon.watching import ledger
from daemon.watching.balance_check import BalanceCheck
from daemon.watching.effects import Batch, Effects
from daemon.watching.fork import ForkNotFound, find_fork
from daemon.watching.recount import lowest_overcounted
from daemon.watching.starting import BITCOIN_MARGIN, earliest_open_order, start_point
from daemon.watching.status import WatcherStatus
from daemon.watching.watched import WatchedScripts

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class WatcherSettings:
    batch_size: int = 50
    keep_blocks: int = 500  # how deep a reorg can be rolled back
    start_height: int | None = None  # where a new watcher starts (default: see starting.py)
    poll_interval: float = 5.0
    # How far block timestamps may trail real time, when a new watcher looks for the
    # first block made since its earliest open order.
    start_margin: timedelta = BITCOIN_MARGIN


MATURE_WINDOW = 2000  # blocks below the cursor whose confirmations each round counts
FULL_MATURE_SECONDS = 600.0


class ParentMismatch(WatchError):
    """The block after the cursor does not build on it: a reorg to resolve."""


class ChainMoved(WatchError):
    """The node's chain changed while a batch was being fetched; the next round
    starts over from the committed cursor."""


class ChainWatcher:
    def __init__(
        self,
        *,
        chain: str,
        source: ChainSource,
        db: Database,
        changes: OrderChanges,
        clock: Clock,
        settings: WatcherSettings | None = None,
        on_credit: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.chain = chain
        self.source = source
        self.db = db
        self.clock = clock
        self.settings = settings or WatcherSettings()
        self.watched = WatchedScripts(chain)
        self.effects = Effects(chain, changes, keep_blocks=self.settings.keep_blocks)
        self.status = WatcherStatus(chain)
        # Told (chain, asset, count) of transfers stored for the first time (metrics),
        # after the commit that stored them.
        self.effects.on_credit = on_credit
        self._full_mature_at = -math.inf
        # The EVM balance check of this chain, run on the daemon's schedule.
        self.balance_check: BalanceCheck | None = None
        self._recount = False  # after a reorg, depths are counted again, even deep ones
        self._nudged = asyncio.Event()

    def lead(self, fence: Fence) -> None:
        """Commit under ``fence`` from now on (the chain's lease as this instance holds
        it; see daemon.cluster). A new term counts every depth again: another instance
        may have led the chain meanwhile."""
        self.effects.fence = fence
        if self.balance_check is not None:
            self.balance_check.fence = fence
        self._full_mature_at = -math.inf
        self._recount = True

    def nudge(self) -> None:
        """Look at the chain now, not at the next poll (a verified Tatum notification).
        A watcher backing off from a failing node keeps its pause."""
        self._nudged.set()

    async def sync_once(self) -> None:
        """Catch up with the node completely; every effect is committed on return."""
        tip = await self.source.tip()
        self.status.saw_tip(tip, self.clock())
        cursor = await self.db.run_read(lambda c: ledger.load_cursor(c, self.chain))
        if cursor is None:
            await self._advance(None, await self._start_height(tip), tip)
        elif tip.height > cursor.height:
            try:
                await self._advance(cursor.hash, cursor.height + 1, tip)
            except ParentMismatch:
                await self._reorg_if_forked(cursor, tip)
        else:
            await self._reorg_if_forked(cursor, tip)
        processed = await self.db.run_read(lambda c: ledger.load_cursor(c, self.chain))
        assert processed is not None
        await self._mempool(processed.hash)
        await self._mature(processed.height)
        self.status.synced(processed.height, self.clock())

    async def _start_height(self, tip: BlockHeader) -> int:
        """Where a watcher without a cursor starts: early enough to see every payment
        made since the earliest open order of its chain was created."""
        now = self.clock()
        earliest = await self.db.run_read(lambda c: earliest_open_order(c, self.chain, now))
        start = await start_point(
            self.source,
            tip,
            earliest,
            margin=self.settings.start_margin,
            configured=self.settings.start_height,
        )
        log.info(
            "chain %s: no block processed yet; starting at block %d (tip %d), %s",
            self.chain,
            start.height,
            tip.height,
            start.reason,
        )
        return start.height

    async def _reorg_if_forked(self, cursor: ledger.Cursor, tip: BlockHeader) -> None:
        try:
            fork = await find_fork(self.db, self.source, self.chain, cursor, tip)
        except ForkNotFound as exc:
            # Never go on with payments that may be orphaned: halt (status, /readyz,
            # metrics) until the node's chain is ours again or an operator resumes.
            self.status.halt(str(exc), self.clock())
            log.error("%s", exc)
            raise
        if fork is not None:
            await self._reorg(fork, tip)

    async def resume_from(self, height: int) -> BlockHeader:
        """An operator's answer to a fork the watcher could not place: roll back to
        block ``height`` (at or below the fork) and scan the node's chain from there in
        one transaction; payments above it that the node no longer has are removed."""
        cursor = await self.db.run_read(lambda c: ledger.load_cursor(c, self.chain))
        tip = await self.source.tip()
        if cursor is None or height > min(cursor.height, tip.height):
            limit = tip.height if cursor is None else min(cursor.height, tip.height)
            raise ValueError(f"chain {self.chain}: choose a height from 0 to {limit}")
        [fork] = await self.source.headers([height])
        await self._reorg(fork, tip)
        self.status.halted = None
        return fork

    async def _mature(self, height: int) -> None:
        """Confirmations up to ``height``; the finalized tag is asked for only while a
        transfer waits for it. Each round looks at recent blocks (an indexed range);
        every few minutes, and at start, at all of them (deep depths, stalled finality)."""
        moment = time.monotonic()
        full = moment - self._full_mature_at > FULL_MATURE_SECONDS
        since = None if full else height - max(self.settings.keep_blocks, MATURE_WINDOW)
        # After a reorg the chain may be shorter: transfers deep enough before may
        # not be now, at any depth (a catch-up counts to the tip), so no window.
        recount = self._recount or full
        if self.balance_check is not None:
            self.effects.note_heights(self.balance_check.take_recorded())
        since = since if recount else self.effects.count_from(since)
        needs_tag = await self.db.run_read(
            lambda c: ledger.awaiting_finalized(c, self.chain, since)
        )
        finalized = await self.source.finalized_height() if needs_tag else None

        def count(conn: Connection) -> None:
            now = self.clock()
            self.effects.mature(conn, height, finalized, now, since)
            lowest = lowest_overcounted(conn, self.chain, height) if recount else None
            if lowest is not None:
                log.info("chain %s: counting confirmations from block %d again", self.chain, lowest)
                self.effects.mature(conn, height, finalized, now, lowest, recount=True)

        await self.db.run(count)
        self._recount = False  # only once the count committed
        if full:
            self._full_mature_at = moment

    async def scan_blocks(self, first: int, last: int) -> list[ScannedBlock]:
        """Blocks ``first..last`` with their payments, against every order's script,
        including orders created while the blocks were being fetched."""
        await self.db.run_read(self.watched.refresh)
        blocks = await self.source.scan(first, last, self.watched.scripts)
        late = await self.db.run_read(self.watched.refresh)
        if late:
            again = await self.source.scan(first, last, late)
            if [b.header for b in again] != [b.header for b in blocks]:
                raise ChainMoved(f"{self.chain}: blocks {first}..{last} changed during the scan")
            blocks = [
                replace(b, payments=b.payments + a.payments)
                for b, a in zip(blocks, again, strict=True)
            ]
        if len(blocks) != last - first + 1 or any(
            b.header.parent_hash != a.header.hash for a, b in itertools.pairwise(blocks)
        ):
            raise ChainMoved(f"{self.chain}: blocks {first}..{last} do not link")
        return blocks

    async def _advance(self, parent: str | None, first: int, tip: BlockHeader) -> None:
        while first <= tip.height:
            last = min(tip.height, first + self.settings.batch_size - 1)
            blocks = await self.scan_blocks(first, last)
            if parent is not None and blocks[0].header.parent_hash != parent:
                raise ParentMismatch(first)
            await self._apply(Batch(blocks, blocks[-1].header, tip_height=tip.height))
            self.status.processed(last, self.clock())
            parent = blocks[-1].header.hash
            first = last + 1

    async def _reorg(self, fork: BlockHeader, tip: BlockHeader) -> None:
        """Replace the blocks above ``fork`` with the node's branch, in one transaction."""
        log.warning(
            "chain %s: reorg, rolling back to block %d (%s)", self.chain, fork.height, fork.hash
        )
        blocks: list[ScannedBlock] = []
        first = fork.height + 1
        while first <= tip.height:
            last = min(tip.height, first + self.settings.batch_size - 1)
            blocks.extend(await self.scan_blocks(first, last))
            first = last + 1
        expected = [fork.hash] + [b.header.hash for b in blocks[:-1]]
        if [b.header.parent_hash for b in blocks] != expected:
            raise ChainMoved(f"{self.chain}: the new branch changed while it was fetched")
        mempool = await self.source.mempool(self.watched.scripts)
        cursor = blocks[-1].header if blocks else fork
        batch = Batch(blocks, cursor, orphaned_from=fork.height, mempool=mempool)
        await self._apply(batch)
        self._recount = True
        self.status.reorged(fork.height, self.clock())

    async def _apply(self, batch: Batch) -> None:
        await self.db.run(lambda c: self.effects.apply_batch(c, batch, self.clock()))

    async def _mempool(self, processed_hash: str) -> None:
        await self.db.run_read(self.watched.refresh)
        view = await self.source.mempool(self.watched.scripts)
        if view is None:
            return
        # A transaction absent from the mempool may have been mined in a block we
        # have not processed yet: judge drops only against an unchanged tip.
        if (await self.source.tip()).hash != processed_hash:
            return
        await self.db.run(lambda c: self.effects.apply_mempool(c, view, self.clock()))

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the chain until ``stop`` is set. While the node (every endpoint) fails it
        is asked again every poll interval, or sooner on news (a socket back up), never
        after a growing pause; the failure is logged when it starts or changes, not each
        round. Anything else propagates to the supervisor."""
        failing: str | None = None
        while not stop.is_set():
            self._nudged.clear()
            try:
                await self.sync_once()
            except (ChainUnavailable, ChainMoved, ForkNotFound) as exc:
                self.status.failed(str(exc), self.clock())
                if str(exc) != failing:
                    poll = self.settings.poll_interval
                    log.warning("chain %s: %s (asking again every %gs)", self.chain, exc, poll)
                failing = str(exc)
            else:
                if failing is not None:
                    log.info("chain %s: the node answers again", self.chain)
                failing = None
            # Until the source has news (a poll interval, or longer while a healthy head
            # feed is the trigger), a nudge, or ``stop``. A failing watcher polls, and
            # ignores nudges (a flood of notifications must not hammer it).
            poll = self.settings.poll_interval
            news = self.source.wait_for_news(poll)
            if failing is not None:
                await wait_for_any(stop, news, timeout=poll)
            else:
                await wait_for_any(stop, news, self._nudged)
