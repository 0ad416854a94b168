"""/v1/payments and /v1/stats: keyed, published, and their bad parameters named."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.accounting.books import COLUMNS
from tests.integration.conftest import ContainerFactory
from tests.support.server import RunningApi, running_api


@pytest.fixture
def api(make_container: ContainerFactory) -> Iterator[RunningApi]:
    with running_api(make_container()) as running:
        yield running


@pytest.fixture
def client(api: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as c:
        yield c


def test_both_routes_need_a_key(api: RunningApi) -> None:
    with httpx.Client(base_url=api.base_url, timeout=10) as anonymous:
        for path in ("/v1/payments", "/v1/stats"):
            assert anonymous.get(path, params={"since": "garbage"}).status_code == 401


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/v1/payments", "since", "2026-02-30"),
        ("/v1/payments", "until", "yesterday"),
        ("/v1/stats", "since", "2026-12-01T25:00:00Z"),
    ],
)
def test_a_bad_date_is_a_422_naming_the_parameter(
    client: httpx.Client, path: str, name: str, value: str
) -> None:
    answer = client.get(path, params={name: value})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == f"invalid_{name}"
    assert error["message"].startswith(f"{name}: ")


def test_a_bad_cursor_is_a_422(client: httpx.Client) -> None:
    answer = client.get("/v1/payments", params={"cursor": "o12"})
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("cursor:")


def test_empty_books(client: httpx.Client) -> None:
    page = client.get("/v1/payments", params={"since": "2026-01-01", "until": "2027-01-01"})
    assert page.json() == {"data": [], "next_cursor": None, "has_more": False}
    stats = client.get("/v1/stats", params={"since": "2026-12-01T00:00:00+01:00"}).json()
    assert stats["since"] == "2026-11-30T23:00:00Z"
    assert stats["orders"]["paid"] == 0
    assert stats["paid_volume"] == []
    assert stats["median_seconds_to_paid"] is None
    assert stats["webhooks"]["success_rate"] is None


def test_published_in_openapi(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    payments = document["paths"]["/v1/payments"]["get"]
    assert [p["name"] for p in payments["parameters"]] == [
        "since",
        "until",
        "chain",
        "limit",
        "cursor",
    ]
    row = document["components"]["schemas"]["PaymentRow"]
    assert list(row["properties"]) == COLUMNS
    assert "/v1/stats" in document["paths"]
    assert "Stats" in document["components"]["schemas"]
