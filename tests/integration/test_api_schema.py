"""What the running API returns and its webhooks carry match what /openapi.json publishes.

Orders of every kind (each chain kind, a token, paid, processing, cancelled, expired,
with payments counted, not counted, confirmed, detected, removed, internal) are made
through the running API; the payments arrive through the seam the watchers use. Every
response and every webhook body is validated against the published schema, read
strictly: an object may carry no property the schema does not name, and must carry
every one it requires.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from daemon.domain.payments import Transfer, TransferKey
from daemon.services.order_changes import Observation
from daemon.storage.tables import events, orders
from tests.integration.conftest import ContainerFactory
from tests.support.clock import ManualClock
from tests.support.server import RunningApi, running_api


def strict(schema: Any) -> Any:
    """The schema with additionalProperties false on every object that lists properties."""
    if isinstance(schema, dict):
        found = {k: strict(v) for k, v in schema.items()}
        if "properties" in found and "additionalProperties" not in found:
            found["additionalProperties"] = False
        return found
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


class Published:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = strict(deepcopy(spec["components"]))

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        root = {**strict(schema), "components": self.components}
        Draft202012Validator.check_schema(root)
        return Draft202012Validator(root)

    def response(self, path: str, method: str, status: int) -> Draft202012Validator:
        answer = self.spec["paths"][path][method]["responses"][str(status)]
        return self.validator(answer["content"]["application/json"]["schema"])

    def webhook(self, kind: str) -> Draft202012Validator:
        body = self.spec["webhooks"][kind]["post"]["requestBody"]
        return self.validator(body["content"]["application/json"]["schema"])


def check(validator: Draft202012Validator, value: Any, what: str) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert not problems, (what, problems, value)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def api(make_container: ContainerFactory, clock: ManualClock) -> Iterator[RunningApi]:
    with running_api(make_container(clock=clock)) as running:
        yield running


def observe(api: RunningApi, order: dict[str, Any], asset: str, transfer: Transfer) -> None:
    c = api.container

    def record(conn: Any) -> None:
        script = conn.execute(select(orders.c.script).where(orders.c.id == order["id"])).scalar()
        seen = Observation(order["chain"], script, asset, transfer, 100, "ab" * 32)
        c.orders.changes.record(conn, [seen], c.clock())

    c.db.write(record)


def test_responses_and_webhooks_match_the_published_schema(
    api: RunningApi, clock: ManualClock
) -> None:
    client = httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10)
    published = Published(client.get("/openapi.json").json())
    one = published.response("/v1/orders/{id}", "get", 200)
    made: list[dict[str, Any]] = []

    def create(**body: Any) -> dict[str, Any]:
        answer = client.post("/v1/orders", json={"order_id": f"S-{len(made)}", **body})
        assert answer.status_code == 201, answer.text
        check(published.response("/v1/orders", "post", 201), answer.json(), "created")
        made.append(answer.json())
        return made[-1]

    btc = create(chain="btc", asset="BTC", amount="0.015", metadata={"cart": [1, "a"]})
    ltc = create(chain="ltc", asset="LTC", amount_base=150_000, confirmations=3)
    eth = create(chain="eth", asset="ETH", amount="0.5", callback_url="https://shop.example/h")
    usdc = create(chain="eth", asset="USDC", amount_base="25000000", expires_in="2h")
    pol = create(chain="polygon", asset="POL", amount="1", confirmations="finalized")
    create(chain="btc", asset="BTC", amount="1")  # stays pending, then expires
    to_cancel = create(chain="ltc", asset="LTC", amount="2.5", expires_in=600)
    now = clock()
    # BTC paid in full and confirmed; LTC seen in the mempool (processing).
    observe(api, btc, "BTC", Transfer(TransferKey("01" * 32, 1), 1_500_000, now, 2))
    observe(api, ltc, "LTC", Transfer(TransferKey("02" * 32, 0), 150_000, now, 0))
    # ETH: its own value, an internal transfer, a token that does not count, one removed.
    eth_value = Transfer(TransferKey("03" * 32, -1), 4 * 10**17, now, 12)
    observe(api, eth, "ETH", eth_value)
    observe(api, eth, "ETH", Transfer(TransferKey("04" * 32, -2), 10**17, now, 1))
    observe(api, eth, "USDC", Transfer(TransferKey("05" * 32, 0), 7, now, 3, log_index=9))
    observe(api, eth, "ETH", Transfer(TransferKey("03" * 32, -1), 4 * 10**17, now, 0, removed=True))
    # USDC paid by a token transfer; POL finalized.
    usdc_in = Transfer(TransferKey("06" * 32, 0), 25_000_000, now, 20, log_index=3)
    observe(api, usdc, "USDC", usdc_in)
    observe(api, pol, "POL", Transfer(TransferKey("07" * 32, -1), 10**18, now, 64, finalized=True))
    cancelled = client.post(f"/v1/orders/{to_cancel['id']}/cancel")
    check(published.response("/v1/orders/{id}/cancel", "post", 200), cancelled.json(), "cancel")
    clock.advance(hours=3)
    for order in made:
        refreshed = client.post(f"/v1/orders/{order['id']}/refresh")
        assert refreshed.status_code == 200, refreshed.text
        check(published.response("/v1/orders/{id}/refresh", "post", 200), refreshed.json(), "r")
        check(one, client.get(f"/v1/orders/{order['id']}").json(), order["order_id"])

    statuses: set[str] = set()
    page = client.get("/v1/orders", params={"limit": 2}).json()
    while True:
        check(published.response("/v1/orders", "get", 200), page, "list")
        statuses |= {o["status"] for o in page["data"]}
        if not page["has_more"]:
            break
        page = client.get("/v1/orders", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert {"paid", "processing", "cancelled", "expired"} <= statuses, statuses
    kinds = {(p["counted"], p["status"]) for o in made for p in one_of(client, o)["payments"]}
    wanted = {(True, "confirmed"), (True, "detected"), (False, "detected"), (True, "removed")}
    assert wanted <= kinds, kinds

    deliveries = client.get("/v1/webhooks/deliveries", params={"limit": 500}).json()
    check(published.response("/v1/webhooks/deliveries", "get", 200), deliveries, "deliveries")
    detail = client.get(f"/v1/webhooks/deliveries/{deliveries['data'][0]['id']}").json()
    check(published.response("/v1/webhooks/deliveries/{id}", "get", 200), detail, "delivery")

    payloads = api.container.db.read(
        lambda conn: [(r.type, r.payload) for r in conn.execute(select(events))]
    )
    kinds_sent = set()
    for kind, payload in payloads:
        body = httpx.Response(200, content=payload).json()
        check(published.webhook(kind), body, kind)
        kinds_sent.add(kind)
    assert {"order.created", "order.payment_detected", "order.paid"} <= kinds_sent


def one_of(client: httpx.Client, order: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/v1/orders/{order['id']}").json()
    return answer


def test_the_schema_refuses_a_drifted_view(api: RunningApi) -> None:
    """The strict reading catches a field the schema does not name, or one missing."""
    client = httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10)
    published = Published(client.get("/openapi.json").json())
    one = published.response("/v1/orders/{id}", "get", 200)
    body = {"order_id": "D-1", "chain": "btc", "asset": "BTC", "amount": "1"}
    view = client.post("/v1/orders", json=body).json()
    check(one, view, "as served")
    assert not one.is_valid({**view, "surprise": 1})
    assert not one.is_valid({k: v for k, v in view.items() if k != "late_until"})
    assert not one.is_valid({**view, "status": "unheard_of"})


def test_allow_names_every_method_and_tatum_is_published_only_when_on(api: RunningApi) -> None:
    client = httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10)
    refused = client.delete("/v1/orders")
    assert refused.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in refused.headers["allow"].split(",")}
    spec = client.get("/openapi.json").json()
    assert "/v1/tatum/notifications" not in spec["paths"]  # off in this config
    assert client.post("/v1/tatum/notifications", content=b"{}").status_code == 404
    assert "/v1/orders/{id}/refresh" in spec["paths"]
    assert {"/v1/webhooks/deliveries", "/v1/webhooks/deliveries/{id}/redeliver"} <= set(
        spec["paths"]
    )
    body = spec["components"]["schemas"]["CreateOrderBody"]
    assert body["properties"]["chain"]["enum"] == ["btc", "ltc", "eth", "polygon"]
