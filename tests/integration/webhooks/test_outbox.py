"""The outbox in the database, on SQLite and PostgreSQL: delivery state written with the
event, leases, per-endpoint caps, concurrent claimers, redelivery."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from daemon.services.errors import Conflict
from daemon.storage.database import Database
from daemon.storage.tables import webhook_attempts
from daemon.webhooks.claims import AttemptRecord, Claimed
from daemon.webhooks.outbox import Outbox
from daemon.webhooks.retry_policy import Decision, DeliveryStatus
from tests.integration.webhooks.conftest import Shop, ShopFactory

URL = "https://store.example/hooks"
LEASE = timedelta(seconds=45)


def claim(shop: Shop, outbox: Outbox, limit: int = 50, **in_flight: int) -> list[Claimed]:
    now = shop.clock()
    flying = {f"https://{k}.example:443": v for k, v in in_flight.items()}
    return shop.container.db.write(lambda conn: outbox.claim(conn, now, limit, 2, flying))


def test_the_event_insert_queues_its_delivery(make_shop: ShopFactory) -> None:
    shop = make_shop(URL)
    shop.order("to-default")
    shop.order("to-own", callback_url="https://other.example:8443/cb?x=1")
    nowhere = make_shop(None)
    nowhere.order("no-url")
    default, own = shop.deliveries()
    assert (default.delivery_status, default.target_url, default.endpoint) == (
        "pending",
        URL,
        "https://store.example:443",
    )
    assert default.next_attempt_at == shop.clock()
    assert (own.target_url, own.endpoint) == (
        "https://other.example:8443/cb?x=1",
        "https://other.example:8443",
    )
    (lost,) = nowhere.deliveries()
    assert (lost.delivery_status, lost.target_url, lost.next_attempt_at) == (
        "no_target",
        None,
        None,
    )


def test_a_lease_keeps_others_off_until_it_runs_out(make_shop: ShopFactory) -> None:
    shop = make_shop(URL)
    shop.order()
    first, second = Outbox("dsp_a", LEASE), Outbox("dsp_b", LEASE)
    (mine,) = claim(shop, first)
    assert mine.attempt == 1
    assert claim(shop, second) == []  # leased
    shop.clock.advance(seconds=46)  # dsp_a died: its lease ran out
    (again,) = claim(shop, second)
    assert (again.id, again.attempt) == (mine.id, 2)
    # dsp_a's late result is logged, but the delivery is dsp_b's now.
    late = AttemptRecord(
        mine, shop.clock(), 200, 5, None, "ok", Decision(DeliveryStatus.DELIVERED, None)
    )
    shop.container.db.write(lambda conn: first.record(conn, [late]))
    row = shop.deliveries()[0]
    assert (row.delivery_status, row.lease_owner) == ("pending", "dsp_b")
    assert len(shop.attempts(mine.id)) == 1


def test_claims_respect_the_per_endpoint_cap(make_shop: ShopFactory) -> None:
    shop = make_shop(URL)
    for n in range(5):
        shop.order(f"s-{n}")
    for n in range(2):
        shop.order(f"o-{n}", callback_url="https://other.example/cb")
    outbox = Outbox("dsp_a", LEASE)
    first = claim(shop, outbox, other=1)  # one already in flight to other.example
    assert sorted(c.endpoint for c in first) == [
        "https://other.example:443",
        "https://store.example:443",
        "https://store.example:443",
    ]
    # store.example full, other.example full: nothing, although three are due.
    assert claim(shop, outbox, store=2, other=2) == []
    assert len(claim(shop, outbox, other=2)) == 2


def test_concurrent_claimers_never_share_a_delivery(make_shop: ShopFactory) -> None:
    shop = make_shop(URL)
    for n in range(40):
        shop.order(f"c-{n}", callback_url=f"https://s{n}.example/cb")
    dbs = [Database(shop.container.db.url) for _ in range(4)]
    got: list[list[Claimed]] = []
    start = threading.Barrier(len(dbs))

    def claimer(db: Database, n: int) -> None:
        outbox, now = Outbox(f"dsp_{n}", LEASE), shop.clock()
        start.wait()
        for _ in range(5):
            got.append(db.write(lambda conn: outbox.claim(conn, now, 3, 2, {})))

    threads = [threading.Thread(target=claimer, args=(db, n)) for n, db in enumerate(dbs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for db in dbs:
        db.close()
    ids = [c.id for batch in got for c in batch]
    assert len(ids) == len(set(ids)) == 40


def test_redelivery_keeps_the_webhook_id_and_starts_over(make_shop: ShopFactory) -> None:
    shop = make_shop(URL)
    shop.order()
    outbox = Outbox("dsp_a", LEASE)
    (flying,) = claim(shop, outbox)
    log, db = shop.container.deliveries, shop.container.db
    with pytest.raises(Conflict, match="under way"):
        db.write(lambda conn: log.redeliver(conn, flying.id, shop.clock()))
    dead = AttemptRecord(
        flying, shop.clock(), 500, 9, "HTTP 500", None, Decision(DeliveryStatus.DEAD, None)
    )
    db.write(lambda conn: outbox.record(conn, [dead]))
    shop.clock.advance(days=4)
    view = db.write(lambda conn: log.redeliver(conn, flying.id, shop.clock()))
    assert (view["id"], view["status"], view["attempt_count"]) == (flying.id, "pending", 0)
    assert view["attempts"][0]["status_code"] == 500  # the log keeps the old attempts
    (again,) = claim(shop, outbox)
    assert (again.id, again.attempt) == (flying.id, 1)


def test_redelivery_of_an_event_without_a_target(make_shop: ShopFactory) -> None:
    shop = make_shop(None)
    order = shop.order()
    (row,) = shop.deliveries()
    log, db = shop.container.deliveries, shop.container.db
    with pytest.raises(Conflict, match="no callback_url"):
        db.write(lambda conn: log.redeliver(conn, row.id, shop.clock()))
    assert (
        db.read(
            lambda conn: conn.execute(select(func.count()).select_from(webhook_attempts)).scalar()
        )
        == 0
    )
    assert order["callback_url"] is None
