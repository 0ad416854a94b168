"""The endpoint pool's judgement, with hand-driven clocks (no I/O)."""

from __future__ import annotations

import asyncio

import pytest

from chains.endpoints import EndpointPool
from chains.watching import BlockHeader, ChainUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def head(height: int, timestamp: float) -> BlockHeader:
    return BlockHeader(height, f"0x{height:x}", f"0x{height - 1:x}", int(timestamp))


def pool(clock: Clock, n: int = 2) -> EndpointPool[str]:
    names = [f"node{i}" for i in range(n)]
    return EndpointPool(
        names,
        [f"http://{x}" for x in names],
        block_time=2.0,
        stale_blocks=5,
        max_lag_blocks=3,
        probe_interval=30.0,
        wall_clock=clock,
        monotonic=clock,
    )


def test_a_head_that_stops_advancing_is_stale_only_when_old_and_unchanged() -> None:
    clock = Clock()
    p = pool(clock, 1)
    p.observe_head(0, head(100, clock.now))
    clock.now += 9  # under five block times
    assert p.health()[0].healthy
    p.observe_head(0, head(100, clock.now - 9))
    clock.now += 2
    health = p.health()[0]
    assert not health.healthy
    assert str(health.error).startswith("stale")
    assert p.ranked() == [0]  # the only endpoint is still used


def test_old_timestamp_alone_is_not_stale() -> None:
    clock = Clock()
    p = pool(clock, 1)
    p.observe_head(0, head(100, clock.now - 3600))  # e.g. a node catching up, or clock skew
    assert p.health()[0].healthy


def test_lagging_endpoint_is_avoided_and_compared_fairly() -> None:
    clock = Clock()
    p = pool(clock)
    p.observe_head(0, head(100, clock.now))
    clock.now += 10
    p.observe_head(1, head(110, clock.now))
    # node0's head was seen long before node1's: not compared (it may have moved since).
    assert p.ranked() == [0, 1]
    clock.now += 1
    p.observe_head(0, head(100, clock.now - 1))  # asked again: still at 100
    assert p.ranked() == [1, 0]
    assert p.health()[0].error == "lagging: head 100, another endpoint had 110"
    # node0 caught up: healthy, and first again (configured order).
    clock.now += 1
    p.observe_head(0, head(110, clock.now))
    assert p.ranked() == [0, 1]


def test_failover_and_errors() -> None:
    clock = Clock()
    p = pool(clock)
    calls: list[str] = []

    async def op(name: str) -> str:
        calls.append(name)
        if name == "node0":
            raise ChainUnavailable("http://node0: ConnectError")
        return name

    assert asyncio.run(p.run(op)) == "node1"
    assert calls == ["node0", "node1"]
    assert p.ranked() == [1, 0]
    assert p.health()[0].error == "http://node0: ConnectError"

    async def down(name: str) -> str:
        raise ChainUnavailable(f"{name} down")

    with pytest.raises(ChainUnavailable, match="node1 down; node0 down"):
        asyncio.run(p.run(down))


def test_refresh_probes_others_only_when_due() -> None:
    clock = Clock()
    p = pool(clock)
    probed: list[str] = []
    heights = {"node0": 50, "node1": 50}

    async def get_head(name: str) -> BlockHeader:
        probed.append(name)
        return head(heights[name], clock.now)

    assert asyncio.run(p.refresh(get_head)).height == 50
    assert sorted(probed) == ["node0", "node1"]
    probed.clear()
    clock.now += 1
    heights["node0"] = 51
    assert asyncio.run(p.refresh(get_head)).height == 51
    assert probed == ["node0"]
    clock.now += 30
    probed.clear()
    asyncio.run(p.refresh(get_head))
    assert sorted(probed) == ["node0", "node1"]
