"""Where a new watcher (one with no cursor yet) starts.

An order can be created while no watcher of its chain runs: the daemon stopped, its
node unreachable at start, the chain just added to the config. By the time the
watcher first syncs the order may be paid, so starting at the tip would miss that
payment for good. A new watcher therefore starts at the first block made at or
after the earliest open order's creation, less a margin for block timestamps that
lag (Bitcoin's median-time-past rule lets a block's time trail the real one), found
by a binary search over the node's headers. With no open order it starts at the tip;
``chains.<name>.start_height`` overrides both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, or_, select

from chains.watching import BlockHeader, ChainSource
from daemon.domain.states import OPEN_STATUSES, OrderStatus
from daemon.storage.order_targets import order_targets

log = logging.getLogger(__name__)

# How far a block's timestamp may trail the moment it was made (plus clock skew
# between this host and the chain). Bitcoin-family: up to ~2 h under the
# median-time-past rule; EVM chains' timestamps rise with every block.
BITCOIN_MARGIN = timedelta(hours=2)
EVM_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class StartPoint:
    height: int
    reason: str


def earliest_open_order(conn: Connection, chain: str, now: datetime) -> datetime | None:
    """When the chain's earliest order that can still receive a reportable payment was
    created: pending or processing, or expired but inside its late window."""
    t = order_targets([chain])
    can_receive = or_(
        t.c.status.in_(sorted(OPEN_STATUSES)),
        and_(t.c.status == str(OrderStatus.EXPIRED), t.c.late_until > now),
    )
    query = select(t.c.created_at).where(can_receive).order_by(t.c.created_at).limit(1)
    created: datetime | None = conn.execute(query).scalar_one_or_none()
    return created


async def first_block_at_or_after(source: ChainSource, timestamp: int, tip: BlockHeader) -> int:
    """The lowest height whose block is stamped ``timestamp`` or later (the tip's
    height when none is), in log2(tip) requests.

    Where timestamps do not rise strictly with height (Bitcoin), the answer ``h``
    still has a block stamped before ``timestamp`` at ``h - 1``: with a margin larger
    than any lag, every block below ``h`` was made before the moment searched for.
    """
    if tip.timestamp < timestamp:
        return tip.height
    low, high = 0, tip.height  # the block at ``high`` is stamped late enough
    while low < high:
        middle = (low + high) // 2
        [header] = await source.headers([middle])
        if header.timestamp >= timestamp:
            high = middle
        else:
            low = middle + 1
    return low


async def start_point(
    source: ChainSource,
    tip: BlockHeader,
    earliest: datetime | None,
    *,
    margin: timedelta,
    configured: int | None,
) -> StartPoint:
    """Where a watcher without a cursor starts, and why (for the log)."""
    if configured is not None:
        return StartPoint(min(configured, tip.height), "chains.<name>.start_height")
    if earliest is None:
        return StartPoint(tip.height, "the tip: no open order")
    since = earliest - margin
    height = await first_block_at_or_after(source, int(since.timestamp()), tip)
    return StartPoint(
        height,
        f"the first block stamped at or after {since.isoformat()}: the earliest open "
        f"order was created at {earliest.isoformat()} (less a margin of {margin})",
    )
