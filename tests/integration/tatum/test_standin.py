"""The Tatum stand-in itself: API keys, the gateway passthrough, rate limits, subscriptions."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.integration.tatum.conftest import API_KEY, evm_gateway, ltc_gateway
from tests.support.anvil import Anvil
from tests.support.litecoind import Litecoind
from tests.support.tatum_standin import TatumStandin, tatum_standin

ERROR_KEYS = {"statusCode", "errorCode", "message"}
ETH_ADDRESS = "0x" + "ab" * 20


def call(method: str, *params: object, id_: int = 1, version: str = "2.0") -> dict[str, object]:
    return {"jsonrpc": version, "id": id_, "method": method, "params": list(params)}


def assert_tatum_error(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == status
    assert re.fullmatch(r"[a-z-]+(\.[a-z-]+)+", body["errorCode"])
    return dict(body)


def subscribe(api: httpx.Client, address: str, chain: str = "ETH", **query: str) -> httpx.Response:
    attr = {"address": address, "chain": chain, "url": "http://127.0.0.1:9/hook"}
    return api.post("/v4/subscription", params=query, json={"type": "ADDRESS_EVENT", "attr": attr})


def test_a_missing_or_wrong_api_key_is_refused_and_nothing_is_done(
    standin: TatumStandin, api: httpx.Client, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    height = anvil.height()
    for headers in ({}, {"x-api-key": "wrong"}):
        answer = httpx.post(gateway, json=call("evm_mine"), headers=headers)
        assert_tatum_error(answer, 401)
        assert answer.json()["errorCode"] == "ip-address-key.unauthorized"
    assert anvil.height() == height  # nothing forwarded
    assert [c.status for c in standin.gateway_log] == [401, 401]

    created = subscribe(api, ETH_ADDRESS).json()["id"]
    bare = httpx.Client(base_url=standin.api_url, headers={"x-api-key": API_KEY + "x"})
    attr = {"address": "0x" + "cd" * 20, "chain": "ETH", "url": "http://127.0.0.1:9/"}
    assert_tatum_error(
        bare.post("/v4/subscription", json={"type": "ADDRESS_EVENT", "attr": attr}), 401
    )
    assert_tatum_error(bare.get("/v4/subscription", params={"pageSize": 10}), 401)
    assert_tatum_error(bare.put("/v4/subscription", json={"hmacSecret": "s"}), 401)
    assert_tatum_error(bare.delete(f"/v4/subscription/{created}"), 401)
    bare.close()
    assert [s.id for s in standin.subscriptions] == [created]
    assert standin.hmac_secret is None


def test_the_gateway_passes_single_and_batch_calls_to_anvil(
    standin: TatumStandin, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    headers = {"x-api-key": API_KEY}
    single = httpx.post(gateway, json=call("eth_chainId", id_=7), headers=headers)
    assert single.status_code == 200
    assert single.json() == {"jsonrpc": "2.0", "id": 7, "result": "0x1"}

    batch = [call("eth_chainId", id_=1), call("eth_blockNumber", id_=2), call("nope", id_=3)]
    raw = json.dumps(batch).encode()
    through = httpx.post(gateway, content=raw, headers=headers)
    direct = httpx.post(anvil.url, content=raw, headers={"Content-Type": "application/json"})
    assert (through.status_code, through.json()) == (direct.status_code, direct.json())
    answers = {a["id"]: a for a in through.json()}
    assert answers[1]["result"] == "0x1"
    assert int(answers[2]["result"], 16) == anvil.height()
    assert "error" in answers[3]
    log = standin.gateway_log
    assert [c.methods for c in log] == [["eth_chainId"], ["eth_chainId", "eth_blockNumber", "nope"]]
    assert [c.gateway for c in log] == ["ethereum-mainnet"] * 2
    assert log[0].at <= log[1].at


def test_the_gateway_passes_bitcoin_rpc_and_its_error_answers_unchanged(
    standin: TatumStandin, litecoind: Litecoind
) -> None:
    gateway = ltc_gateway(standin, litecoind)
    auth = (litecoind.user, litecoind.password)
    cases = [
        call("getblockcount", version="1.0"),
        [
            call("getblockcount", id_=1, version="1.0"),
            call("getbestblockhash", id_=2, version="1.0"),
        ],
        call("nosuchmethod", version="1.0"),  # Bitcoin Core: HTTP 404 with a JSON-RPC error
        call("getblockhash", "x", version="1.0"),  # HTTP 500 with a JSON-RPC error
    ]
    statuses = []
    for case in cases:
        raw = json.dumps(case).encode()
        through = httpx.post(gateway, content=raw, headers={"x-api-key": API_KEY})
        direct = httpx.post(litecoind.url, content=raw, auth=auth)
        assert (through.status_code, through.content) == (direct.status_code, direct.content)
        statuses.append(through.status_code)
    assert statuses[:2] == [200, 200]
    assert statuses[2] == 404
    assert statuses[3] == 500
    assert (
        httpx.post(gateway, json=cases[0], headers={"x-api-key": API_KEY}).json()["result"]
        == litecoind.height()
    )


def test_rate_limit_answers_429_with_retry_after_then_passes_again(
    standin: TatumStandin, anvil: Anvil
) -> None:
    gateway = evm_gateway(standin, anvil)
    headers = {"x-api-key": API_KEY}
    standin.rate_limit(2, retry_after=3)
    for _ in range(2):
        limited = httpx.post(gateway, json=call("eth_chainId"), headers=headers)
        assert_tatum_error(limited, 429)
        assert limited.json()["errorCode"] == "request.rate.limit"
        assert limited.headers["Retry-After"] == "3"
    assert httpx.post(gateway, json=call("eth_chainId"), headers=headers).status_code == 200
    standin.rate_limit(1)
    limited = httpx.post(gateway, json=call("eth_chainId"), headers=headers)
    assert_tatum_error(limited, 429)
    assert "Retry-After" not in limited.headers
    assert httpx.post(gateway, json=call("eth_chainId"), headers=headers).status_code == 200
    assert [c.status for c in standin.gateway_log] == [429, 429, 200, 429, 200]


def test_subscriptions_are_created_listed_by_page_deleted_and_not_duplicated(
    standin: TatumStandin, api: httpx.Client
) -> None:
    addresses = [f"0x{i:040x}" for i in range(1, 24)]
    ids = [subscribe(api, a).json()["id"] for a in addresses]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == 23

    duplicate = assert_tatum_error(subscribe(api, addresses[0].upper().replace("0X", "0x")), 400)
    assert duplicate["errorCode"] == "subscription.exists.on.address-and-currency"
    assert ids[0] in str(duplicate["message"])
    testnet = subscribe(api, "tltc1qexampleaddress", "LTC", type="testnet")
    assert testnet.status_code == 200
    flags = {s.address: s.testnet for s in standin.subscriptions}
    assert flags["tltc1qexampleaddress"] is True
    assert flags[addresses[0]] is False

    pages = [
        api.get("/v4/subscription", params={"pageSize": 10, "offset": k}).json() for k in range(4)
    ]
    assert [len(p) for p in pages] == [10, 10, 4, 0]
    listed = [s for page in pages for s in page]
    assert [s["id"] for s in listed] == [*ids, testnet.json()["id"]]
    assert listed[0] == {
        "id": ids[0],
        "type": "ADDRESS_EVENT",
        "attr": {"address": addresses[0], "chain": "ETH", "url": "http://127.0.0.1:9/hook"},
    }
    for size in (9, 51):
        assert_tatum_error(api.get("/v4/subscription", params={"pageSize": size}), 400)

    assert api.delete(f"/v4/subscription/{ids[3]}").status_code == 204
    assert_tatum_error(api.delete(f"/v4/subscription/{ids[3]}"), 404)
    remaining = api.get("/v4/subscription", params={"pageSize": 50}).json()
    assert ids[3] not in {s["id"] for s in remaining}
    assert len(remaining) == 23
    assert subscribe(api, addresses[3]).status_code == 200  # free again once deleted


def test_the_standin_stops_cleanly() -> None:
    with tatum_standin(API_KEY) as standin:
        url = standin.api_url
        assert httpx.get(f"{url}/v4/subscription", params={"pageSize": 10}).status_code == 401
        thread = standin._thread
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v4/subscription")
