"""Migration 0005: stored ERC-20 transfers take their place in their transaction as
their index, and keep the node's log index beside; nothing else changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from daemon.storage.database import Database
from daemon.storage.migrations import upgrade
from daemon.storage.tables import orders, transfers
from tests.conftest import DbFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVM_TX = "0x" + "ab" * 32
OTHER_EVM_TX = "0x" + "cd" * 32
BTC_TX = "ef" * 32


def _order(seq: int, chain: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": f"ord_{seq}",
        "order_id": f"ref-{seq}",
        "chain": chain,
        "asset": "USDC",
        "decimals": 6,
        "amount_base": 5,
        "address": f"address-{seq}",
        "script": bytes([seq]) * 20,
        "keyspace": chain,
        "derivation_index": seq,
        "status": "paid",
        "exception": "none",
        "confirmations_required": 2,
        "tolerance_ppm": 0,
        "received_base": 5,
        "received_confirmed_base": 5,
        "created_at": T0,
        "updated_at": T0,
        "expires_at": T0,
        "late_until": T0,
    }


def _transfer(order_seq: int, chain: str, tx_hash: str, index: int) -> dict[str, Any]:
    return {
        "order_seq": order_seq,
        "chain": chain,
        "tx_hash": tx_hash,
        "output_index": index,
        "asset": "USDC",
        "amount_base": 5,
        "block_height": 10,
        "block_hash": "0x01",
        "confirmations": 3,
        "finalized": False,
        "removed": False,
        "seen_at": T0,
        "updated_at": T0,
    }


def test_stored_erc20_transfers_are_keyed_by_their_place_in_the_transaction(
    make_database_url: DbFactory,
) -> None:
    db = Database(make_database_url())
    try:
        upgrade(db.engine, "0004")
        old = [
            # One transaction paying two orders at log indexes 7 and 3, and its own
            # value and an internal transfer (negative indexes: kept).
            (1, "eth", EVM_TX, 7),
            (2, "eth", EVM_TX, 3),
            (1, "eth", EVM_TX, -1),
            (2, "eth", EVM_TX, -2),
            # The same hash on another chain is another transaction.
            (3, "polygon", EVM_TX, 5),
            (1, "eth", OTHER_EVM_TX, 12),
            (1, "eth", "balance:0x" + "01" * 20, -1),
            (4, "btc", BTC_TX, 4),  # a Bitcoin output index: kept
        ]
        with db.engine.begin() as conn:
            conn.execute(
                insert(orders).values(
                    [_order(1, "eth"), _order(2, "eth"), _order(3, "polygon"), _order(4, "btc")]
                )
            )
            conn.execute(insert(transfers), [_transfer(*row) for row in old])
        upgrade(db.engine)
        with db.engine.connect() as conn:
            query = select(
                transfers.c.order_seq,
                transfers.c.chain,
                transfers.c.tx_hash,
                transfers.c.output_index,
                transfers.c.log_index,
            ).order_by(transfers.c.seq)
            rows = [tuple(row) for row in conn.execute(query)]
        assert rows == [
            (1, "eth", EVM_TX, 1, 7),
            (2, "eth", EVM_TX, 0, 3),
            (1, "eth", EVM_TX, -1, None),
            (2, "eth", EVM_TX, -2, None),
            (3, "polygon", EVM_TX, 0, 5),
            (1, "eth", OTHER_EVM_TX, 0, 12),
            (1, "eth", "balance:0x" + "01" * 20, -1, None),
            (4, "btc", BTC_TX, 4, None),
        ]
    finally:
        db.close()
