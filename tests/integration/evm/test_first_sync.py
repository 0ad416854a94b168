"""A chain's first sync on anvil: an order created while no watcher ran, and paid
before the watcher first looked, is found (a new watcher used to start at the tip)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import cast

import pytest

from tests.integration.evm.watching import events_of, evm_container, order, state
from tests.support.anvil import Anvil
from tests.support.clock import ManualClock
from tests.support.keys import USDC_CONTRACT
from tests.support.single import address_of

ETHER = 10**18


def stamp(anvil: Anvil, height: int | str = "latest") -> int:
    tag = height if isinstance(height, str) else hex(height)
    return int(anvil.rpc("eth_getBlockByNumber", tag, False)["timestamp"], 16)


def test_an_order_paid_before_the_first_sync_is_paid(
    anvil: Anvil, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daemon.watching.engine")
    anvil.rpc("anvil_mine", hex(60), hex(600))  # an hour of blocks ten minutes apart
    with evm_container(anvil.url, USDC_CONTRACT) as c:
        # The order is made just after the newest block, while no watcher runs.
        cast(ManualClock, c.clock).now = datetime.fromtimestamp(stamp(anvil) + 1, UTC)
        made = order(c, "eth", "ETH", "1.5", "before-first-sync")
        anvil.send(address_of(made), 15 * ETHER // 10)  # mined at once (automine)
        anvil.mine(3)
        eth = c.watchers["eth"]  # as the daemon builds it, no start_height
        try:
            loop.run_until_complete(eth.sync_once())
        finally:
            loop.run_until_complete(eth.source.aclose())
        on_chain = anvil.balance(address_of(made))
        assert on_chain == 15 * ETHER // 10
        assert state(c, made["id"]) == ("paid", "none", on_chain)
        assert events_of(c, made["id"])[-1] == "order.paid"
        # It started ten minutes (the EVM margin) before the order, not at genesis.
        assert "starting at block 60 " in caplog.text
