"""`paywatch chain rescan` over payments already confirmed or finalized changes nothing.

A rescan counts depth to the cursor and cannot know the finalized tag; before the
fix its sighting reset a finalized payment to unconfirmed, so the next round sent
``order.payment_confirmed`` (and ``order.paid_late``) again under new webhook-ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import Connection, func, select

from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.services.order_records import load_order
from daemon.storage.migrations import upgrade
from daemon.storage.tables import events, transfers
from daemon.watching.engine import ChainWatcher
from daemon.watching.rescan import rescan
from tests.conftest import DbFactory
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import events_of, evm_config, order, watcher
from tests.support.anvil import Anvil, anvil_node, call_data
from tests.support.clock import ManualClock
from tests.support.single import address_of

ETHER = 10**18
USDC = 10**6


@contextmanager
def container_on(
    database_url: str, eth_url: str, token: str, polygon_url: str | None = None
) -> Iterator[Container]:
    """The daemon's container for these chains on the parametrized database (the rescan
    takes PostgreSQL's locks there)."""
    container = build(
        parse_config(evm_config(database_url, eth_url, token, polygon_url)), clock=ManualClock()
    )
    upgrade(container.db.engine)
    try:
        yield container
    finally:
        container.close()


def books(container: Container, public_ids: list[str]) -> list[tuple[str, str, int, int]]:
    """Each order's status, exception, received and received-confirmed amounts."""
    out = []
    for public_id in public_ids:
        record = container.db.read(partial(load_order, public_id=public_id))
        assert record is not None
        out.append(
            (
                record.status.value,
                record.exception.value,
                record.received_base,
                record.received_confirmed_base,
            )
        )
    return out


def stored(container: Container) -> tuple[int, list[dict[str, Any]]]:
    """How many events there are, and every transfer row (but when it was written)."""

    def read(conn: Connection) -> tuple[int, list[dict[str, Any]]]:
        count = conn.execute(select(func.count()).select_from(events)).scalar_one()
        rows = conn.execute(select(transfers).order_by(transfers.c.seq))
        return int(count), [
            {k: v for k, v in row._mapping.items() if k != "updated_at"} for row in rows
        ]

    return container.db.read(read)


def rescan_then_follow(
    loop: asyncio.AbstractEventLoop, node: Anvil, w: ChainWatcher, first: int
) -> None:
    """Rescan every processed block from ``first``, then let the chain and watcher go on."""
    report = loop.run_until_complete(rescan(w, first))
    assert report.payments > 0  # the known payments were seen again
    node.mine(3)
    loop.run_until_complete(w.sync_once())


def test_rescan_on_a_finalized_chain_emits_nothing_and_lowers_nothing(
    anvil: Anvil,
    contracts: Contracts,
    loop: asyncio.AbstractEventLoop,
    make_database_url: DbFactory,
) -> None:
    with (
        anvil_node("--chain-id", "137") as polygon,
        container_on(make_database_url(), anvil.url, contracts.token, polygon.url) as c,
    ):
        start = polygon.height()
        pol = watcher(c, "polygon", start)
        loop.run_until_complete(pol.sync_once())
        on_time = order(c, "polygon", "POL", "10", "on-time")
        late = order(c, "polygon", "POL", "3", "late")
        polygon.send(address_of(on_time), 10 * ETHER)
        loop.run_until_complete(pol.sync_once())  # seen in time
        c.clock.advance(minutes=20)  # type: ignore[attr-defined]  # past both expiries
        polygon.send(address_of(late), 3 * ETHER)
        polygon.mine(70)  # anvil's finalized tag trails the head
        loop.run_until_complete(pol.sync_once())
        ids = [on_time["id"], late["id"]]
        before = books(c, ids)
        assert before == [
            ("paid", "none", 10 * ETHER, 10 * ETHER),
            ("expired", "paid_late", 3 * ETHER, 3 * ETHER),
        ]
        assert "order.paid_late" in events_of(c, late["id"])
        known = stored(c)
        assert [row["finalized"] for row in known[1]] == [True, True]

        c.clock.advance(minutes=5)  # type: ignore[attr-defined]
        rescan_then_follow(loop, polygon, pol, start)

        assert books(c, ids) == before
        assert stored(c) == known  # not one event more, not one transfer changed
        loop.run_until_complete(pol.source.aclose())


def test_rescan_on_a_chain_counting_depth_emits_nothing_and_lowers_nothing(
    anvil: Anvil,
    contracts: Contracts,
    loop: asyncio.AbstractEventLoop,
    make_database_url: DbFactory,
) -> None:
    with container_on(make_database_url(), anvil.url, contracts.token) as c:
        start = anvil.height()
        eth = watcher(c, "eth", start)
        loop.run_until_complete(eth.sync_once())
        coin = order(c, "eth", "ETH", "1", "coin")
        token = order(c, "eth", "USDC", "5", "token")
        anvil.send(address_of(coin), ETHER)
        pay = call_data("transfer(address,uint256)", token["address"], 5 * USDC)
        anvil.send(contracts.token, 0, data=pay)
        anvil.mine(4)
        loop.run_until_complete(eth.sync_once())
        ids = [coin["id"], token["id"]]
        before = books(c, ids)
        assert before == [("paid", "none", ETHER, ETHER), ("paid", "none", 5 * USDC, 5 * USDC)]
        count, rows = stored(c)

        c.clock.advance(minutes=30)  # type: ignore[attr-defined]
        rescan_then_follow(loop, anvil, eth, start)

        assert books(c, ids) == before
        now_count, now_rows = stored(c)
        assert now_count == count  # not one event more
        for old, new in zip(rows, now_rows, strict=True):
            assert new["seen_at"] == old["seen_at"]
            assert new["confirmations"] >= old["confirmations"]
        loop.run_until_complete(eth.source.aclose())
