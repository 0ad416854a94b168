"""The daemon's logs: one JSON object per line when not on a terminal (journald, files,
log shippers), readable text on one; and never a secret in either.

Every line passes through :class:`Redactor` after it is formatted, traceback included,
so a secret that reaches a message by any path (an exception's text, a URL with a
password, a header echoed back by a node) is masked. It knows the config's secrets by
value, and the shapes of secrets it cannot know in advance: paywatch API keys, webhook
secrets (``whsec_…``) and bearer tokens.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

MASK = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter "secrets" would mask ordinary words
SHAPES = re.compile(
    r"pw_key_[0-9a-f]{16}_[A-Za-z0-9_-]+"  # paywatch API keys
    r"|whsec_[A-Za-z0-9+/=]+"  # Standard Webhooks secrets
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"  # Authorization: Bearer …
    r"|(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"  # user:password@ in URLs
)
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
LogFormat = Literal["auto", "json", "text"]


class Redactor:
    """Masks known secret values and secret-shaped strings in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._pattern = SHAPES
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        known = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        if not known:
            return
        # Longest first, so a secret that contains another is masked whole.
        values = "|".join(re.escape(s) for s in sorted(known, key=len, reverse=True))
        self._pattern = re.compile(f"{values}|{self._pattern.pattern}")

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text)


class _Formatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def fields(self, record: logging.LogRecord) -> dict[str, object]:
        return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(_Formatter):
    """``{"ts", "level", "logger", "msg", …fields, "exc"?}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **self.fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = record.stack_info
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(_Formatter):
    """``HH:MM:SS level logger: message key=value …`` for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in self.fields(record).items())
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line}  {extra}" if extra else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return self.redact(line)


def configure_logging(
    level: str = "warning",
    *,
    fmt: LogFormat = "auto",
    secrets: Iterable[str] = (),
    stream: object = None,
) -> Redactor:
    """Route every logger to one handler on stderr; call once per process (again to
    change level, format or secrets). Returns the redactor, to add secrets later."""
    out = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "text" if getattr(out, "isatty", lambda: False)() else "json"
    redact = Redactor(secrets)
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries that log every request (with its URL) at INFO: only their warnings.
    for noisy in ("httpx", "httpcore", "websockets", "asyncio", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redact
