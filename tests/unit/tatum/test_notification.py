"""Tatum notifications: the x-payload-hash signature and the fields paywatch reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.tatum.notification import (
    NotificationError,
    parse_notification,
    payload_hash,
    verify,
)
from daemon.services.errors import Unauthorized
from daemon.tatum.hints import BadNotification, Hints

SECRET = "a-tatum-hmac-secret"
BODY = json.dumps(
    {
        "address": "0x9858effd232b4033e47d90003d41ec34ecaeda94",
        "amount": "0.0015",
        "counterAddress": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "asset": "ETH",
        "blockNumber": 19000000,
        "txId": "0x" + "ab" * 32,
        "type": "native",
        "tokenId": None,
        "chain": "ethereum-mainnet",
        "subscriptionType": "ADDRESS_EVENT",
    },
    separators=(",", ":"),
).encode()


def tatum_signature(secret: str, body: bytes) -> str:
    """As Tatum documents it, computed independently of paywatch's code."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode()


def test_the_signature_is_base64_hmac_sha512_of_the_raw_body() -> None:
    assert payload_hash(SECRET, BODY) == tatum_signature(SECRET, BODY)
    assert verify([SECRET], BODY, tatum_signature(SECRET, BODY))


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0))
def test_any_change_to_the_body_breaks_the_signature(extra: bytes, where: int) -> None:
    at = where % len(BODY)
    altered = BODY[:at] + extra + BODY[at:]
    assert not verify([SECRET], altered, tatum_signature(SECRET, BODY))


def test_another_secret_or_garbage_does_not_verify() -> None:
    assert not verify([SECRET], BODY, tatum_signature("another secret", BODY))
    assert not verify([SECRET], BODY, "not base64 at all")
    assert not verify([], BODY, tatum_signature(SECRET, BODY))


def test_a_block_notification_is_parsed() -> None:
    note = parse_notification(BODY)
    assert note.tx_id == "0x" + "ab" * 32
    assert note.block_number == 19000000
    assert note.addresses == (
        "0x9858effd232b4033e47d90003d41ec34ecaeda94",
        "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    )
    assert note.kind == "native"
    assert note.chain == "ethereum-mainnet"


def test_a_mempool_hit_has_no_block() -> None:
    data = json.loads(BODY)
    del data["blockNumber"]
    data["mempool"] = True
    assert parse_notification(json.dumps(data).encode()).block_number is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"txId": None}, "txId: is required"),
        ({"address": ""}, "address: is required"),
        ({"txId": 5}, "txId: must be a string"),
        ({"blockNumber": "12"}, "blockNumber: must be a block height"),
        ({"blockNumber": -1}, "blockNumber: must be a block height"),
    ],
)
def test_unusable_fields_are_named(change: dict[str, object], message: str) -> None:
    data = {**json.loads(BODY), **change}
    with pytest.raises(NotificationError, match=message):
        parse_notification(json.dumps(data).encode())


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_an_object_is_refused(body: bytes) -> None:
    with pytest.raises(NotificationError):
        parse_notification(body)


def desk() -> Hints:
    return Hints(db=None, chains={}, secrets=[SECRET])  # type: ignore[arg-type]


def test_the_desk_refuses_unsigned_and_forged_bodies_before_reading_them() -> None:
    with pytest.raises(Unauthorized) as missing:
        desk().check(BODY, None)
    assert missing.value.code == "signature_missing"
    with pytest.raises(Unauthorized) as forged:
        desk().check(BODY, tatum_signature("guessed", BODY))
    assert forged.value.code == "signature_invalid"
    garbage = b"{not json"
    with pytest.raises(BadNotification):
        desk().check(garbage, tatum_signature(SECRET, garbage))
    assert desk().check(BODY, tatum_signature(SECRET, BODY)).tx_id.startswith("0x")
