"""Every route that needs an API key checks it before anything else: with a missing,
malformed, unknown or revoked key the answer is 401, and the daemon neither reads the
body, nor judges the query, nor resolves a callback URL's host, nor writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.routing import Route

from daemon.api.app import create_app
from daemon.services.apikeys import create_key, revoke_key
from daemon.storage.tables import api_keys, events, orders
from tests.integration.conftest import ContainerFactory
from tests.support.server import RunningApi, running_api

# The routes served without an API key, each for its reason. A new route is either
# behind the key check or added here on purpose.
PUBLIC = {
    ("GET", "/healthz"),  # liveness for systemd and load balancers
    ("GET", "/readyz"),  # readiness, likewise
    ("GET", "/openapi.json"),  # the API's description
    ("POST", "/v1/tatum/notifications"),  # Tatum's callbacks, HMAC-signed instead
    # The checkout page: the unguessable token in its path is its key.
    ("GET", "/pay/{token}"),
    ("GET", "/pay/{token}/status"),
    ("GET", "/pay/{token}/events"),
    ("POST", "/pay/{token}/pick"),
}
UNKNOWN_KEY = "pw_key_0123456789abcdef_" + "A" * 43
# Everything a handler could trip over if it looked before authenticating.
GARBAGE_QUERY = {"limit": "0", "status": "bogus", "cursor": "@@@", "order_id": "x" * 500}
GARBAGE_BODY = b'{"order_id": "", "chain": 5, "callback_url": "http://resolve-me.example/"'


@pytest.fixture
def api(make_container: ContainerFactory) -> Iterator[RunningApi]:
    with running_api(make_container()) as running:
        yield running


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hosts the daemon resolves (for callback URLs), each answered 127.0.0.1."""
    hosts: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        hosts.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr("daemon.webhooks.targets.system_resolver", resolver)
    return hosts


def keyed_routes(api: RunningApi) -> list[tuple[str, str]]:
    """(method, concrete path) of every route the app serves that is not PUBLIC."""
    found = []
    for route in create_app(api.container).routes:
        assert isinstance(route, Route), route
        path = re.sub(r"\{id\}", "ord_0000000000000000", route.path)
        path = re.sub(r"\{kind(:str)?\}", "svg", path)
        path = re.sub(r"\{token\}", "A" * 43, path)
        assert "{" not in path, f"fill in the path parameters of {route.path}"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if (method, route.path) not in PUBLIC:
                found.append((method, path))
    return found


def bad_keys(api: RunningApi) -> dict[str, dict[str, str]]:
    def revoked(conn: Any) -> str:
        info, key = create_key(conn, "to revoke", api.container.clock())
        revoke_key(conn, info.id, api.container.clock())
        return key

    revoked_key = api.container.db.write(revoked)
    forged = api.key[:-1] + ("A" if api.key[-1] != "A" else "B")
    return {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {api.key}"},
        "malformed": {"Authorization": "Bearer hunter2"},
        "unknown": {"Authorization": f"Bearer {UNKNOWN_KEY}"},
        "wrong secret": {"Authorization": f"Bearer {forged}"},
        "revoked": {"Authorization": f"Bearer {revoked_key}"},
    }


def counts(api: RunningApi) -> tuple[int, int, int]:
    def count(conn: Any) -> tuple[int, int, int]:
        return tuple(
            conn.execute(select(func.count()).select_from(table)).scalar()
            for table in (orders, events, api_keys)
        )

    return api.container.db.read(count)


def test_every_keyed_route_refuses_a_bad_key_first(api: RunningApi, looked_up: list[str]) -> None:
    routes = keyed_routes(api)
    assert ("POST", "/v1/orders") in routes
    assert ("POST", "/v1/webhooks/deliveries/ord_0000000000000000/redeliver") in routes
    keys = bad_keys(api)
    before = counts(api)
    with httpx.Client(base_url=api.base_url, timeout=10) as anon:
        for method, path in routes:
            for why, headers in keys.items():
                response = anon.request(
                    method,
                    path,
                    params=GARBAGE_QUERY,
                    content=GARBAGE_BODY,
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert response.status_code == 401, (method, path, why, response.text)
                assert response.json()["error"]["code"] == "unauthorized", (method, path, why)
                assert response.headers["www-authenticate"] == "Bearer"
    assert counts(api) == before
    assert looked_up == []


def test_an_unknown_key_with_a_callback_url_gets_401_and_no_lookup(
    api: RunningApi, looked_up: list[str]
) -> None:
    body = {
        "order_id": "probe",
        "chain": "btc",
        "asset": "BTC",
        "amount": "0.01",
        "callback_url": "http://intranet.shop.example/hook",
    }
    with httpx.Client(base_url=api.base_url, timeout=10) as anon:
        probe = anon.post(
            "/v1/orders", json=body, headers={"Authorization": f"Bearer {UNKNOWN_KEY}"}
        )
        assert probe.status_code == 401, probe.text
        assert "127.0.0.1" not in probe.text
        assert looked_up == []
        assert counts(api)[:2] == (0, 0)
        # With the right key the same request is judged, the host resolved, and refused.
        judged = anon.post("/v1/orders", json=body, headers=api.auth)
        assert judged.status_code == 422, judged.text
        assert "resolves to 127.0.0.1" in judged.json()["error"]["message"]
        assert looked_up == ["intranet.shop.example"]
        assert counts(api)[:2] == (0, 0)


def test_a_good_key_still_gets_its_answers(api: RunningApi) -> None:
    with httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as client:
        for method, path in keyed_routes(api):
            response = client.request(method, path)
            assert response.status_code != 401, (method, path, response.text)
        listed = client.get("/v1/orders", params={"status": "bogus"})
        assert listed.status_code == 422  # the query is judged once the key is good
