"""An index is never handed out twice, with many concurrent creators."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from daemon.runtime.container import Container
from daemon.services.orders import NewOrder
from daemon.storage.tables import orders
from tests.integration.conftest import ContainerFactory

WORKERS, EACH = 8, 25


def run_concurrently(
    make_container: ContainerFactory, work: Callable[[Container, int], None]
) -> Container:
    """Run ``work`` on WORKERS threads released together, spread over three independent
    containers (own engines and pools) on one database, as several daemon instances
    would be. Fails on any worker's error; returns the first container."""
    first = make_container()
    containers = [first, *(make_container(url=first.config.database_url) for _ in range(2))]
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            work(containers[n % len(containers)], n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    return first


@pytest.mark.parametrize("db_kind", ["postgresql", "sqlite"], indirect=True)
def test_concurrent_creators_get_distinct_contiguous_indexes(
    make_container: ContainerFactory, db_kind: str
) -> None:
    def create_many(c: Container, n: int) -> None:
        for i in range(EACH):
            chain, asset = ("eth", "ETH") if i % 2 else ("polygon", "POL")
            req = NewOrder(order_id=f"{n}-{i}", chain=chain, asset=asset, amount="1")
            with c.db.transaction() as conn:
                c.orders.create(conn, req, c.clock())

    first = run_concurrently(make_container, create_many)
    rows = first.db.read(
        lambda conn: conn.execute(select(orders.c.derivation_index, orders.c.address)).all()
    )
    indexes = sorted(r.derivation_index for r in rows)
    assert indexes == list(range(WORKERS * EACH))
    assert len({r.address for r in rows}) == WORKERS * EACH


@pytest.mark.parametrize("db_kind", ["postgresql", "sqlite"], indirect=True)
def test_concurrent_retries_with_one_idempotency_key_make_one_order(
    make_container: ContainerFactory, db_kind: str
) -> None:
    request = NewOrder(order_id="retry", chain="btc", asset="BTC", amount="0.5")
    ids: list[str] = []

    def retry(c: Container, n: int) -> None:
        with c.db.transaction() as conn:
            made = c.orders.create(conn, request, c.clock(), api_key_id="k", idempotency_key="r")
        ids.append(made.view["id"])

    first = run_concurrently(make_container, retry)
    assert len(ids) == WORKERS
    assert len(set(ids)) == 1
    stored = first.db.read(lambda conn: conn.execute(select(orders.c.id)).all())
    assert [r.id for r in stored] == ids[:1]
