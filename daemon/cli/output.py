"""Output for people (aligned tables) and for scripts (``--json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from daemon.services import json_codec


def emit_json(value: Any) -> None:
    click.echo(json_codec.dumps(value, indent=2))


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        click.echo(click.style(line, bold=True) if n == 0 else line)
    if not rows:
        click.echo("(none)")


def fields(pairs: Sequence[tuple[str, object]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        click.echo(f"{key.ljust(width)}  {'' if value is None else value}")
