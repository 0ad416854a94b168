"""``paywatch chain rescan``: look at processed blocks again, for payments to orders
whose scripts were not watched then (an order restored from a backup, a database
rebuilt from the node). The cursor does not move; transfers already known are
merged, never counted twice; blocks that no longer match the chain we processed
are refused (the watcher resolves that reorg first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from daemon.watching import ledger
from daemon.watching.engine import ChainWatcher


class RescanError(Exception):
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
        heights = [b.header.height for b in blocks]
        stored = await watcher.db.run_read(
            partial(ledger.stored_hashes, chain=chain, heights=heights)
        )
        for block in blocks:
            known = stored.get(block.header.height)
            if known is not None and known != block.header.hash:
                raise RescanError(
                    f"block {block.header.height} differs from the one processed: "
                    "let the watcher resolve the reorg, then rescan"
                )
        found += await watcher.db.run(
            partial(
                watcher.effects.apply_rescan,
                blocks=blocks,
                reference=cursor.height,
                now=watcher.clock(),
            )
        )
        if progress is not None:
            progress(end - start + 1)
        start = end + 1
    return RescanReport(first, last, found)
