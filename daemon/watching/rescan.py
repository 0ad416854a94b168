"""``paywatch chain rescan``: look at processed blocks again, for payments to orders
whose scripts were not watched then (an order restored from a backup, a database
rebuilt from the node). The cursor does not move; transfers already known are
merged, never counted twice; blocks that no longer match the chain we processed
are refused (the watcher resolves that reorg first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from chains.watching import ScannedBlock
from daemon.errors import WatchError
from daemon.watching import ledger
from daemon.watching.engine import ChainWatcher


class RescanError(WatchError):
    pass


@dataclass(frozen=True, slots=True)
class RescanReport:
    first: int
    last: int
    payments: int


async def rescan(
    watcher: ChainWatcher,
    first: int,
    last: int | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> RescanReport:
    """Rescan blocks ``first..last`` (default: up to the cursor); ``progress`` gets
    the number of blocks done after each batch."""
    chain = watcher.chain
    cursor = await watcher.db.run_read(lambda c: ledger.load_cursor(c, chain))
    if cursor is None:
        raise RescanError(f"chain {chain} has no cursor yet: run the daemon first")
    last = cursor.height if last is None else last
    if first < 0 or first > last:
        raise RescanError(f"--from {first}: choose a height from 0 to {last}")
    if last > cursor.height:
        raise RescanError(f"the watcher of {chain} has processed blocks up to {cursor.height} only")
    found = 0
    start = first
    while start <= last:
        end = min(last, start + watcher.settings.batch_size - 1)
        blocks = await watcher.scan_blocks(start, end)
        found += await watcher.db.run(partial(_apply, watcher=watcher, blocks=blocks))
        if progress is not None:
            progress(end - start + 1)
        start = end + 1
    return RescanReport(first, last, found)


def _apply(conn: Connection, watcher: ChainWatcher, blocks: Sequence[ScannedBlock]) -> int:
    """Check the blocks against those processed and apply them, in one transaction
    that holds the chain's writer lock and then the cursor (the order the watcher
    takes them in), so the watcher cannot replace these blocks before it commits."""
    chain = watcher.chain
    watcher.effects.changes.lock_chain(conn, chain)
    cursor = ledger.hold_cursor(conn, chain)
    assert cursor is not None
    stored = ledger.stored_hashes(conn, chain, [b.header.height for b in blocks])
    for block in blocks:
        if block.header.height > cursor.height:
            raise RescanError(
                f"block {block.header.height} is beyond the processed block {cursor.height} "
                "(the watcher rolled back a reorg meanwhile): rescan again"
            )
        known = stored.get(block.header.height)
        if known is not None and known != block.header.hash:
            raise RescanError(
                f"block {block.header.height} differs from the one processed: "
                "let the watcher resolve the reorg, then rescan"
            )
    # Depth counted to the cursor as it is now (the watcher may have moved on).
    return watcher.effects.apply_rescan(conn, blocks, cursor.height, watcher.clock())
