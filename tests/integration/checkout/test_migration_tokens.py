"""Migration 0013: orders made before the checkout page get a checkout token each
(random, unique, 43 characters), and their pages open."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from daemon.checkout.state import checkout_state
from daemon.config.loading import parse_config
from daemon.runtime.container import build
from daemon.services.order_records import load_order_by_token, load_transfers
from daemon.storage.migrations import upgrade
from daemon.storage.tables import orders
from tests.conftest import DbFactory
from tests.integration.test_migration_erc20_ordinals import _order
from tests.support.clock import ManualClock
from tests.support.configs import config_yaml

COUNT = 2500  # more than one batch of the migration's


def test_existing_orders_get_their_own_tokens(make_database_url: DbFactory) -> None:
    container = build(parse_config(config_yaml(make_database_url())), clock=ManualClock())
    db = container.db
    try:
        upgrade(db.engine, "0012")
        rows = [
            _order(1, "eth")
            | {
                "seq": seq,
                "id": f"ord_{seq}",
                "order_id": f"ref-{seq}",
                "script": seq.to_bytes(4, "big"),
                "address": f"0x{seq:040x}",
                "derivation_index": seq,
            }
            for seq in range(1, COUNT + 1)
        ]
        with db.transaction() as conn:
            conn.execute(insert(orders), rows)
        upgrade(db.engine)
        tokens = db.read(lambda conn: conn.execute(select(orders.c.checkout_token)).scalars().all())
        assert len(tokens) == COUNT
        assert len(set(tokens)) == COUNT
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)

        def page_of(conn: object) -> str:
            order = load_order_by_token(conn, tokens[7])  # type: ignore[arg-type]
            assert order is not None
            records = load_transfers(conn, [order.seq])[order.seq]  # type: ignore[arg-type]
            return checkout_state(container.registry, order, records).status

        assert db.read(page_of) == "paid"
    finally:
        container.close()
