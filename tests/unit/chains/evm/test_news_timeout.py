"""How long the EVM source waits for news: newHeads as the trigger, polling as the
safety net (hand-driven clocks, a stand-in endpoint; no I/O)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from chains.endpoints import EndpointPool
from chains.evm.newheads import NewHeads
from chains.evm.news import QUIET_BLOCKS
from chains.evm.source import EvmSource, EvmSourceSettings
from chains.jsonrpc import JsonRpcClient
from chains.watching import ChainUnavailable

POLL = 1.0
BLOCK = 2.0
LIMIT = QUIET_BLOCKS * BLOCK  # 6 s: how long a quiet socket is still relied on


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Node:
    """Answers ``eth_getBlockByNumber("latest")`` with its head."""

    def __init__(self, clock: Clock) -> None:
        self.url = "http://node"
        self.height = 100
        self.clock = clock

    async def call(self, method: str, params: list[Any]) -> dict[str, str]:
        assert (method, params) == ("eth_getBlockByNumber", ["latest", False])
        return block(self.height, self.clock.now)


def block(height: int, timestamp: float) -> dict[str, str]:
    return {
        "number": hex(height),
        "hash": f"0x{height:064x}",
        "parentHash": f"0x{height - 1:064x}",
        "timestamp": hex(int(timestamp)),
    }


def announce(newheads: NewHeads, height: int, clock: Clock) -> None:
    notification = {"method": "eth_subscription", "params": {"result": block(height, clock.now)}}
    newheads.heard(notification)


def source(clock: Clock, n: int = 1) -> tuple[EvmSource, NewHeads, list[Node]]:
    nodes = [Node(clock) for _ in range(n)]
    pool = EndpointPool(
        cast(list[JsonRpcClient], nodes),
        [f"http://node{i}" for i in range(n)],
        block_time=BLOCK,
        poll_interval=POLL,
        wall_clock=clock,
        monotonic=clock,
    )
    made = EvmSource(pool, EvmSourceSettings(native_symbol="ETH", block_time=BLOCK))
    newheads = NewHeads("ws://node", poll_interval=POLL, monotonic=clock)
    made.newheads = newheads
    return made, newheads, nodes


def test_without_a_socket_it_polls() -> None:
    made, _, _ = source(Clock())
    made.newheads = None
    assert made.news_timeout(POLL) == POLL


def test_a_socket_announcing_the_head_the_endpoint_shows_is_the_trigger() -> None:
    clock = Clock()
    made, newheads, _ = source(clock)
    assert made.news_timeout(POLL) == POLL  # not connected yet
    newheads.connected = True
    announce(newheads, 100, clock)
    assert made.news_timeout(POLL) == POLL  # no tip asked over HTTP yet
    asyncio.run(made.tip())
    assert made.news_timeout(POLL) == LIMIT
    clock.now += 2.5
    assert made.news_timeout(POLL) == pytest.approx(LIMIT - 2.5)
    clock.now += LIMIT  # quiet for longer than three block times: poll
    assert made.news_timeout(POLL) == POLL
    newheads.connected = True
    announce(newheads, 101, clock)  # heads again, but the endpoint still shows 100
    asyncio.run(made.tip())
    assert made.news_timeout(POLL) == POLL


def test_a_dropped_socket_polls_at_once() -> None:
    clock = Clock()
    made, newheads, _ = source(clock)
    newheads.connected = True
    announce(newheads, 100, clock)
    asyncio.run(made.tip())
    assert made.news_timeout(POLL) == LIMIT
    newheads.connected = False
    assert newheads.quiet_for() is None
    assert made.news_timeout(POLL) == POLL


def test_a_failing_endpoint_is_looked_at_every_poll() -> None:
    clock = Clock()
    made, newheads, _ = source(clock, 2)
    newheads.connected = True
    announce(newheads, 100, clock)
    asyncio.run(made.tip())
    assert made.news_timeout(POLL) == LIMIT
    made.pool.observe_error(1, ChainUnavailable("http://node1: refused"))
    assert made.news_timeout(POLL) == POLL


def test_a_notification_that_does_not_parse_still_counts_as_news() -> None:
    clock = Clock()
    made, newheads, _ = source(clock)
    newheads.connected = True
    newheads.heard({"method": "eth_subscription", "params": {"result": {"number": "zz"}}})
    newheads.heard({"jsonrpc": "2.0", "id": 7, "result": True})  # not a notification
    assert newheads.heads_seen == 1
    assert newheads.head is None
    asyncio.run(made.tip())
    assert made.news_timeout(POLL) == LIMIT
