"""Standard Webhooks signatures.

``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
keyed with the base64-decoded part of the ``whsec_`` secret. While a rotation
overlap runs, the header carries the new and the old signature, space-separated,
so a store that still has the old secret keeps verifying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from pydantic import SecretStr

from daemon.config.webhooks import WebhooksConfig


def secret_key(secret: SecretStr | str) -> bytes:
    text = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return base64.b64decode(text.removeprefix("whsec_"), validate=True)


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (msg_id.encode("ascii"), timestamp, body)
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class Signer:
    """Signs with the current key, and with the previous one until ``previous_until``."""

    def __init__(
        self, key: bytes, previous: bytes | None = None, previous_until: datetime | None = None
    ) -> None:
        if previous is not None and previous_until is None:
            raise ValueError("a previous key needs the end of its overlap")
        self._key = key
        self._previous = previous
        self._previous_until = previous_until.timestamp() if previous_until else 0.0

    @classmethod
    def from_config(cls, config: WebhooksConfig) -> Signer:
        if config.secret is None:
            raise ValueError("webhooks.secret is not set")
        previous = secret_key(config.previous_secret) if config.previous_secret else None
        return cls(secret_key(config.secret), previous, config.previous_secret_until)

    def __repr__(self) -> str:
        return "Signer(<secret hidden>)"

    def header(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` value for one attempt sent at ``timestamp``."""
        value = signature(self._key, msg_id, timestamp, body)
        if self._previous is not None and timestamp < self._previous_until:
            value += " " + signature(self._previous, msg_id, timestamp, body)
        return value

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.header(msg_id, timestamp, body),
        }
