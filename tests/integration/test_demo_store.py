"""The demo store's webhook check, against signatures made by the Standard Webhooks
reference library (``standardwebhooks``): a good one is accepted; an altered body, another
secret and a stale timestamp are refused, by the check and over HTTP with 400."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from daemon.demo.store import Event, Refused, Store, verify

SECRET = "whsec_" + "ZGVtbyBzdG9yZSBzZWNyZXQsIG5ldmVyIHVzZSBmb3IgbW9uZXk="
OTHER = "whsec_" + "YW5vdGhlciBzZWNyZXQsIGp1c3QgYXMgcmFuZG9tIGxvb2tpbmc="
BODY = json.dumps(
    {
        "type": "order.paid",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"id": "ord_1", "order_id": "shop-1", "status": "paid", "amount": "0.25"},
    }
).encode()


def signed(
    body: bytes = BODY, *, secret: str = SECRET, at: datetime | None = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    """The headers paywatch (or any Standard Webhooks sender) puts on a request."""
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def test_a_good_signature_is_accepted() -> None:
    assert verify(SECRET, signed(), BODY) == "msg_1"


def test_one_matching_signature_among_several_is_enough() -> None:
    headers = signed()
    headers["webhook-signature"] = (
        f"{signed(secret=OTHER)['webhook-signature']} " + (headers["webhook-signature"])
    )
    assert verify(SECRET, headers, BODY) == "msg_1"


# Headers are made when the test runs, not when it is collected: a timestamp taken at
# collection is minutes old by the time a long run reaches the test.
@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (signed, BODY.replace(b"0.25", b"25.0"), "no signature matches"),
        (lambda: signed(secret=OTHER), BODY, "no signature matches"),
        (lambda: signed(at=datetime.now(UTC) - timedelta(minutes=6)), BODY, "s off"),
        (lambda: signed(at=datetime.now(UTC) + timedelta(minutes=6)), BODY, "s off"),
        (lambda: {**signed(), "webhook-id": "msg_2"}, BODY, "no signature matches"),
        (
            lambda: {k: v for k, v in signed().items() if k != "webhook-signature"},
            BODY,
            "missing",
        ),
    ],
    ids=["tampered-body", "wrong-secret", "stale", "future", "other-id", "unsigned"],
)
def test_a_bad_webhook_is_refused(
    headers: Callable[[], dict[str, str]], body: bytes, reason: str
) -> None:
    with pytest.raises(Refused, match=reason):
        verify(SECRET, headers(), body)


def test_a_timestamp_inside_five_minutes_is_accepted() -> None:
    headers = signed(at=datetime.now(UTC) - timedelta(minutes=4))
    assert verify(SECRET, headers, BODY) == "msg_1"


def test_the_store_answers_200_to_a_good_webhook_400_to_bad_ones_and_prints_each() -> None:
    printed: list[str] = []
    store = Store(SECRET, printed.append)

    async def deliver() -> list[int]:
        url = await store.serve()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                requests = [
                    (BODY, signed()),
                    (BODY, signed()),  # a retry: same webhook-id, handled once
                    (BODY.replace(b"ord_1", b"ord_2"), signed()),
                    (BODY, signed(secret=OTHER, msg_id="msg_3")),
                    (BODY, signed(at=datetime.now(UTC) - timedelta(hours=1), msg_id="msg_4")),
                ]
                answers = [await client.post(url, content=b, headers=h) for b, h in requests]
                return [a.status_code for a in answers]
        finally:
            await store.stop()

    assert asyncio.run(deliver()) == [200, 200, 400, 400, 400]
    assert store.events == [Event("msg_1", "order.paid", "ord_1", "shop-1", "paid")]
    assert store.paid() == {"ord_1"}
    assert store.refused == 3
    assert printed[0].startswith("store: verified order.paid")
    assert "shop-1" in printed[0]
    assert "already handled" in printed[1]
    assert all(line.startswith("store: REFUSED") for line in printed[2:])
    assert len(printed) == 5
