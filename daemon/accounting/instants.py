"""The instants ``--since``/``--until`` (and ``since=``/``until=``) name.

ISO 8601: a date (``2026-12-01``: midnight UTC at its start) or a date and time
(``2026-12-01T08:30:00``; no offset is UTC, ``Z`` or ``+02:00`` are converted). A
period is ``since <= t < until`` (empty when until is not after since):
``--since 2026-11-01 --until 2026-12-01`` is November.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from daemon.services.errors import InvalidRequest

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"(?P<head>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)"
    r"(\.(?P<fraction>[0-9]+))?(?P<offset>[Zz]|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)


def parse_instant(text: str, name: str) -> datetime:
    """A UTC datetime, or :class:`InvalidRequest` (``invalid_<name>``, its message
    ``<name>: …``). RFC 3339 date-times and full dates are taken (fractions of a second
    past microseconds are cut)."""
    value = text.strip()
    try:
        if _DATE.fullmatch(value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        match = _DATE_TIME.fullmatch(value)
        if match:
            head = match["head"].replace("t", "T").replace(" ", "T")
            fraction = f".{match['fraction'][:6]}" if match["fraction"] else ""
            offset = match["offset"] or "+00:00"
            moment = datetime.fromisoformat(head + fraction + offset.replace("z", "Z"))
            try:
                return moment.astimezone(UTC)
            except OverflowError:  # past the ends of the calendar in UTC
                return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)
    except ValueError:
        pass  # the form, but not the calendar (2026-02-30, 25:00)
    raise InvalidRequest(
        f"invalid_{name}",
        f"{name}: {text[:40]!r} is not an ISO 8601 date (2026-12-01) or date and time "
        "(2026-12-01T08:30:00Z)",
    )


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Period:
        """From request parameters: :class:`InvalidRequest` naming the bad one."""
        return cls(
            None if since is None else parse_instant(since, "since"),
            None if until is None else parse_instant(until, "until"),
        )

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None
