"""A fiat order's options over HTTP: each option's QR code, the pick route, and the
pick's refusals (no node needed: an order needs only its addresses derived)."""

from __future__ import annotations

import httpx

from tests.integration.conftest import ContainerFactory
from tests.support.server import running_api

RATES = (
    "rates: {sources: [], currencies: [EUR],"
    " fixed: {BTC/EUR: '60000', ETH/EUR: '2000', USDC/EUR: '0.92'}}"
)


def test_options_have_qr_codes_and_are_picked(make_container: ContainerFactory) -> None:
    container = make_container(extra=f"orders: {{addresses: lazy}}\n{RATES}")
    with running_api(container) as api, httpx.Client(base_url=api.base_url) as http:
        body = {
            "order_id": "Q-1",
            "price": {"amount": "30.00", "currency": "EUR"},
            "accept": [{"chain": "btc", "asset": "BTC"}, {"chain": "eth", "asset": "USDC"}],
        }
        made = http.post("/v1/orders", json=body, headers=api.auth).json()
        assert [o["address"] for o in made["options"]] == [None, None]
        qr = f"/v1/orders/{made['id']}/qr.svg"
        assert http.get(qr, headers=api.auth).status_code == 404  # no single URI
        unpicked = http.get(qr, params={"chain": "eth", "asset": "USDC"}, headers=api.auth)
        assert unpicked.status_code == 404  # lazy: no address until picked

        pick = f"/v1/orders/{made['id']}/pick"
        wrong = http.post(pick, json={"chain": "eth", "asset": "ETH"}, headers=api.auth)
        assert wrong.status_code == 422
        assert wrong.json()["error"]["code"] == "unknown_option"
        assert http.post(pick, json={"chain": "eth"}, headers=api.auth).status_code == 422
        assert http.post(pick, json={"chain": "eth", "asset": "USDC"}).status_code == 401

        picked = http.post(pick, json={"chain": "eth", "asset": "usdc"}, headers=api.auth)
        assert picked.status_code == 200
        usdc = picked.json()["options"][1]
        assert usdc["address"].startswith("0x")
        assert picked.json()["options"][0]["address"] is None  # BTC still unpicked
        image = http.get(qr, params={"chain": "eth", "asset": "USDC"}, headers=api.auth)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/svg+xml"
        again = http.post(pick, json={"chain": "eth", "asset": "USDC"}, headers=api.auth)
        assert again.json()["options"][1]["address"] == usdc["address"]

        listed = http.get("/v1/orders", params={"chain": "btc"}, headers=api.auth).json()
        assert [o["id"] for o in listed["data"]] == [made["id"]]  # offered on btc
        none = http.get("/v1/orders", params={"chain": "ltc"}, headers=api.auth).json()
        assert none["data"] == []

        http.post(f"/v1/orders/{made['id']}/cancel", headers=api.auth)
        closed = http.post(pick, json={"chain": "btc", "asset": "BTC"}, headers=api.auth)
        assert closed.status_code == 409
        assert closed.json()["error"]["code"] == "order_not_open"
