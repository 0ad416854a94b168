"""The delivery endpoints and the callback_url checks of the API, over real HTTP, with the
daemon's own dispatcher delivering to a real receiver."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ContainerFactory
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.clock import ManualClock
from tests.support.receiver import Receiver, fail_times, webhook_receiver
from tests.support.server import running_api

ORDER = {"chain": "btc", "asset": "BTC", "amount": "0.01"}


@pytest.fixture
def db_kind() -> str:
    return "sqlite"


@pytest.fixture
def store() -> Iterator[Receiver]:
    with webhook_receiver(SECRET, fail_times(1)) as receiver:
        yield receiver


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(
    make_container: ContainerFactory, store: Receiver, clock: ManualClock
) -> Iterator[httpx.Client]:
    # The store listens on loopback: private targets are allowed here.
    extra = webhooks_yaml(store.url, allow_private=True, poll_interval="1s")
    container = make_container(extra=extra, clock=clock)
    with (
        running_api(container) as api,
        httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as c,
    ):
        yield c


def wait_until(check: Any, clock: ManualClock, seconds: float = 20) -> Any:
    """Poll ``check`` while the daemon's clock runs ten times as fast as real time."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.1)
        clock.advance(seconds=1)


def test_delivery_log_and_redelivery(
    client: httpx.Client, store: Receiver, clock: ManualClock
) -> None:
    made = client.post("/v1/orders", json={**ORDER, "order_id": "R-1"}).json()
    client.post("/v1/orders", json={**ORDER, "order_id": "R-2"}).raise_for_status()

    # The first attempt failed (503) and is retried 5 s later; then it is delivered.
    def delivered_page() -> Any:
        page = client.get("/v1/webhooks/deliveries", params={"order_id": "R-1"}).json()
        return page if page["data"][0]["status"] == "delivered" else None

    listed = wait_until(delivered_page, clock)
    (delivery,) = listed["data"]
    assert (delivery["order"], delivery["type"], delivery["url"]) == (
        made["id"],
        "order.created",
        store.url,
    )
    detail = client.get(f"/v1/webhooks/deliveries/{delivery['id']}").json()
    assert [(a["status_code"], a["outcome"]) for a in detail["attempts"]] == [
        (503, "retrying"),
        (200, "delivered"),
    ]
    assert detail["attempts"][0]["error"] == "HTTP 503"
    assert detail["payload"]["data"]["id"] == made["id"]
    # By the paywatch id too; and the filter for failures finds nothing now.
    by_id = client.get("/v1/webhooks/deliveries", params={"order_id": made["id"]}).json()
    assert [d["id"] for d in by_id["data"]] == [delivery["id"]]
    failed = client.get("/v1/webhooks/deliveries", params={"status": "failed"}).json()
    assert failed["data"] == []

    again = client.post(f"/v1/webhooks/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202
    assert (again.json()["status"], again.json()["attempt_count"]) == ("pending", 0)
    wait_until(lambda: store.ids().count(delivery["id"]) == 3, clock)  # same webhook-id, third time
    assert all(r.verified == (True,) for r in store.received)


def test_pages_and_errors(client: httpx.Client) -> None:
    for n in range(3):
        client.post("/v1/orders", json={**ORDER, "order_id": f"P-{n}"}).raise_for_status()
    first = client.get("/v1/webhooks/deliveries", params={"limit": 2}).json()
    assert first["has_more"] is True
    rest = client.get(
        "/v1/webhooks/deliveries", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert rest["has_more"] is False
    seen = [d["order_id"] for d in first["data"] + rest["data"]]
    assert seen == ["P-2", "P-1", "P-0"]  # newest first, each once

    missing = client.get("/v1/webhooks/deliveries/msg_nope")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "delivery_not_found")
    bad = client.get("/v1/webhooks/deliveries", params={"status": "lost"})
    assert bad.status_code == 422
    assert "status" in bad.json()["error"]["message"]
    assert client.post("/v1/webhooks/deliveries/msg_nope/redeliver").status_code == 404
    anonymous = httpx.get(str(client.base_url) + "/v1/webhooks/deliveries")
    assert anonymous.status_code == 401
    spec = client.get("/openapi.json").json()
    assert "/v1/webhooks/deliveries/{id}/redeliver" in spec["paths"]


@pytest.fixture
def strict(make_container: ContainerFactory) -> Iterator[httpx.Client]:
    """A daemon with the default: private targets refused."""
    container = make_container(extra=webhooks_yaml(None, allow_private=False))
    with (
        running_api(container) as api,
        httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as c,
    ):
        yield c


def own_host_is_not_public() -> bool:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), 80)
    except OSError:
        return False
    return all(not ipaddress.ip_address(info[4][0]).is_global for info in infos)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
    ],
)
def test_private_callback_urls_are_refused_at_creation(strict: httpx.Client, url: str) -> None:
    refused = strict.post("/v1/orders", json={**ORDER, "order_id": "X", "callback_url": url})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_callback_url"
    assert error["message"].startswith("callback_url: ")
    assert strict.get("/v1/orders").json()["data"] == []  # nothing was written


def test_a_name_resolving_to_a_private_address_is_refused(strict: httpx.Client) -> None:
    if not own_host_is_not_public():
        pytest.skip("this machine's own name resolves to a public address")
    url = f"http://{socket.gethostname()}:8080/hook"
    refused = strict.post("/v1/orders", json={**ORDER, "order_id": "X", "callback_url": url})
    assert refused.status_code == 422
    assert "resolves to" in refused.json()["error"]["message"]
    # A name that does not resolve now is let through: each delivery checks it again.
    ok = strict.post(
        "/v1/orders",
        json={**ORDER, "order_id": "Y", "callback_url": "https://shop.example/hooks"},
    )
    assert ok.status_code == 201, ok.text
