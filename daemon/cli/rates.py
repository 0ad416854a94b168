"""``paywatch rates``: each configured asset's exchange rate, fetched now from the
config's rate sources (no running daemon needed; the daemon's own cache is at
``GET /v1/rates``)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from daemon.cli.context import CliContext, pass_ctx, service_failure
from daemon.cli.orders import json_option
from daemon.cli.output import emit_json, table
from daemon.services.errors import ServiceError


@click.command("rates")
@click.option("--currency", default="EUR", show_default=True, help="The fiat currency")
@json_option
@pass_ctx
def rates(ctx: CliContext, currency: str, as_json: bool) -> None:
    """Ask every rate source once and print each asset's rate in CURRENCY: the median of
    the fresh answers that agree, and each source's answer (an answer that did not count
    is marked). JSON as GET /v1/rates: {"currency", "rates": [{"asset", "value",
    "sources": [{"name", "value", "age_seconds", "ok"}]}]}."""
    book = ctx.container.rates
    if book is None:
        raise click.ClickException("rates are off: the config has no rates: section")
    try:
        book.check_currency(currency)
        asyncio.run(book.refresh())
        view: dict[str, Any] = book.view(currency)
    except ServiceError as exc:
        raise service_failure(exc) from None
    if as_json:
        emit_json(view)
        return
    names = [s.name for s in book.sources] + (["fixed"] if book.fixed else [])
    rows = []
    for rate in view["rates"]:
        answers = {s["name"]: s for s in rate["sources"]}
        cells = [_answer(answers.get(name)) for name in names]
        rows.append([rate["asset"], rate["value"] or "unavailable", *cells])
    table(rows, ["ASSET", view["currency"], *(n.upper() for n in names)])
    for name in names:
        health = book.health.get(name)
        if health is not None and health.last_error:
            click.echo(f"{name}: {health.last_error}", err=True)


def _answer(answer: dict[str, Any] | None) -> str:
    if answer is None or answer["value"] is None:
        return "-"
    mark = "" if answer["ok"] else " (not counted)"
    return f"{answer['value']} {answer['age_seconds']}s{mark}"
