"""``paywatch stats``: orders by status, paid volume, time to paid, webhooks (see
daemon/accounting/stats.py)."""

from __future__ import annotations

from datetime import datetime

import click

from daemon.accounting.stats import Stats, payment_stats
from daemon.cli.admin import ensure_migrated
from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.export import INSTANT
from daemon.cli.output import emit_json, fields, table


def _show(report: Stats) -> None:
    hooks = report["webhooks"]
    median = report["median_seconds_to_paid"]
    fields(
        [
            ("since", report["since"] or "(all time)"),
            ("until", report["generated_at"]),
            ("orders", ", ".join(f"{k} {v}" for k, v in report["orders"].items())),
            ("late", report["late"]),
            ("underpaid", report["underpaid"]),
            ("median to paid", "-" if median is None else f"{median} s"),
            (
                "webhooks",
                f"{hooks['delivered']} delivered, {hooks['failed']} failed, "
                f"{hooks['pending']} pending; success rate {hooks['success_rate'] or '-'}",
            ),
        ]
    )
    click.echo()
    table(
        [
            (v["day"], v["chain"], f"{v['amount']} {v['asset']}", v["orders"])
            for v in report["paid_volume"]
        ],
        ["DAY", "CHAIN", "PAID", "ORDERS"],
    )


@click.command("stats")
@click.option("--since", type=INSTANT, help="Start of the period (ISO 8601 date or time, UTC)")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@pass_ctx
def stats(ctx: CliContext, since: datetime | None, as_json: bool) -> None:
    """Orders by status, paid volume per asset per day, median time to paid, late and
    underpaid orders, webhook delivery success rate; from --since (or all time) to now."""
    ensure_migrated(ctx)
    now = ctx.container.clock()
    report = ctx.read(lambda conn: payment_stats(conn, since, now))
    if as_json:
        emit_json(report)
    else:
        _show(report)
