"""A chain's first sync on litecoind: an order created while no watcher ran, and paid
before the watcher first looked, is found (a new watcher used to start at the tip)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import pytest

from tests.integration.bitcoin.watching import Order, watched_container
from tests.support.clock import ManualClock
from tests.support.litecoind import Litecoind

COIN = Decimal(100_000_000)
HOUR = 3600


def received_on_chain(node: Litecoind, script: bytes) -> int:
    """What ``script`` got in the node's best chain, walking every block (base units)."""
    total = 0
    for height in range(1, node.height() + 1):
        block = node.rpc("getblock", node.block_hash(height), 2)
        for tx in block["tx"]:
            for out in tx["vout"]:
                if out["scriptPubKey"]["hex"] == script.hex():
                    total += int(Decimal(str(out["value"])) * COIN)
    return total


def test_an_order_paid_before_the_first_sync_is_paid(
    node: Litecoind, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daemon.watching.engine")
    now = int(time.time())
    node.rpc("setmocktime", now + 6 * HOUR)
    node.mine(5)  # blocks made hours before the order
    first_after = node.height() + 1
    node.rpc("setmocktime", now + 9 * HOUR)
    try:
        with watched_container(node) as container:
            cast(ManualClock, container.clock).now = datetime.fromtimestamp(now + 9 * HOUR, UTC)
            order = Order(container, "ltcreg", 12_345_678, 1)  # while no watcher runs
            node.send(order.pay_to, str(Decimal(order.amount_base) / COIN))
            node.mine(3)
            watcher = container.watchers["ltcreg"]  # as the daemon builds it
            try:
                asyncio.run(watcher.sync_once())
            finally:
                asyncio.run(watcher.source.aclose())
            on_chain = received_on_chain(node, order.script)
            assert on_chain == order.amount_base
            state = order.state()
            assert (state["status"], state["received_base"]) == ("paid", on_chain)
            assert order.events()[-1] == "order.paid"
            # Two hours (the Bitcoin margin) before the order: after the blocks made
            # six hours in, not at genesis.
            assert f"starting at block {first_after} " in caplog.text
    finally:
        node.rpc("setmocktime", 0)
