"""API keys: shown once at creation, stored as a SHA-256 hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from daemon.services.errors import NotFound, Unauthorized
from daemon.services.identifiers import new_id
from daemon.storage.prepared import Prepared
from daemon.storage.tables import api_keys

_KEY = re.compile(r"^pw_(?P<id>key_[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "revoked_at": self.revoked_at.isoformat().replace("+00:00", "Z")
            if self.revoked_at
            else None,
            "active": self.revoked_at is None,
        }


_KEY_BY_ID = Prepared(
    select(api_keys.c.secret_hash, api_keys.c.revoked_at).where(
        api_keys.c.id == bindparam("key_id")
    )
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, name: str, now: datetime) -> tuple[ApiKeyInfo, str]:
    """A new key; the clear text is returned once and never stored."""
    key_id = new_id("key", 8)
    key = f"pw_{key_id}_{secrets.token_urlsafe(32)}"
    conn.execute(
        insert(api_keys).values(
            id=key_id, name=name, secret_hash=_digest(key), created_at=now, revoked_at=None
        )
    )
    return ApiKeyInfo(key_id, name, now, None), key


def list_keys(conn: Connection) -> list[ApiKeyInfo]:
    rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
    return [ApiKeyInfo(r.id, r.name, r.created_at, r.revoked_at) for r in rows]


def revoke_key(conn: Connection, key_id: str, now: datetime) -> ApiKeyInfo:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound("api_key_not_found", f"no API key with id {key_id!r}")
    if row.revoked_at is None:
        conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
        return ApiKeyInfo(row.id, row.name, row.created_at, now)
    return ApiKeyInfo(row.id, row.name, row.created_at, row.revoked_at)


def check_key_format(presented: str | None) -> str:
    """``presented`` if it looks like one of our keys (no database needed), else 401."""
    if not presented:
        raise Unauthorized("unauthorized", "missing API key: send Authorization: Bearer <key>")
    if _KEY.match(presented) is None:
        raise Unauthorized("unauthorized", "the API key is not valid or has been revoked")
    return presented


def authenticate(conn: Connection, presented: str | None) -> str:
    """The id of the active key that ``presented`` is, else :class:`Unauthorized`."""
    key = check_key_format(presented)
    match = _KEY.match(key)
    assert match is not None  # check_key_format guarantees the shape
    row = _KEY_BY_ID.first(conn, {"key_id": match.group("id")})
    # Compare even when the id is unknown, so timing tells nothing about which ids exist.
    expected = row[0] if row is not None else "0" * 64
    valid = hmac.compare_digest(_digest(key), expected)
    if row is None or not valid or row[1] is not None:
        raise Unauthorized("unauthorized", "the API key is not valid or has been revoked")
    return match.group("id")
