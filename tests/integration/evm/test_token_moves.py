"""An ERC-20 payment whose transaction a reorg mines again elsewhere is the same payment.

The same signed transaction is mined first after another transaction's token
transfer (log index 1), then, once the node has dropped that block, alone in a
later block after the order's expiry (log index 0): nothing is reversed or found
again, the order stays paid in time, only where the payment is changes.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sqlalchemy import select

from daemon.runtime.container import Container
from daemon.storage.tables import transfers
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import events_of, evm_container, order, state, watcher
from tests.support.anvil import Anvil, call_data

USDC = 10**6


def token_log_index(anvil: Anvil, tx_hash: str) -> tuple[int, int]:
    """(block height, log index) of the transaction's one Transfer log, from the node."""
    receipt = anvil.receipt(tx_hash)
    (log,) = receipt["logs"]
    return int(receipt["blockNumber"], 16), int(log["logIndex"], 16)


def stored_transfers(container: Container) -> list[Any]:
    return container.db.read(lambda conn: list(conn.execute(select(transfers))))


def test_a_token_payment_mined_again_at_another_log_index_stays_paid(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    token = contracts.token
    # A second sender, so that the payment's own nonce stays valid without the other.
    second = anvil.rpc("eth_accounts")[1]
    anvil.send(token, 0, data=call_data("transfer(address,uint256)", second, 100 * USDC))
    with evm_container(anvil.url, token) as c:
        eth = watcher(c, "eth", anvil.height())
        loop.run_until_complete(eth.sync_once())
        paid = order(c, "eth", "USDC", "5", "moved")
        before_fork = anvil.rpc("evm_snapshot")
        anvil.rpc("evm_setAutomine", False)
        stranger = "0x" + os.urandom(20).hex()
        anvil.send(
            token,
            0,
            sender=second,
            data=call_data("transfer(address,uint256)", stranger, USDC),
            wait=False,
        )
        payment = call_data("transfer(address,uint256)", paid["address"], 5 * USDC)
        tx = anvil.send(token, 0, data=payment, wait=False)
        anvil.mine()
        first_height, first_log = token_log_index(anvil, tx)
        assert first_log == 1  # after the other transaction's transfer
        raw = anvil.rpc("eth_getRawTransactionByHash", tx)
        anvil.mine()
        loop.run_until_complete(eth.sync_once())
        assert state(c, paid["id"]) == ("paid", "none", 5 * USDC)
        paid_events = events_of(c, paid["id"])
        assert paid_events == [
            "order.created",
            "order.payment_detected",
            "order.payment_confirmed",
            "order.paid",
        ]
        (row,) = stored_transfers(c)
        assert (row.output_index, row.log_index, row.block_height) == (0, 1, first_height)
        first_seen = row.seen_at

        c.clock.advance(minutes=20)  # type: ignore[attr-defined]  # past the expiry
        anvil.rpc("evm_revert", before_fork)
        anvil.rpc("evm_setAutomine", False)
        anvil.rpc("anvil_dropAllTransactions")
        anvil.mine(3)
        assert anvil.rpc("eth_sendRawTransaction", raw) == tx  # the same transaction, alone
        anvil.mine(2)
        moved_height, moved_log = token_log_index(anvil, tx)
        assert (moved_height, moved_log) == (first_height + 3, 0)
        loop.run_until_complete(eth.sync_once())

        assert state(c, paid["id"]) == ("paid", "none", 5 * USDC)
        assert events_of(c, paid["id"]) == paid_events  # moved, still paid: nothing new
        (row,) = stored_transfers(c)
        assert (row.tx_hash, row.output_index, row.removed) == (tx, 0, False)
        assert (row.log_index, row.block_height) == (0, moved_height)
        assert row.seen_at == first_seen
        loop.run_until_complete(eth.source.aclose())
