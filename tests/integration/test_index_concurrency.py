"""An index is never handed out twice, with many concurrent creators."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from daemon.services.orders import NewOrder
from daemon.storage.tables import orders
from tests.integration.conftest import ContainerFactory

WORKERS, EACH = 8, 25


@pytest.mark.parametrize("db_kind", ["postgresql", "sqlite"], indirect=True)
def test_concurrent_creators_get_distinct_contiguous_indexes(
    make_container: ContainerFactory, db_kind: str
) -> None:
    first = make_container()
    # Independent containers (own engines and pools) on the same database, as several
    # daemon instances would be; each runs several threads.
    others = [make_container(url=first.config.database_url) for _ in range(2)]
    containers = [first, *others]
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def worker(n: int) -> None:
        c = containers[n % len(containers)]
        barrier.wait()
        try:
            for i in range(EACH):
                chain, asset = ("eth", "ETH") if i % 2 else ("polygon", "POL")
                req = NewOrder(order_id=f"{n}-{i}", chain=chain, asset=asset, amount="1")
                with c.db.transaction() as conn:
                    c.orders.create(conn, req, c.clock())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
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
    first = make_container()
    containers = [first, *(make_container(url=first.config.database_url) for _ in range(2))]
    request = NewOrder(order_id="retry", chain="btc", asset="BTC", amount="0.5")
    ids: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def worker(n: int) -> None:
        c = containers[n % len(containers)]
        barrier.wait()
        try:
            with c.db.transaction() as conn:
                made = c.orders.create(
                    conn, request, c.clock(), api_key_id="k", idempotency_key="r"
                )
            ids.append(made.view["id"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(ids) == WORKERS
    assert len(set(ids)) == 1
    count = first.db.read(lambda conn: conn.execute(select(orders.c.id)).all())
    assert [r.id for r in count] == ids[:1]
