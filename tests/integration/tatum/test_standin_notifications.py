"""The Tatum stand-in's notifications: payments on real nodes become Tatum's signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable

import httpx

from tests.integration.tatum.conftest import Inbox, evm_gateway, ltc_gateway
from tests.support.anvil import ACCOUNTS, Anvil, call_data, free_port, load_artifact
from tests.support.litecoind import Litecoind
from tests.support.tatum_standin import Sent, TatumStandin

SECRET = "c354b83b-d31b-4dda-9bab-d6a67715a1ed"
KEYS = ["address", "amount", "counterAddress", "asset", "blockNumber", "txId", "type"]
KEYS += ["tokenId", "chain", "subscriptionType"]


def signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha512).digest()).decode()


def watch(api: httpx.Client, address: str, chain: str, url: str, *, testnet: bool = False) -> str:
    attr = {"address": address, "chain": chain, "url": url}
    query = {"type": "testnet"} if testnet else {}
    answer = api.post(
        "/v4/subscription", params=query, json={"type": "ADDRESS_EVENT", "attr": attr}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def to(path: str) -> Callable[[Sent], bool]:
    """A notification to ``path`` whose attempts are over."""
    return lambda sent: sent.done and sent.url.endswith(path)


def new_eth_address() -> str:
    return "0x" + os.urandom(20).hex()


def block_of(anvil: Anvil, tx: str) -> int:
    return int(anvil.receipt(tx)["blockNumber"], 16)


def test_a_native_eth_payment_is_notified_signed_in_tatums_format(
    standin: TatumStandin, api: httpx.Client, anvil: Anvil, inbox: Inbox
) -> None:
    evm_gateway(standin, anvil)
    assert api.put("/v4/subscription", json={"hmacSecret": SECRET}).status_code == 204
    receiver = new_eth_address()
    watch(api, "0x" + receiver[2:].upper(), "ETH", inbox.url("/eth"))  # any case matches
    tx = anvil.send(receiver, 1_500_000_000_000_000)

    sent = standin.wait_sent(lambda s: s.done)
    assert sent.attempts == (200,)
    (hook,) = inbox.at("/eth")
    assert hook.body == sent.body
    assert hook.body == json.dumps(json.loads(hook.body), separators=(",", ":")).encode()
    payload = json.loads(hook.body)
    assert list(payload) == KEYS
    assert payload == {
        "address": receiver,
        "amount": "0.0015",
        "counterAddress": ACCOUNTS[0],
        "asset": "ETH",
        "blockNumber": block_of(anvil, tx),
        "txId": tx,
        "type": "native",
        "tokenId": None,
        "chain": "ethereum-mainnet",
        "subscriptionType": "ADDRESS_EVENT",
    }
    assert hook.headers["content-type"] == "application/json"
    assert hook.headers["x-payload-hash"] == signature(hook.body)


def test_an_erc20_transfer_is_notified_as_a_token_event(
    standin: TatumStandin, api: httpx.Client, anvil: Anvil, inbox: Inbox
) -> None:
    evm_gateway(standin, anvil)
    token = anvil.deploy(load_artifact("TestToken"))
    anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**12))
    receiver = new_eth_address()
    watch(api, receiver, "ETH", inbox.url("/token"))
    tx = anvil.send(token, 0, data=call_data("transfer(address,uint256)", receiver, 1_234_500))

    sent = standin.wait_sent(to("/token"))
    assert sent.payload == {
        "address": ACCOUNTS[0],  # the sender, for token events
        "amount": "1.2345",  # TestToken has 6 decimals
        "counterAddress": receiver,
        "asset": token.lower(),
        "blockNumber": block_of(anvil, tx),
        "txId": tx,
        "type": "token",
        "tokenId": None,
        "chain": "ethereum-mainnet",
        "subscriptionType": "ADDRESS_EVENT",
    }
    (hook,) = inbox.at("/token")
    assert "x-payload-hash" not in hook.headers  # no HMAC secret set
    assert len(standin.sent) == 1  # the zero-value calls and the mint paid nobody watched


def test_a_litecoin_payment_is_notified_from_the_mempool_then_from_its_block(
    standin: TatumStandin, api: httpx.Client, litecoind: Litecoind, inbox: Inbox
) -> None:
    ltc_gateway(standin, litecoind)
    api.put("/v4/subscription", json={"hmacSecret": SECRET})
    address = litecoind.new_address()
    watch(api, address, "LTC", inbox.url("/ltc"), testnet=True)
    watch(api, address, "LTC", inbox.url("/mainnet"))  # another network: never notified
    txid = litecoind.send(address, "0.0015")

    mempool = standin.wait_sent(to("/ltc")).payload
    assert "blockNumber" not in mempool
    counter = mempool.pop("counterAddress")
    assert litecoind.rpc("getaddressinfo", counter)["ismine"]  # the wallet's spent output
    assert mempool == {
        "address": address,
        "amount": "0.0015",
        "asset": "LTC",
        "txId": txid,
        "type": "native",
        "tokenId": None,
        "chain": "litecoin-core-testnet",
        "subscriptionType": "ADDRESS_EVENT",
        "mempool": True,
    }

    litecoind.mine(1)
    mined = standin.wait_sent(lambda s: to("/ltc")(s) and "blockNumber" in s.payload).payload
    assert list(mined) == KEYS
    assert mined["blockNumber"] == litecoind.height()
    assert {k: v for k, v in mined.items() if k != "blockNumber"} == {
        **{k: v for k, v in mempool.items() if k != "mempool"},
        "counterAddress": counter,
    }
    hooks = inbox.at("/ltc")
    assert len(hooks) == 2
    assert all(h.headers["x-payload-hash"] == signature(h.body) for h in hooks)
    assert inbox.at("/mainnet") == []


def test_a_notification_is_retried_up_to_three_attempts(
    standin: TatumStandin, api: httpx.Client, anvil: Anvil, inbox: Inbox
) -> None:
    evm_gateway(standin, anvil)
    paid, unreachable = new_eth_address(), new_eth_address()
    watch(api, paid, "ETH", inbox.url("/retry"))
    watch(api, unreachable, "ETH", f"http://127.0.0.1:{free_port()}/closed")

    inbox.answers = [500]
    anvil.send(paid, 1)
    first = standin.wait_sent(to("/retry"))
    assert first.attempts == (500, 200)
    assert first.delivered
    assert [h.body for h in inbox.at("/retry")] == [first.body, first.body]

    inbox.answers = [503, 500, 502]
    tx = anvil.send(paid, 2)
    second = standin.wait_sent(lambda s: to("/retry")(s) and s.payload["txId"] == tx)
    assert second.payload["amount"] == "0.000000000000000002"  # plain decimal, no exponent
    assert second.attempts == (503, 500, 502)
    assert not second.delivered
    assert len(inbox.at("/retry")) == 5

    anvil.send(unreachable, 3)
    closed = standin.wait_sent(to("/closed"))
    assert closed.attempts == (None, None, None)


def test_a_deleted_subscription_gets_nothing(
    standin: TatumStandin, api: httpx.Client, anvil: Anvil, inbox: Inbox
) -> None:
    evm_gateway(standin, anvil)
    gone, kept = new_eth_address(), new_eth_address()
    gone_id = watch(api, gone, "ETH", inbox.url("/gone"))
    watch(api, kept, "ETH", inbox.url("/kept"))
    assert api.delete(f"/v4/subscription/{gone_id}").status_code == 204

    anvil.send(gone, 10**18)
    anvil.send(kept, 10**18)  # a later block: polled after the first one
    assert standin.wait_sent(to("/kept")).payload["amount"] == "1"
    assert inbox.at("/gone") == []
    assert [s.url for s in standin.sent] == [inbox.url("/kept")]


def test_post_raw_delivers_the_exact_bytes_and_headers(standin: TatumStandin, inbox: Inbox) -> None:
    forged = b'{"address":"x",  "amount":"1e3"}'
    status, body = standin.post_raw(inbox.url("/forged"), forged, {"x-payload-hash": "AAAA"})
    assert (status, body) == (200, b"")
    (hook,) = inbox.at("/forged")
    assert hook.body == forged
    assert hook.headers["x-payload-hash"] == "AAAA"
    assert standin.sent == []  # not a notification of the stand-in's own
