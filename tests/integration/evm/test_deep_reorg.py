"""A reorg on anvil deeper than the blocks the watcher remembers: the payment below the
remembered blocks that the new chain no longer has is removed, and the order's total
is what the node shows."""

from __future__ import annotations

import asyncio

from tests.integration.evm.watching import events_of, evm_container, order, state
from tests.support.anvil import Anvil
from tests.support.keys import USDC_CONTRACT
from tests.support.single import address_of
from tests.support.watching import chain_watcher

ETHER = 10**18


def test_a_payment_below_the_remembered_blocks_that_vanishes_is_reversed(
    anvil: Anvil, loop: asyncio.AbstractEventLoop
) -> None:
    with evm_container(anvil.url, USDC_CONTRACT) as c:
        eth = chain_watcher(c, "eth", start_height=anvil.height(), keep_blocks=3, batch_size=2)
        try:
            loop.run_until_complete(eth.sync_once())
            stays = order(c, "eth", "ETH", "1", "stays")
            vanishes = order(c, "eth", "ETH", "2", "vanishes")
            anvil.send(address_of(stays), ETHER)  # block S, below the fork
            anvil.mine(3)
            anvil.send(address_of(vanishes), 2 * ETHER)  # block S + 4
            vanished_at = anvil.height()
            anvil.mine(6)
            loop.run_until_complete(eth.sync_once())
            assert state(c, vanishes["id"]) == ("paid", "none", 2 * ETHER)
            # Replace everything from the block below the second payment: 8 blocks, 5
            # more than the watcher remembers; the new ones carry no payment.
            anvil.rpc("anvil_reorg", anvil.height() - vanished_at + 2, [])
            anvil.mine(1)
            loop.run_until_complete(eth.sync_once())
        finally:
            loop.run_until_complete(eth.source.aclose())
        assert eth.status.reorgs == 1
        assert eth.status.halted is None
        for made in (stays, vanishes):
            on_chain = anvil.balance(address_of(made))
            assert state(c, made["id"])[2] == on_chain
        assert anvil.balance(address_of(vanishes)) == 0
        assert state(c, vanishes["id"]) == ("pending", "none", 0)
        assert events_of(c, vanishes["id"])[-1] == "order.payment_reversed"
        assert state(c, stays["id"]) == ("paid", "none", ETHER)
