"""Tatum's address notifications: the ``x-payload-hash`` signature and the body's fields.

Tatum signs a notification with ``base64(HMAC-SHA512(hmacSecret, body))`` over the raw
bytes, with no timestamp: a captured notification can be sent again, so a receiver must
treat it as a hint and deduplicate. The fields are Tatum's default format; only those
paywatch reads are checked (``txId`` and ``address`` are required).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from chains.errors import FormatError

__all__ = ["Notification", "NotificationError", "parse_notification", "payload_hash", "verify"]

MAX_FIELD = 200


class NotificationError(FormatError):
    """The body is not a Tatum notification paywatch can use (the message names the field)."""


@dataclass(frozen=True, slots=True)
class Notification:
    tx_id: str
    addresses: tuple[str, ...]  # address, then counterAddress when given
    block_number: int | None  # None for a mempool hit
    kind: str  # native | token | internal | fee | failed | ...
    chain: str  # Tatum's name, e.g. ethereum-mainnet (may be empty)


def payload_hash(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def verify(secrets: Iterable[str], body: bytes, header: str) -> bool:
    """True when ``header`` is the body's hash under one of ``secrets`` (constant time)."""
    given = header.strip().encode()
    return any(hmac.compare_digest(payload_hash(s, body).encode(), given) for s in secrets)


def parse_notification(body: bytes) -> Notification:
    try:
        data = json.loads(body)
    except ValueError:
        raise NotificationError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise NotificationError("the body must be a JSON object")
    tx_id = _text(data, "txId", required=True)
    address = _text(data, "address", required=True)
    counter = _text(data, "counterAddress", required=False)
    block = data.get("blockNumber")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 0):
        raise NotificationError("blockNumber: must be a block height (an integer >= 0)")
    if data.get("mempool") is True:
        block = None
    return Notification(
        tx_id=tx_id,
        addresses=tuple(a for a in (address, counter) if a),
        block_number=block,
        kind=_text(data, "type", required=False),
        chain=_text(data, "chain", required=False),
    )


def _text(data: dict[str, object], key: str, *, required: bool) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise NotificationError(f"{key}: is required")
        return ""
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise NotificationError(f"{key}: must be a string of at most {MAX_FIELD} characters")
    return value.strip()
