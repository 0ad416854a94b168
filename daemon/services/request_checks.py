"""Checks on what a store sends with an order (callback and redirect URLs, metadata)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from daemon.services import json_codec
from daemon.services.errors import InvalidRequest

MAX_METADATA_BYTES = 4096
MAX_URL_LENGTH = 2048


def check_callback_url(url: str) -> None:
    """Syntax only: the webhook dispatcher also refuses private targets at delivery."""
    check_url(url, "callback_url")


def check_url(url: str, field: str) -> None:
    """An absolute http(s) URL a store gives (``invalid_<field>`` if not)."""
    problem = None
    if len(url) > MAX_URL_LENGTH:
        problem = f"is longer than {MAX_URL_LENGTH} characters"
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            parts, port = None, None
            problem = "is not a valid URL"
        if parts is not None:
            if parts.scheme not in ("http", "https"):
                problem = "must be an http or https URL"
            elif not parts.hostname:
                problem = "has no host"
            elif parts.username or parts.password:
                problem = "must not carry a user name or password"
            elif port == 0:
                problem = "has an invalid port"
            elif not url.isascii() or not url.isprintable() or " " in url:
                problem = "must be printable ASCII without spaces (punycode for IDNs)"
    if problem is not None:
        raise InvalidRequest(f"invalid_{field}", f"{field} {problem}")


def check_metadata(metadata: dict[str, Any]) -> None:
    try:
        size = len(json_codec.dumps_bytes(metadata))
    except (TypeError, ValueError):
        raise InvalidRequest(
            "invalid_metadata",
            "metadata must be a JSON object of valid (UTF-8) text",
        ) from None
    if size > MAX_METADATA_BYTES:
        raise InvalidRequest(
            "invalid_metadata",
            f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}",
        )
