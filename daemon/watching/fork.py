"""Finding where the node's chain and the blocks we processed part ways."""

from __future__ import annotations

import logging
from functools import partial

from chains.watching import BlockHeader, ChainSource
from daemon.storage.database import Database
from daemon.watching import ledger
from daemon.watching.ledger import Cursor

log = logging.getLogger(__name__)

WALK_CHUNK = 32  # headers asked for per round trip while walking back


async def find_fork(
    db: Database, source: ChainSource, chain: str, cursor: Cursor, tip: BlockHeader
) -> BlockHeader | None:
    """The last block both chains share, or None when the node's chain still
    contains our cursor (or is merely behind it)."""
    height = min(cursor.height, tip.height)
    theirs = tip if height == tip.height else (await source.headers([height]))[0]
    if height == cursor.height:
        ours: str | None = cursor.hash
    else:
        ours = (await db.run_read(lambda c: ledger.stored_hashes(c, chain, [height]))).get(height)
    if ours is None or ours == theirs.hash:
        # Behind our window (a lagging node) or the same chain: nothing to undo.
        return None
    lowest = await db.run_read(lambda c: ledger.lowest_stored_height(c, chain))
    top = height - 1
    while lowest is not None and top >= lowest:
        heights = list(range(top, max(lowest, top - WALK_CHUNK + 1) - 1, -1))
        headers = await source.headers(heights)
        mine = await db.run_read(partial(ledger.stored_hashes, chain=chain, heights=heights))
        for header in headers:
            if mine.get(header.height) == header.hash:
                return header
        top = heights[-1] - 1
    base = max((lowest if lowest is not None else height) - 1, 0)
    log.error(
        "chain %s: reorg deeper than the %s remembered blocks; rolling back to block %d",
        chain,
        "few" if lowest is None else height - lowest + 1,
        base,
    )
    return (await source.headers([base]))[0]
