"""Migration 0008: symbols stored in lower case by a config that spelled them so come
to the canonical upper case, and the order they were paid to counts them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, text

from daemon.config.loading import parse_config
from daemon.domain.states import OrderStatus
from daemon.runtime.container import build
from daemon.services.order_records import load_order
from daemon.storage.migrations import upgrade
from daemon.storage.tables import orders, transfers
from tests.conftest import DbFactory
from tests.integration.test_migration_erc20_ordinals import T0, _order, _transfer
from tests.support.clock import ManualClock
from tests.support.configs import config_yaml


def test_lower_case_symbols_are_upper_cased_and_then_count(make_database_url: DbFactory) -> None:
    container = build(parse_config(config_yaml(make_database_url())), clock=ManualClock())
    db = container.db
    try:
        upgrade(db.engine, "0007")
        pending = {
            "status": "pending",
            "received_base": 0,
            "received_confirmed_base": 0,
            "expires_at": T0 + timedelta(hours=1),
            "late_until": T0 + timedelta(hours=2),
        }
        order = _order(1, "eth") | pending | {"address": "0x" + "01" * 20}
        other = _order(2, "eth") | {"asset": "usdc", "address": "0x" + "02" * 20}
        paid = _transfer(1, "eth", "0x" + "ab" * 32, 0) | {"asset": "usdc"}
        with db.transaction() as conn:
            conn.execute(insert(orders), [order, other])
            conn.execute(insert(transfers), [paid])
        upgrade(db.engine)
        with db.transaction() as conn:
            assets = conn.execute(select(transfers.c.asset)).scalars().all()
            order_assets = conn.execute(select(orders.c.asset).order_by(orders.c.seq))
            assert [row.asset for row in order_assets] == ["USDC", "USDC"]
        assert assets == ["USDC"]
        # Evaluated again (a block, the expiry job, `paywatch order refresh`), the order
        # counts the transfer it could not before.
        with db.transaction() as conn:
            record = load_order(conn, "ord_1", lock=True)
            assert record is not None
            after = container.orders.changes.refresh(conn, record, T0 + timedelta(minutes=5))
        assert after.received_base == 5
        assert after.status is OrderStatus.PAID
    finally:
        container.close()


def test_row_numbers_are_64_bit(make_database_url: DbFactory) -> None:
    """Migration 0009: every `seq` (and what points at one) holds more than 2**31 rows'
    numbers, its sequence included; a row numbered past int4 goes in."""
    container = build(parse_config(config_yaml(make_database_url())), clock=ManualClock())
    db = container.db
    try:
        upgrade(db.engine)
        with db.transaction() as conn:
            big = _order(9, "eth") | {"seq": 2**31 + 5, "id": "ord_big", "order_id": "big"}
            big["checkout_token"] = "big"
            conn.execute(insert(orders), [big])
            conn.execute(insert(transfers), [_transfer(2**31 + 5, "eth", "0x" + "cd" * 32, 0)])
            if conn.dialect.name == "postgresql":
                for sequence in ("orders_seq_seq", "events_seq_seq", "transfers_seq_seq"):
                    top = conn.execute(
                        text("SELECT max_value FROM pg_sequences WHERE sequencename = :s"),
                        {"s": sequence},
                    ).scalar_one()
                    assert top > 2**31, sequence
            seqs = conn.execute(select(transfers.c.order_seq)).scalars().all()
        assert seqs == [2**31 + 5]
    finally:
        container.close()
