"""Public identifiers: random, URL-safe, prefixed by what they name."""

from __future__ import annotations

import secrets


def new_id(prefix: str, nbytes: int = 12) -> str:
    return f"{prefix}_{secrets.token_hex(nbytes)}"


CHECKOUT_TOKEN_BYTES = 32  # 256 bits: guessing one of a billion live orders' tokens is hopeless


def checkout_token() -> str:
    """The secret part of an order's checkout URL: base64url, 43 characters."""
    return secrets.token_urlsafe(CHECKOUT_TOKEN_BYTES)
