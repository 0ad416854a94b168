"""When an EVM watcher looks at the chain again: at once when a WebSocket announces a
head; otherwise, and as a slow safety net, every poll interval.

While the socket is connected, has announced a head within ``QUIET_BLOCKS`` block
times, every HTTP endpoint is healthy and the last tip fetched over HTTP shows the
announced head, a wait lasts until the next head or ``max(poll interval,
QUIET_BLOCKS block times)`` after the last one; otherwise it is the poll interval, as
without a socket. The socket's heads are never trusted for payments: they only wake
the watcher, and each round still asks every endpoint for its head over HTTP.
"""

from __future__ import annotations

from typing import Any

from chains.endpoints import EndpointPool
from chains.evm.newheads import NewHeads
from chains.watching import BlockHeader

QUIET_BLOCKS = 3  # block times a connected socket may stay silent and still be relied on


def news_timeout(
    newheads: NewHeads | None, pool: EndpointPool[Any], tip: BlockHeader | None, poll: float
) -> float:
    """How long a wait for news lasts at most: ``poll``, unless the WebSocket is relied
    on; then until ``max(poll, QUIET_BLOCKS block times)`` after its last head (quiet by
    then, the next round polls). Sooner when an endpoint's lag is due."""
    timeout = poll
    if newheads is not None and _heads_relied_on(newheads, pool, tip, poll):
        quiet = newheads.quiet_for()
        assert quiet is not None
        timeout = max(poll, _quiet_limit(pool, poll) - quiet)
    recheck = pool.recheck_in()  # an endpoint's lag is judged sooner than a poll
    return timeout if recheck is None else min(timeout, recheck)


def _quiet_limit(pool: EndpointPool[Any], poll: float) -> float:
    return max(poll, QUIET_BLOCKS * pool.block_time)


def _heads_relied_on(
    newheads: NewHeads, pool: EndpointPool[Any], tip: BlockHeader | None, poll: float
) -> bool:
    quiet = newheads.quiet_for()
    if quiet is None or quiet >= _quiet_limit(pool, poll):
        return False  # down, or gone quiet
    if not all(h.healthy for h in pool.health()):
        return False  # an endpoint failing or lagging is looked at every poll
    head = newheads.head
    if tip is None:
        return False
    # The HTTP endpoints have not shown the announced head yet: poll until they do.
    return head is None or (tip.height, tip.hash.lower()) == head or tip.height > head[0]
