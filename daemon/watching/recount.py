"""Confirmations counted on a chain that a reorg then shortened.

The confirmation count skips transfers already deep enough for their order, so a
reorg whose new branch is shorter than the old one would leave the transfers below
its fork with the longer chain's counts. After a reorg (and at each full count, in
case the process stopped in between) the watcher asks where the lowest such
transfer is and counts every transfer from there up again, whatever its depth.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from daemon.storage.tables import transfers


def lowest_overcounted(conn: Connection, chain: str, height: int) -> int | None:
    """The lowest block holding a live transfer whose stored confirmations exceed its
    depth below the processed ``height``; None when there is none."""
    depth = height - transfers.c.block_height + 1
    query = select(func.min(transfers.c.block_height)).where(
        transfers.c.chain == chain,
        transfers.c.block_height <= height,
        transfers.c.removed.is_(False),
        transfers.c.finalized.is_(False),
        transfers.c.confirmations > depth,
    )
    lowest = conn.execute(query).scalar_one_or_none()
    return None if lowest is None else int(lowest)
