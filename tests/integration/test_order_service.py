"""Order use cases on SQLite and PostgreSQL: create, replay, list, cancel, expire, record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from daemon.domain.payments import Transfer, TransferKey
from daemon.domain.states import EventType
from daemon.services.errors import Conflict, InvalidRequest, NotFound
from daemon.services.order_changes import Observation
from daemon.services.order_records import load_order
from daemon.services.orders import CreatedOrder, NewOrder
from daemon.storage.tables import events, orders
from tests.integration.conftest import ContainerFactory
from tests.support.clock import ManualClock
from tests.support.events import event_payloads, event_types
from tests.support.keys import BTC_ZPUB_FIRST, ETH_FIRST

BTC = NewOrder(order_id="A-1", chain="btc", asset="BTC", amount="0.015")


def count(container, table) -> int:  # type: ignore[no-untyped-def]
    return int(
        container.db.read(lambda c: c.execute(select(func.count()).select_from(table)).scalar())
    )


def test_create_derives_the_next_address_and_records_the_event(
    make_container: ContainerFactory,
) -> None:
    c = make_container()
    now = c.clock()
    made = c.db.write(lambda conn: c.orders.create(conn, BTC, now))
    view = made.view
    assert not made.replayed
    assert view["address"] == BTC_ZPUB_FIRST
    assert view["derivation_index"] == 0
    assert (view["amount"], view["amount_base"], view["status"], view["exception"]) == (
        "0.015",
        1_500_000,
        "pending",
        "none",
    )
    assert view["payment_uri"] == f"bitcoin:{BTC_ZPUB_FIRST}?amount=0.015"
    assert view["confirmations_required"] == 2
    assert view["expires_at"] == "2026-01-01T12:15:00Z"
    second = c.db.write(lambda conn: c.orders.create(conn, BTC, now)).view
    assert second["derivation_index"] == 1
    assert second["address"] != view["address"]
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    payloads = c.db.read(lambda conn: event_payloads(conn, order))
    assert [p["type"] for p in payloads] == ["order.created"]
    assert payloads[0]["data"]["id"] == view["id"]


def test_evm_chains_sharing_a_key_never_share_an_address(make_container: ContainerFactory) -> None:
    c = make_container()
    eth = NewOrder(order_id="E", chain="eth", asset="ETH", amount="0.5")
    pol = NewOrder(order_id="P", chain="polygon", asset="matic", amount="10")
    first = c.db.write(lambda conn: c.orders.create(conn, eth, c.clock())).view
    second = c.db.write(lambda conn: c.orders.create(conn, pol, c.clock())).view
    assert first["address"] == ETH_FIRST
    assert second["address"] != first["address"]
    assert second["derivation_index"] == 1
    assert second["asset"] == "POL"
    assert second["confirmations_required"] == "finalized"
    assert first["payment_uri"] == f"ethereum:{ETH_FIRST}@1?value=500000000000000000"


def test_token_order_uses_the_erc20_transfer_uri(make_container: ContainerFactory) -> None:
    c = make_container()
    usdc = NewOrder(order_id="U", chain="eth", asset="USDC", amount="49.99")
    view = c.db.write(lambda conn: c.orders.create(conn, usdc, c.clock())).view
    assert view["amount_base"] == 49_990_000
    assert view["payment_uri"] == (
        "ethereum:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48@1/transfer"
        f"?address={ETH_FIRST}&uint256=49990000"
    )


def test_huge_wei_amounts_are_exact(make_container: ContainerFactory) -> None:
    c = make_container()
    big = NewOrder(order_id="W", chain="eth", asset="ETH", amount="123456789012.123456789012345678")
    view = c.db.write(lambda conn: c.orders.create(conn, big, c.clock())).view
    again = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert again["amount_base"] == 123456789012123456789012345678
    assert again["amount"] == "123456789012.123456789012345678"


def test_idempotency_key_replays_or_conflicts(make_container: ContainerFactory) -> None:
    c = make_container()
    now = c.clock()

    def create(request: NewOrder, key_id: str) -> CreatedOrder:
        return c.db.write(
            lambda conn: c.orders.create(conn, request, now, api_key_id=key_id, idempotency_key="x")
        )

    first = create(BTC, "k")
    again = create(BTC, "k")
    assert again.replayed
    assert again.view["id"] == first.view["id"]
    assert again.json == first.json
    other = NewOrder(order_id="A-1", chain="btc", asset="BTC", amount="0.016")
    with pytest.raises(Conflict, match="different request"):
        create(other, "k")
    third = create(BTC, "k2")  # another API key has its own key space
    assert not third.replayed
    assert third.view["id"] != first.view["id"]
    assert count(c, orders) == 2


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (NewOrder(order_id="x", chain="doge", asset="DOGE", amount="1"), "unknown_chain"),
        (NewOrder(order_id="x", chain="btc", asset="ETH", amount="1"), "unknown_asset"),
        (NewOrder(order_id="x", chain="btc", asset="BTC", amount="1.000000001"), "invalid_amount"),
        (NewOrder(order_id="x", chain="btc", asset="BTC"), "invalid_amount"),
        (
            NewOrder(order_id="x", chain="btc", asset="BTC", amount="1", amount_base="1"),
            "invalid_amount",
        ),
        (
            NewOrder(order_id="x", chain="btc", asset="BTC", amount="1", confirmations="finalized"),
            "invalid_confirmations",
        ),
        (
            NewOrder(order_id="x", chain="btc", asset="BTC", amount="1", callback_url="ftp://x"),
            "invalid_callback_url",
        ),
        (
            NewOrder(
                order_id="x", chain="btc", asset="BTC", amount="1", metadata={"a": "b" * 5000}
            ),
            "invalid_metadata",
        ),
    ],
)
def test_bad_requests_change_nothing(
    make_container: ContainerFactory, request_: NewOrder, code: str
) -> None:
    c = make_container()
    with pytest.raises(InvalidRequest) as failure:
        c.db.write(lambda conn: c.orders.create(conn, request_, c.clock()))
    assert failure.value.code == code
    assert count(c, orders) == 0
    assert count(c, events) == 0
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, c.clock())).view
    assert view["derivation_index"] == 0  # no index was burned by the refused request


def test_list_filters_and_pages(make_container: ContainerFactory) -> None:
    c = make_container()
    ids = []
    for i in range(7):
        chain, asset = ("btc", "BTC") if i % 2 else ("eth", "ETH")
        req = NewOrder(order_id=f"L-{i}", chain=chain, asset=asset, amount="1")
        with c.db.transaction() as conn:
            ids.append(c.orders.create(conn, req, c.clock()).view["id"])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        with c.db.reading() as conn:
            page = c.orders.list(conn, limit=3, cursor=cursor)
        seen += [v["id"] for v in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    btc = c.db.read(lambda conn: c.orders.list(conn, chain="btc"))
    assert {v["chain"] for v in btc.data} == {"btc"}
    assert len(btc.data) == 3
    with pytest.raises(InvalidRequest):
        c.db.read(lambda conn: c.orders.list(conn, cursor="garbage!"))


def test_cancel_once(make_container: ContainerFactory) -> None:
    c = make_container()
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, c.clock())).view
    cancelled = c.db.write(lambda conn: c.orders.cancel(conn, view["id"], c.clock()))
    assert cancelled["status"] == "cancelled"
    with pytest.raises(Conflict):
        c.db.write(lambda conn: c.orders.cancel(conn, view["id"], c.clock()))
    with pytest.raises(NotFound):
        c.db.write(lambda conn: c.orders.cancel(conn, "ord_nope", c.clock()))
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert c.db.read(lambda conn: event_types(conn, order)) == [
        EventType.CREATED,
        EventType.CANCELLED,
    ]


def test_refresh_expires_due_orders_once(make_container: ContainerFactory) -> None:
    clock = ManualClock()
    c = make_container(clock=clock)
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, clock())).view
    assert c.db.write(lambda conn: c.orders.refresh_due(conn, clock())) == 0
    clock.advance(minutes=16)
    assert c.db.write(lambda conn: c.orders.refresh_due(conn, clock())) == 1
    assert c.db.write(lambda conn: c.orders.refresh_due(conn, clock())) == 0
    assert c.db.read(lambda conn: c.orders.get(conn, view["id"]))["status"] == "expired"


def _observe(c, tx: str, amount: int, *, conf: int, removed: bool = False, script: bytes) -> None:  # type: ignore[no-untyped-def]
    obs = Observation(
        chain="btc",
        script=script,
        asset="BTC",
        transfer=Transfer(TransferKey(tx, 0), amount, c.clock(), conf, removed=removed),
        block_height=100 if conf else None,
    )
    c.db.write(lambda conn: c.orders.changes.record(conn, [obs], c.clock()))


def test_recorded_transfers_move_the_order_and_fire_events(
    make_container: ContainerFactory,
) -> None:
    clock = ManualClock()
    c = make_container(clock=clock)
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, clock())).view
    script = c.registry.get("btc").deriver.derive(0).script  # type: ignore[union-attr]
    _observe(c, "aa" * 32, 1_500_000, conf=0, script=script)
    _observe(c, "aa" * 32, 1_500_000, conf=0, script=script)  # repeated news: no double count
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert (got["status"], got["received_base"], len(got["payments"])) == (
        "processing",
        1_500_000,
        1,
    )
    clock.advance(minutes=10)
    _observe(c, "aa" * 32, 1_500_000, conf=2, script=script)
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert (got["status"], got["received_confirmed"]) == ("paid", "0.015")
    assert got["payments"][0]["status"] == "confirmed"
    _observe(c, "aa" * 32, 1_500_000, conf=0, removed=True, script=script)  # a deep reorg
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert (got["status"], got["received_base"]) == ("pending", 0)
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    types = c.db.read(lambda conn: event_types(conn, order))
    assert types == [
        EventType.CREATED,
        EventType.PAYMENT_DETECTED,
        EventType.PAYMENT_CONFIRMED,
        EventType.PAID,
        EventType.PAYMENT_REVERSED,
    ]
    payloads = c.db.read(lambda conn: event_payloads(conn, order))
    assert payloads[3]["data"]["status"] == "paid"
    assert payloads[1]["data"]["payment"]["tx_hash"] == "aa" * 32


def test_payment_to_a_closed_order_is_still_recorded(make_container: ContainerFactory) -> None:
    clock = ManualClock()
    c = make_container(clock=clock)
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, clock())).view
    c.db.write(lambda conn: c.orders.cancel(conn, view["id"], clock()))
    script = c.registry.get("btc").deriver.derive(0).script  # type: ignore[union-attr]
    clock.advance(days=30)
    _observe(c, "bb" * 32, 2_000, conf=6, script=script)
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert (got["status"], got["received_base"], got["exception"]) == (
        "cancelled",
        2_000,
        "underpaid",
    )


def test_expired_then_full_payment_is_paid_late(make_container: ContainerFactory) -> None:
    clock = ManualClock()
    c = make_container(clock=clock)
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, clock())).view
    script = c.registry.get("btc").deriver.derive(0).script  # type: ignore[union-attr]
    clock.advance(minutes=20)
    c.db.write(lambda conn: c.orders.refresh_due(conn, clock()))
    _observe(c, "cc" * 32, 1_500_000, conf=3, script=script)
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert (got["status"], got["exception"]) == ("expired", "paid_late")
    order = c.db.read(lambda conn: load_order(conn, view["id"]))
    assert order is not None
    assert c.db.read(lambda conn: event_types(conn, order))[-1] == EventType.PAID_LATE


def test_another_asset_to_the_address_is_recorded_but_not_counted(
    make_container: ContainerFactory,
) -> None:
    clock = ManualClock()
    c = make_container(clock=clock)
    eth = NewOrder(order_id="E", chain="eth", asset="ETH", amount="0.5")
    view = c.db.write(lambda conn: c.orders.create(conn, eth, clock())).view
    script = c.registry.get("eth").deriver.derive(0).script  # type: ignore[union-attr]
    usdc = Observation(
        chain="eth",
        script=script,
        asset="USDC",
        transfer=Transfer(TransferKey("dd" * 32, 7), 5_000_000, clock(), 20),
    )
    c.db.write(lambda conn: c.orders.changes.record(conn, [usdc], clock()))
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    assert (got["status"], got["received_base"]) == ("pending", 0)
    assert got["payments"][0]["asset"] == "USDC"
    assert got["payments"][0]["counted"] is False


def test_one_transfer_seen_twice_in_one_batch_keeps_its_first_sighting(
    make_container: ContainerFactory,
) -> None:
    clock = ManualClock()
    c = make_container(clock=clock)
    view = c.db.write(lambda conn: c.orders.create(conn, BTC, clock())).view
    script = c.registry.get("btc").deriver.derive(0).script  # type: ignore[union-attr]
    key = TransferKey("ee" * 32, 1)
    early = Transfer(key, 1_500_000, clock() + timedelta(minutes=10), 0)
    late = Transfer(key, 1_500_000, clock() + timedelta(minutes=20), 3)
    batch = [Observation("btc", script, "BTC", t) for t in (early, late)]
    clock.advance(minutes=25)
    c.db.write(lambda conn: c.orders.changes.record(conn, batch, clock()))
    got = c.db.read(lambda conn: c.orders.get(conn, view["id"]))
    # Paid in time (seen at 10 min, before the 15 min expiry) and counted once.
    assert (got["status"], got["received_base"], len(got["payments"])) == ("paid", 1_500_000, 1)
    assert got["payments"][0]["seen_at"] == "2026-01-01T12:10:00Z"
