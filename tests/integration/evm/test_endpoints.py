"""Endpoints on real anvils: WebSocket newHeads and polling, restarts, a stale endpoint."""

from __future__ import annotations

import asyncio
import time

from tests.integration.evm.conftest import SourceFactory, hex_of, new_address
from tests.support.anvil import Anvil, anvil_node

ETHER = 10**18


def test_new_heads_wake_the_watcher_and_polling_covers_a_dropped_socket(
    anvil: Anvil, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    order = new_address()
    source = make_source([anvil.url], ws_url=anvil.ws_url, poll_interval=0.2)
    assert source.newheads is not None
    news = source.newheads
    loop.run_until_complete(source.wait_for_news(30))  # subscribes; a (re)connect wakes it
    assert news.connected
    assert news.connects == 1
    first = loop.run_until_complete(source.tip()).height + 1
    anvil.send(hex_of(order), ETHER)  # mined at once: newHeads is sent
    loop.run_until_complete(source.wait_for_news(30))
    assert news.heads_seen == 1
    assert source.health()[-1].healthy

    # The node goes away while a payment is on its way: waits fall back to polling.
    anvil.stop()
    loop.run_until_complete(source.wait_for_news(30))
    loop.run_until_complete(source.wait_for_news(30))
    assert not news.connected
    ws_health = source.health()[-1]
    assert not ws_health.healthy
    assert ws_health.url == anvil.ws_url

    anvil.start()  # same port, same chain (state written on stop)
    tx = anvil.send(hex_of(order), 2 * ETHER)
    for _ in range(100):
        loop.run_until_complete(source.wait_for_news(30))
        if news.connected:
            break
    assert news.connects == 2
    blocks = loop.run_until_complete(source.scan(first, anvil.height(), {order}))
    amounts = [p.amount for b in blocks for p in b.payments]
    assert amounts == [ETHER, 2 * ETHER]  # nothing missed across the restart
    assert blocks[-1].payments[0].tx_hash == tx


def test_polling_without_websocket_waits_the_timeout(
    anvil: Anvil, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    source = make_source([anvil.url])
    assert source.newheads is None
    loop.run_until_complete(source.wait_for_news(0.01))
    assert [h.url for h in source.health()] == [anvil.url]


def test_a_stale_endpoint_is_reported_and_avoided(
    anvil: Anvil, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    anvil.mine(5)
    anvil.stop()  # writes the chain to its state file
    anvil.start()
    with anvil_node(state_from=anvil.state_file) as stale:
        assert stale.height() == anvil.height()
        order = new_address()
        # The stale copy is configured first: preferred while it keeps up.
        source = make_source([stale.url, anvil.url], block_time=0.2)
        assert loop.run_until_complete(source.tip()).height == stale.height()
        anvil.mine(3)
        tx = anvil.send(hex_of(order), ETHER)
        anvil.mine(3)
        # The preferred endpoint's head is used as soon as it answers; the other's
        # answer may still be on its way, so the lag shows within a round or two. The
        # watcher's rounds are a poll interval apart: here, a few tenths of a second.
        deadline = time.monotonic() + 10
        tip = loop.run_until_complete(source.tip())
        while tip.height != anvil.height() and time.monotonic() < deadline:
            time.sleep(0.2)
            tip = loop.run_until_complete(source.tip())
        assert tip.height == anvil.height()
        health = source.health()
        assert [h.healthy for h in health] == [False, True]
        assert str(health[0].error).startswith("lagging")
        assert health[0].head_height == stale.height()
        blocks = loop.run_until_complete(source.scan(tip.height - 3, tip.height, {order}))
        assert [p.tx_hash for b in blocks for p in b.payments] == [tx]
