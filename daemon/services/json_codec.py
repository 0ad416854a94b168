"""JSON for bodies that carry money: integers of any size stay exact.

(orjson refuses integers beyond 64 bits when writing and turns them into
floats when reading; a wei amount is routinely larger. The standard library
keeps them exact.)
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any, *, indent: int | None = None) -> str:
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, separators=separators, indent=indent
    )


def dumps_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")


def loads(text: str | bytes) -> Any:
    return json.loads(text)
