"""The endpoint pool's judgement, with hand-driven clocks (no I/O)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from chains.endpoints import EndpointPool
from chains.watching import BlockHeader, BlockNotFound, ChainUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def head(height: int, timestamp: float) -> BlockHeader:
    return BlockHeader(height, f"0x{height:x}", f"0x{height - 1:x}", int(timestamp))


def pool(
    clock: Clock, n: int = 2, *, block_time: float | None = 2.0, poll: float = 1.0
) -> EndpointPool[str]:
    names = [f"node{i}" for i in range(n)]
    return EndpointPool(
        names,
        [f"http://{x}" for x in names],
        block_time=block_time,
        default_block_time=12.0,
        poll_interval=poll,  # lag grace and settle: 0.5 s
        stale_blocks=5,
        max_lag_blocks=3,
        name="eth",
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


def test_a_head_behind_what_another_showed_a_grace_earlier_lags() -> None:
    clock = Clock()
    p = pool(clock)
    p.observe_head(0, head(100, clock.now))
    p.observe_head(1, head(101, clock.now))  # node1 got block 101 first: propagation
    assert p.ranked() == [0, 1]
    clock.now += 0.4
    p.observe_head(0, head(100, clock.now), asked_at=clock.now)  # within the grace
    assert p.ranked() == [0, 1]
    clock.now += 0.1
    p.observe_head(0, head(100, clock.now), asked_at=clock.now)  # 0.5 s on: still 100
    assert p.ranked() == [1, 0]
    assert p.health()[0].error == "lagging: head 100, http://node1 had 101 before"
    clock.now += 0.5
    p.observe_head(0, head(101, clock.now), asked_at=clock.now)  # caught up
    assert p.ranked() == [0, 1]


def test_a_head_far_behind_lags_at_once_but_not_behind_what_came_later() -> None:
    clock = Clock()
    p = pool(clock)
    p.observe_head(1, head(110, clock.now))
    p.observe_head(0, head(100, clock.now), asked_at=clock.now - 0.01)  # asked before: fair
    assert p.ranked() == [0, 1]
    clock.now += 0.01
    p.observe_head(0, head(100, clock.now), asked_at=clock.now)
    assert p.ranked() == [1, 0]
    # A node that went down no longer condemns the others.
    p.observe_error(1, ChainUnavailable("node1 down"))
    assert p.ranked() == [0, 1]


def test_a_reorg_to_a_lower_head_does_not_leave_a_phantom_height() -> None:
    clock = Clock()
    p = pool(clock)
    p.observe_head(1, head(105, clock.now))
    clock.now += 1
    p.observe_head(1, head(101, clock.now))  # node1 reorged to a shorter chain
    p.observe_head(0, head(101, clock.now), asked_at=clock.now)
    assert p.ranked() == [0, 1]


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_every_round_probes_every_endpoint_and_judges_by_fresh_heads() -> None:
    clock = Clock()
    p = pool(clock)
    probed: list[str] = []
    heights = {"node0": 50, "node1": 50}
    down: set[str] = set()

    async def get_head(name: str) -> BlockHeader:
        probed.append(name)
        if name in down:
            raise ChainUnavailable(f"http://{name}: ConnectError")
        return head(heights[name], clock.now)

    async def rounds() -> list[int]:
        out = []
        out.append((await p.refresh(get_head)).height)
        clock.now += 30  # node1 was last asked 30 s ago: its head then (50) is not used
        heights["node1"] = 80
        down.add("node0")
        out.append((await p.refresh(get_head)).height)
        clock.now += 1
        down.clear()  # node0 is back: used again at its first answer, no waiting period
        heights["node0"] = 81
        out.append((await p.refresh(get_head)).height)
        await p.aclose()
        return out

    assert run(rounds()) == [50, 80, 81]
    assert probed == ["node0", "node1"] * 3
    assert p.preferred == 0


def test_nothing_answering_raises_and_the_next_answer_is_taken() -> None:
    clock = Clock()
    p = pool(clock)
    up = False

    async def get_head(name: str) -> BlockHeader:
        if not up:
            raise ChainUnavailable(f"http://{name}: ConnectError")
        return head(7, clock.now)

    async def go() -> BlockHeader:
        nonlocal up
        with pytest.raises(ChainUnavailable, match=r"node0: ConnectError.*node1: ConnectError"):
            await p.refresh(get_head)
        up = True
        return await p.refresh(get_head)

    assert run(go()) == head(7, clock.now)


def test_a_slow_endpoint_is_not_waited_for_and_recovers_when_it_answers() -> None:
    clock = Clock()
    p = pool(clock)
    release = asyncio.Event()

    async def get_head(name: str) -> BlockHeader:
        if name == "node0":
            await release.wait()  # hangs until released
            return head(9, clock.now)
        clock.now += 1  # node1 answers; the hung probe is older than the settle time
        return head(9, clock.now)

    async def go() -> None:
        tip = await p.refresh(get_head)  # waits the settle time (0.5 s) for node0, no more
        assert p.preferred == 1
        assert tip.height == 9
        health = p.health()
        assert str(health[0].error).startswith("slow")
        assert health[1].extra == {"preferred": "true"}
        release.set()
        for _ in range(20):  # let the background probe finish
            await asyncio.sleep(0)
        assert p.health()[0].healthy  # it answered after all
        await p.refresh(get_head)
        assert p.preferred == 0
        await p.aclose()

    run(go())


def test_a_probe_that_never_answers_times_out() -> None:
    clock = Clock()
    p = EndpointPool(["node0"], ["http://node0"], probe_timeout=0.05, monotonic=clock)

    async def get_head(name: str) -> BlockHeader:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    with pytest.raises(ChainUnavailable, match=r"no head within 0\.05 s"):
        run(p.refresh(get_head))


def test_switches_are_logged_once_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    p = pool(clock)
    broken = {"node0"}

    async def get_head(name: str) -> BlockHeader:
        if name in broken:
            raise ChainUnavailable(f"http://{name}: HTTP 502 Bad Gateway")
        return head(5, clock.now)

    async def go() -> None:
        for _ in range(3):
            clock.now += 1
            await p.refresh(get_head)
        broken.clear()
        for _ in range(3):
            clock.now += 1
            await p.refresh(get_head)

    caplog.set_level(logging.INFO, logger="chains.endpoints")
    run(go())
    assert [r.getMessage() for r in caplog.records] == [
        "eth: using http://node1 (http://node0: http://node0: HTTP 502 Bad Gateway)",
        "eth: using http://node0 again (it answers well)",
    ]


def test_run_uses_the_preferred_endpoint_and_fails_over() -> None:
    clock = Clock()
    p = pool(clock)
    calls: list[str] = []

    async def op(name: str) -> str:
        calls.append(name)
        if name == "node0":
            raise ChainUnavailable("http://node0: ConnectError")
        return name

    assert run(p.run(op)) == "node1"
    assert calls == ["node0", "node1"]
    assert p.ranked() == [1, 0]
    assert p.preferred == 1
    assert p.health()[0].error == "http://node0: ConnectError"

    async def down(name: str) -> str:
        raise ChainUnavailable(f"{name} down")

    with pytest.raises(ChainUnavailable, match="node1 down; node0 down"):
        run(p.run(down))

    async def moved(name: str) -> str:
        raise BlockNotFound("the chain moved")

    with pytest.raises(BlockNotFound):
        run(p.run(moved))


def test_block_time_configured_else_measured_else_default() -> None:
    clock = Clock()
    assert pool(clock, block_time=3.0).block_time == 3.0
    p = pool(clock, block_time=None)
    assert p.block_time == 12.0
    for n, ts in enumerate([0, 2, 4, 10, 12, 14, 16]):  # one 6 s gap (three blocks)
        p.observe_head(0, head(100 + n + (2 if n >= 3 else 0), 1_000 + ts))
    assert p.block_time == 2.0  # the median of 2, 2, 2, 2, 2, 2


def test_recheck_in_says_when_the_preferred_could_be_judged_lagging() -> None:
    clock = Clock()
    p = pool(clock)

    async def get_head(name: str) -> BlockHeader:
        return head(10 if name == "node0" else 11, clock.now)

    run(p.refresh(get_head))
    assert p.preferred == 0
    assert p.recheck_in() == pytest.approx(0.5)
    clock.now += 0.3
    assert p.recheck_in() == pytest.approx(0.2)
