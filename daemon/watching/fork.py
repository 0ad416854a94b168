"""Finding where the node's chain and the blocks we processed part ways.

The walk compares the node's headers with the blocks we remember (the last
``keep_blocks``). When the fork lies deeper, it goes on with the blocks of the
payments we stored (every live transfer keeps its block's height and hash): the
fork is at or above the highest such block the node still has, so rolling back to
it marks every orphaned payment removed and scans the new branch from there. When
nothing we stored below the remembered blocks is on the node's chain, where the
chains part cannot be told: :class:`ForkNotFound`, and the watcher halts until an
operator says where to resume (`paywatch chain resume`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from functools import partial

from sqlalchemy import Connection, select

from chains.watching import BlockHeader, ChainSource
from daemon.errors import WatchError
from daemon.storage.database import Database
from daemon.storage.tables import transfers
from daemon.watching import ledger
from daemon.watching.ledger import Cursor

log = logging.getLogger(__name__)

WALK_CHUNK = 32  # headers asked for per round trip while walking back


class ForkNotFound(WatchError):
    """The node's chain parts from ours below every block we can still recognise."""


async def find_fork(
    db: Database, source: ChainSource, chain: str, cursor: Cursor, tip: BlockHeader
) -> BlockHeader | None:
    """The last block both chains share (or one below it that both share), or None
    when the node's chain still contains our cursor (or is merely behind it)."""
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
    below = lowest if lowest is not None else height
    log.warning(
        "chain %s: reorg deeper than the remembered blocks (from %d); looking for the "
        "fork by the blocks of stored payments",
        chain,
        below,
    )
    return await _below_remembered(db, source, chain, below)


async def _below_remembered(
    db: Database, source: ChainSource, chain: str, below: int
) -> BlockHeader:
    """The highest block of a stored payment below ``below`` that the node still has."""
    differs: int | None = None
    while True:
        stored = await db.run_read(partial(payment_blocks_below, chain=chain, height=below))
        if not stored:
            break
        heights = sorted(stored, reverse=True)
        for header in await source.headers(heights):
            if stored[header.height] == {header.hash}:
                log.warning(
                    "chain %s: block %d, holding a stored payment, is still on the node's "
                    "chain: rolling back to it",
                    chain,
                    header.height,
                )
                return header
            differs = header.height
        below = heights[-1]
    lowest = below if differs is None else differs
    raise ForkNotFound(
        f"chain {chain}: the node's chain parts from the blocks processed somewhere below "
        f"block {lowest}, deeper than the blocks remembered, and no stored payment below "
        f"is on the node's chain to tell where. The watcher is halted: check the node "
        f"(the right network, fully synced), then run `paywatch chain resume {chain} "
        f"--from HEIGHT` with a height at or below the fork"
    )


def payment_blocks_below(
    conn: Connection, chain: str, height: int, limit: int = WALK_CHUNK
) -> dict[int, set[str]]:
    """The block hashes of live stored payments at the ``limit`` highest heights below
    ``height`` (a height may show two hashes only if something is inconsistent)."""
    top = (
        select(transfers.c.block_height)
        .where(
            transfers.c.chain == chain,
            transfers.c.block_height < height,
            transfers.c.removed.is_(False),
        )
        .group_by(transfers.c.block_height)
        .order_by(transfers.c.block_height.desc())
        .limit(limit)
        .subquery()
    )
    query = select(transfers.c.block_height, transfers.c.block_hash).where(
        transfers.c.chain == chain,
        transfers.c.removed.is_(False),
        transfers.c.block_height.in_(select(top.c.block_height)),
    )
    found: dict[int, set[str]] = defaultdict(set)
    for row in conn.execute(query):
        found[int(row.block_height)].add(str(row.block_hash))
    return dict(found)
