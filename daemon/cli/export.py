"""``paywatch export payments``: the payments export as CSV or JSON (see
daemon/accounting/export.py), streamed row by row to a file or stdout."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TextIO

import click
from sqlalchemy import Connection

from daemon.accounting.export import PaymentExport, write_csv, write_json
from daemon.accounting.instants import Period, parse_instant
from daemon.cli.admin import ensure_migrated
from daemon.cli.context import CliContext, pass_ctx
from daemon.services.errors import InvalidRequest


class Instant(click.ParamType[datetime]):
    """An ISO 8601 date or date and time, as a UTC datetime."""

    name = "DATE|DATETIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value), "value")
        except InvalidRequest as exc:
            self.fail(exc.message.removeprefix("value: "), param, ctx)


INSTANT = Instant()


@contextlib.contextmanager
def _destination(output: str) -> Iterator[TextIO]:
    """stdout for ``-``; else the file, written as ``F.partial`` and renamed into place
    once complete (a failed export never leaves a file that looks whole)."""
    if output == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = f"{output}.partial"
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)


@click.group("export")
def export_group() -> None:
    """Exports for accounting."""


@export_group.command("payments")
@click.option("--since", type=INSTANT, help="From this block time on (ISO 8601 date or time, UTC)")
@click.option("--until", type=INSTANT, help="Before this block time (exclusive)")
@click.option("--chain", default=None, help="Only this chain")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option("--output", "-o", default="-", show_default=True, help="File to write (- stdout)")
@pass_ctx
def export_payments(
    ctx: CliContext,
    since: datetime | None,
    until: datetime | None,
    chain: str | None,
    fmt: str,
    output: str,
) -> None:
    """One row per credited transfer (status counted or removed), oldest first.

    A period selects transfers by their block's time, so transfers not in a block now
    (unconfirmed, or removed by a reorg) appear only in an export without one."""
    period = Period(since, until)
    ensure_migrated(ctx)
    export = PaymentExport(ctx.container.registry)
    write = write_csv if fmt == "csv" else write_json
    # A bar on stderr when the rows go to a file and someone watches (click shows it
    # only on a terminal); never over rows printed to the same terminal.
    show_bar = output != "-" and sys.stderr.isatty()

    def run(conn: Connection) -> int:
        with _destination(output) as out:
            rows = (row for _, row in export.stream(conn, period, chain))
            if not show_bar:
                return write(rows, out)
            total = export.count(conn, period, chain)
            with click.progressbar(length=total, label="payments", file=sys.stderr) as bar:
                tick: Callable[[], None] = lambda: bar.update(1)  # noqa: E731
                return write(rows, out, tick)

    written = ctx.read(run)
    if output != "-":
        click.echo(f"{written} payments written to {output}", err=True)
