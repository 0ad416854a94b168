"""No request body, however odd, makes the API answer 5xx (hypothesis over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import ContainerFactory
from tests.support.server import RunningApi, running_api

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = {
    "order_id": st.text(max_size=250) | json_values,
    "chain": st.sampled_from(["btc", "eth", "ltc", "polygon", "", "BTC"]) | json_values,
    "asset": st.sampled_from(["BTC", "ETH", "USDC", "pol", "x"]) | json_values,
    "amount": st.from_regex(r"-?[0-9]{0,30}(\.[0-9]{0,40})?([eE][0-9]+)?", fullmatch=True)
    | json_values,
    "amount_base": st.integers() | st.text(max_size=90) | json_values,
    "expires_in": st.text(max_size=12) | st.integers() | json_values,
    "confirmations": st.integers() | st.just("finalized") | json_values,
    "callback_url": st.text(max_size=60) | st.just("http://[::1") | json_values,
    "metadata": json_values,
}
bodies = st.fixed_dictionaries({}, optional=fields) | json_values


@pytest.fixture(params=["sqlite"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(make_container: ContainerFactory) -> Iterator[RunningApi]:
    with running_api(make_container()) as running:
        yield running


def test_no_body_produces_a_server_error(api: RunningApi) -> None:
    with httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as client:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=bodies, key=st.none() | st.text(max_size=300))
        def check(body: Any, key: str | None) -> None:
            # What an HTTP client can send: printable ASCII, no surrounding blanks.
            sendable = key and key.isascii() and key.isprintable() and key == key.strip()
            headers = {"Idempotency-Key": key} if key and sendable else {}
            response = client.post("/v1/orders", json=body, headers=headers)
            assert response.status_code < 500, (body, response.text)
            if response.status_code >= 400:
                assert set(response.json()["error"]) == {"code", "message"}

        check()
