"""Every secret a config holds, by value, so the logs can mask them.

That is: each ``SecretStr`` field (webhook secrets, the Tatum API key and HMAC secret,
node passwords), with a webhook secret's key part also on its own; the password in any
URL (the database URL, node URLs with ``user:pw@``); and the parts of node URLs that
providers use as API keys (a long token as a path segment, or a ``key``/``token``
query parameter).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, SecretStr

TOKEN_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{16,}$")
SECRET_PARAMS = re.compile(r"key|token|secret|auth|password|pass", re.IGNORECASE)


def _url_secrets(url: str) -> Iterator[str]:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return
    if not parts.scheme or not parts.netloc:
        return
    if password:
        yield password
    for segment in parts.path.split("/"):
        if TOKEN_SEGMENT.match(segment):
            yield segment
    for name, value in parse_qsl(parts.query):
        if SECRET_PARAMS.search(name) and value:
            yield value


def _walk(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        yield secret
        if secret.startswith("whsec_"):
            yield secret.removeprefix("whsec_")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, str) and "://" in value:
        yield from _url_secrets(value)


def secret_values(config: BaseModel) -> set[str]:
    """The secret strings in ``config`` (empty ones left out)."""
    return {secret for secret in _walk(config) if secret}
