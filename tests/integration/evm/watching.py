"""The daemon watching anvil chains: a container configured for them, and its watchers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from daemon.runtime.container import Container
from daemon.services.order_records import load_order
from daemon.services.order_shape import Order
from daemon.services.orders import NewOrder
from daemon.storage.tables import events, orders
from daemon.watching.engine import ChainWatcher
from tests.support.keys import ETH_XPUB
from tests.support.watching import chain_watcher, temp_container


def evm_config(database_url: str, eth_url: str, token: str, polygon_url: str | None) -> str:
    polygon = ""
    if polygon_url is not None:
        polygon = f"""
  polygon:
    type: evm
    chain_id: 137
    xpub: {ETH_XPUB}
    confirmations: finalized
    native: {{symbol: POL, decimals: 18, aliases: [MATIC]}}
    backend: {{url: "{polygon_url}", poll_interval: 1s}}
"""
    return f"""
database_url: {database_url}
api: {{listen: "127.0.0.1:0"}}
orders: {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0}}
chains:
  eth:
    type: evm
    chain_id: 1
    xpub: {ETH_XPUB}
    confirmations: 2
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{token}", decimals: 6}}}}
    backend: {{url: "{eth_url}", poll_interval: 1s}}
{polygon}"""


@contextmanager
def evm_container(eth_url: str, token: str, polygon_url: str | None = None) -> Iterator[Container]:
    with temp_container(lambda url: evm_config(url, eth_url, token, polygon_url)) as container:
        yield container


def watcher(container: Container, chain: str, start_height: int) -> ChainWatcher:
    return chain_watcher(container, chain, start_height=start_height, batch_size=20)


def order(container: Container, chain: str, asset: str, amount: str, ref: str) -> Order:
    request = NewOrder(order_id=ref, chain=chain, asset=asset, amount=amount)
    view = container.db.write(
        lambda conn: container.orders.create(conn, request, container.clock())
    ).view
    return view


def state(container: Container, public_id: str) -> tuple[str, str, int]:
    record = container.db.read(lambda conn: load_order(conn, public_id))
    assert record is not None
    return record.status.value, record.exception.value, record.received_base


def events_of(container: Container, public_id: str) -> list[str]:
    def read(conn: Any) -> list[str]:
        seq = conn.execute(select(orders.c.seq).where(orders.c.id == public_id)).scalar_one()
        query = select(events.c.type).where(events.c.order_seq == seq).order_by(events.c.seq)
        return [row.type for row in conn.execute(query)]

    return container.db.read(read)
