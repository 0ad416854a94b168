"""The HTTP API over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from daemon.services.apikeys import revoke_key
from daemon.storage.tables import events, orders
from tests.integration.conftest import ContainerFactory
from tests.support.keys import BTC_ZPUB_FIRST
from tests.support.server import RunningApi, running_api

ORDER = {"order_id": "T-1", "chain": "btc", "asset": "BTC", "amount": "0.015"}


@pytest.fixture
def api(make_container: ContainerFactory) -> Iterator[RunningApi]:
    with running_api(make_container()) as running:
        yield running


@pytest.fixture
def client(api: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as c:
        yield c


def rows(api: RunningApi) -> tuple[int, int]:
    def count(conn: Any) -> tuple[int, int]:
        return (
            conn.execute(select(func.count()).select_from(orders)).scalar(),
            conn.execute(select(func.count()).select_from(events)).scalar(),
        )

    return api.container.db.read(count)


def test_create_get_list_cancel(client: httpx.Client) -> None:
    created = client.post("/v1/orders", json=ORDER)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["address"] == BTC_ZPUB_FIRST
    assert order["amount"] == "0.015"
    assert order["amount_base"] == 1_500_000
    assert order["status"] == "pending"
    assert order["payments"] == []
    assert client.get(f"/v1/orders/{order['id']}").json() == order
    listed = client.get("/v1/orders", params={"status": "pending", "chain": "btc"}).json()
    assert [o["id"] for o in listed["data"]] == [order["id"]]
    assert listed["has_more"] is False
    cancelled = client.post(f"/v1/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/orders/{order['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_not_cancellable"
    assert client.get("/v1/orders", params={"status": "pending"}).json()["data"] == []


def test_cursor_pagination(client: httpx.Client) -> None:
    ids = [
        client.post("/v1/orders", json={**ORDER, "order_id": f"P-{i}"}).json()["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get("/v1/orders", params=params).json()
        seen += [o["id"] for o in page["data"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ids[::-1]


def test_idempotency_key(client: httpx.Client, api: RunningApi) -> None:
    headers = {"Idempotency-Key": "order-77"}
    first = client.post("/v1/orders", json=ORDER, headers=headers)
    second = client.post("/v1/orders", json=ORDER, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json() == second.json()
    changed = client.post("/v1/orders", json={**ORDER, "amount": "1"}, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert rows(api) == (1, 1)


def test_qr_codes(client: httpx.Client) -> None:
    order = client.post("/v1/orders", json=ORDER).json()
    svg = client.get(f"/v1/orders/{order['id']}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = client.get(f"/v1/orders/{order['id']}/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/v1/orders/ord_missing/qr.png").status_code == 404


def test_authentication(api: RunningApi) -> None:
    with httpx.Client(base_url=api.base_url, timeout=10) as anon:
        missing = anon.get("/v1/orders")
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = anon.get(
            "/v1/orders", headers={"Authorization": "Bearer pw_key_0123456789abcdef_" + "x" * 43}
        )
        assert wrong.status_code == 401
        forged = api.key[:-1] + ("A" if api.key[-1] != "A" else "B")
        assert (
            anon.get("/v1/orders", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        )
        assert anon.post("/v1/orders", json=ORDER).status_code == 401
        assert anon.get("/v1/orders", headers=api.auth).status_code == 200
        key_id = api.key.split("_")[1] + "_" + api.key.split("_")[2]
        api.container.db.write(lambda conn: revoke_key(conn, key_id, api.container.clock()))
        assert anon.get("/v1/orders", headers=api.auth).status_code == 401
    assert rows(api) == (0, 0)


BAD_BODIES: list[tuple[Any, int, str]] = [
    ({**ORDER, "amount": 0.015}, 422, "amount"),
    ({**ORDER, "amount": "0.0000000001"}, 422, "invalid_amount"),
    ({**ORDER, "amount": "-1"}, 422, "invalid_amount"),
    ({**ORDER, "amount": "1e3"}, 422, "invalid_amount"),
    ({**ORDER, "chain": "doge"}, 422, "unknown_chain"),
    ({**ORDER, "asset": "USDT"}, 422, "unknown_asset"),
    ({**ORDER, "expires_in": "soon"}, 422, "invalid_expires_in"),
    ({**ORDER, "expires_in": -5}, 422, "invalid_expires_in"),
    ({**ORDER, "confirmations": -1}, 422, "invalid_confirmations"),
    ({**ORDER, "confirmations": "finalized"}, 422, "invalid_confirmations"),
    ({**ORDER, "callback_url": "javascript:alert(1)"}, 422, "invalid_callback_url"),
    ({**ORDER, "metadata": ["not", "an", "object"]}, 422, "metadata"),
    ({**ORDER, "surprise": 1}, 422, "surprise"),
    ({k: v for k, v in ORDER.items() if k != "chain"}, 422, "chain"),
    ({**ORDER, "order_id": ""}, 422, "order_id"),
    ({**ORDER, "order_id": "a\x00b"}, 422, "invalid_order_id"),
    ([ORDER], 422, "body"),
    ("just a string", 422, "body"),
    (None, 400, "invalid_json"),  # no body at all
]


@pytest.mark.parametrize(("body", "status", "mention"), BAD_BODIES)
def test_bad_bodies_are_refused_and_change_nothing(
    client: httpx.Client, api: RunningApi, body: Any, status: int, mention: str
) -> None:
    response = client.post("/v1/orders", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert mention in error["code"] + error["message"]
    assert rows(api) == (0, 0)


def test_malformed_requests(client: httpx.Client, api: RunningApi) -> None:
    broken = client.post(
        "/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_json"
    huge = client.post("/v1/orders", json={**ORDER, "metadata": {"x": "y" * 100_000}})
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large"
    nan = client.post(
        "/v1/orders",
        content=b'{"order_id": "n", "chain": "btc", "asset": "BTC", "amount": "1",'
        b' "metadata": {"x": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code in (400, 422)
    assert "error" in nan.json()
    assert client.get("/v1/orders/ord_unknown").status_code == 404
    assert client.get("/v1/orders", params={"limit": 0}).status_code == 422
    assert client.get("/v1/orders", params={"status": "bogus"}).status_code == 422
    assert (
        client.get("/v1/orders", params={"cursor": "@@@"}).json()["error"]["code"]
        == "invalid_cursor"
    )
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    assert client.delete("/v1/orders").json()["error"]["code"] == "method_not_allowed"
    assert rows(api) == (0, 0)


def test_health_and_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] is True
    spec = client.get("/openapi.json").json()
    assert {
        "/v1/orders",
        "/v1/orders/{id}",
        "/v1/orders/{id}/cancel",
        "/v1/orders/{id}/qr.svg",
    } <= set(spec["paths"])


def test_asset_symbols_ignore_case(client: httpx.Client) -> None:
    for asked, chain, stored in [
        ("usdc", "eth", "USDC"),
        ("btc", "btc", "BTC"),
        ("Matic", "polygon", "POL"),
    ]:
        body = {**ORDER, "order_id": f"case-{asked}", "chain": chain, "asset": asked}
        created = client.post("/v1/orders", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["asset"] == stored
        assert client.get(f"/v1/orders/{created.json()['id']}").json()["asset"] == stored
