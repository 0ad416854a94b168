"""Page cursors: a list's letter and the position after which its next page starts.

``o123`` continues a list of orders below order 123; ``d456`` a list of webhook
deliveries below event 456. Plain, so the OpenAPI document can describe them
exactly (:func:`cursor_schema`): any cursor of that form is a valid position.
"""

from __future__ import annotations

import re
from typing import Any

from daemon.services.errors import InvalidRequest

# Up to 18 digits: every such position fits a 64-bit integer column.
_DIGITS = "[0-9]{1,18}"


def encode_cursor(kind: str, seq: int) -> str:
    return f"{kind}{seq}"


def decode_cursor(kind: str, cursor: str) -> int:
    if re.fullmatch(f"{kind}{_DIGITS}", cursor, flags=re.ASCII) is None:
        raise InvalidRequest(
            "invalid_cursor", f"cursor: next_cursor of a page ({kind} and up to 18 digits)"
        )
    return int(cursor[len(kind) :])


def cursor_schema(kind: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{kind}{_DIGITS}$"}
