"""Durations written as ``90s``, ``15m``, ``24h``, ``3d``, ``1h30m`` or plain seconds."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SECONDS = 10 * 365 * 86400


def parse_duration(value: object) -> timedelta:
    """Parse a duration; raises ValueError with a message fit for the user."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 15m, 24h or 900")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            seconds = int(text)
        else:
            pos, seconds = 0, 0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += int(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(f"{value!r} is not a duration such as 15m, 24h, 1h30m or 900")
    else:
        raise ValueError("must be a duration such as 15m, 24h or 900")
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    if seconds > MAX_SECONDS:
        raise ValueError("must be at most ten years")
    return timedelta(seconds=seconds)
