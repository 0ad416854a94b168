"""Error loops in a daemon's log: the same error (or the same traceback) again and again.

A SIGKILL, a lost lease or a node that answered late may each leave an error or two in
the log; the same one more than :data:`MOST` times is a loop (a task that fails, is
restarted and fails the same way). Lines are compared with their numbers, hashes and
ids blanked out, so "block 812" and "block 813" are the same error.
"""

from __future__ import annotations

import json
import re
from collections import Counter

MOST = 5
_VARYING = re.compile(r"0x[0-9a-fA-F]+|[0-9a-f]{16,}|\d+(\.\d+)?")


def _shape(text: str) -> str:
    return _VARYING.sub("#", text)


def error_loops(log: str, most: int = MOST) -> list[str]:
    """One line per error repeated more than ``most`` times (empty: no loop).

    JSON log lines at level error or critical, or with an exception, count by their
    logger, message and the exception's last line; anything else that says
    ``Traceback`` (a crash printed outside the logger) counts by its last line."""
    seen: Counter[str] = Counter()
    raw = log.splitlines()
    for number, line in enumerate(raw):
        try:
            entry = json.loads(line)
        except ValueError:
            if line.startswith("Traceback"):
                tail = next((x for x in raw[number + 1 :] if x and not x[0].isspace()), line)
                seen[f"unlogged traceback: {_shape(tail)}"] += 1
            continue
        if not isinstance(entry, dict):
            continue
        exc = str(entry.get("exc") or "")
        if entry.get("level") not in ("error", "critical") and not exc:
            continue
        last = exc.strip().splitlines()[-1] if exc.strip() else ""
        seen[_shape(f"{entry.get('logger')}: {entry.get('msg')} | {last}")] += 1
    return [f"{count}x {shape}" for shape, count in seen.most_common() if count > most]
