"""The daemon with ETH watched through the Tatum stand-in: notifications are verified hints.

The chain is polled only every 30 s here, so a payment seen within seconds was seen
through its notification."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from chains.tatum.notification import payload_hash
from tests.integration.tatum.daemon import (
    HMAC_SECRET,
    create_order,
    eth_daemon,
    eventually,
    get_order,
    snapshot,
    subscribed,
)
from tests.support.anvil import Anvil
from tests.support.server import RunningApi
from tests.support.tatum_standin import TatumStandin

POLL_SECONDS = 30


def notify_url(api: RunningApi) -> str:
    return f"{api.base_url}/v1/tatum/notifications"


def post(api: RunningApi, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-payload-hash"] = signature
    return httpx.post(notify_url(api), content=body, headers=headers, timeout=10)


def test_a_payment_is_seen_through_its_notification_long_before_the_poll(
    standin: TatumStandin, anvil: Anvil
) -> None:
    with eth_daemon(standin, anvil, poll=f"{POLL_SECONDS}s") as api:
        order = create_order(api, "eth", "ETH", "0.5", "fast")
        eventually(lambda: subscribed(standin, order["address"]), what="the subscription")
        assert standin.hmac_secret == HMAC_SECRET  # set by paywatch at start
        time.sleep(1.5)  # the watcher's first rounds are over: from now on it only polls
        paid_at = time.monotonic()
        anvil.send(order["address"], 5 * 10**17)
        view = eventually(
            lambda: (v := get_order(api, order["id"]))["status"] == "paid" and v,
            timeout=POLL_SECONDS - 5,
            what="the order to be paid",
        )
        took = time.monotonic() - paid_at
        assert took < POLL_SECONDS / 3, f"paid after {took:.1f}s: not through the notification"
        assert view["received_confirmed"] == "0.5"
        sent = standin.wait_sent(lambda s: order["address"].lower() in s.body.decode().lower())
        assert sent.attempts[-1] == 200
        assert api.container.tatum_hints is not None
        assert api.container.tatum_hints.stats["on_chain"] >= 1
        # The paid order's subscription is deleted.
        eventually(lambda: not subscribed(standin, order["address"]), what="the deletion")


def test_forged_altered_unsigned_and_replayed_notifications_change_nothing(
    standin: TatumStandin, anvil: Anvil
) -> None:
    with eth_daemon(standin, anvil, poll=f"{POLL_SECONDS}s") as api:
        order = create_order(api, "eth", "ETH", "2", "forged")
        eventually(lambda: subscribed(standin, order["address"]), what="the subscription")
        anvil.send(order["address"], 10**18)  # half: the order stays open
        sent = standin.wait_sent(lambda s: order["address"].lower() in s.body.decode().lower())
        eventually(
            lambda: get_order(api, order["id"])["received_confirmed"] == "1", what="the credit"
        )
        before = snapshot(api.container)
        genuine = sent.body
        data: dict[str, Any] = json.loads(genuine)
        forged_body = json.dumps({**data, "amount": "2"}).encode()
        cases = {
            "unsigned": (genuine, None),
            "forged": (forged_body, payload_hash("a guessed secret", forged_body)),
            "altered": (forged_body, payload_hash(HMAC_SECRET, genuine)),
            "garbage signature": (genuine, "bm90IGEgc2lnbmF0dXJl"),
        }
        for name, (body, signature) in cases.items():
            answer = post(api, body, signature)
            assert answer.status_code == 401, (name, answer.text)
            assert answer.json()["error"]["code"] in ("signature_missing", "signature_invalid")
        replay = post(api, genuine, payload_hash(HMAC_SECRET, genuine))
        assert replay.status_code == 200
        assert replay.json()["status"] == "duplicate"
        time.sleep(1.0)
        assert snapshot(api.container) == before
        view = get_order(api, order["id"])
        assert (view["status"], view["received_confirmed"]) == ("pending", "1")  # underpaid


def test_a_signed_notification_for_a_transaction_not_on_chain_credits_nothing(
    standin: TatumStandin, anvil: Anvil
) -> None:
    with eth_daemon(standin, anvil, poll=f"{POLL_SECONDS}s") as api:
        order = create_order(api, "eth", "ETH", "1", "phantom")
        before = snapshot(api.container)
        phantom = {
            "address": order["address"].lower(),
            "amount": "1",
            "counterAddress": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            "asset": "ETH",
            "blockNumber": anvil.height(),
            "txId": "0x" + "5a" * 32,
            "type": "native",
            "tokenId": None,
            "chain": "ethereum-mainnet",
            "subscriptionType": "ADDRESS_EVENT",
        }
        body = json.dumps(phantom, separators=(",", ":")).encode()
        answer = post(api, body, payload_hash(HMAC_SECRET, body))
        assert answer.status_code == 200
        assert answer.json()["status"] == "accepted"
        hints = api.container.tatum_hints
        assert hints is not None
        eventually(lambda: hints.stats["absent"] == 1, timeout=15, what="the hint to be dropped")
        assert snapshot(api.container) == before
        assert get_order(api, order["id"])["status"] == "pending"
        # An address no order has is ignored outright.
        stranger = json.dumps({**phantom, "address": "0x" + "77" * 20, "counterAddress": ""})
        answer = post(api, stranger.encode(), payload_hash(HMAC_SECRET, stranger.encode()))
        assert answer.json()["status"] == "ignored"
        # A signed body that is not a notification is refused and named.
        bad = json.dumps({**phantom, "txId": None}).encode()
        answer = post(api, bad, payload_hash(HMAC_SECRET, bad))
        assert answer.status_code == 400
        assert "txId" in answer.json()["error"]["message"]
