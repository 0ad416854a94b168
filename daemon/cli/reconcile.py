"""``paywatch reconcile CHAIN``: do the books match the chain? Exit 0 when they do."""

from __future__ import annotations

import asyncio
import sys

import click

from chains.watching import ChainUnavailable
from daemon.accounting.reconcile import ReconcileReport, count_booked
from daemon.accounting.reconcile_job import reconcile_chain
from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.orders import json_option
from daemon.cli.output import emit_json, table


@click.command("reconcile")
@click.argument("chain")
@click.option(
    "--from-height",
    "from_height",
    type=click.IntRange(0),
    help="Only transfers mined at this height or above",
)
@json_option
@pass_ctx
def reconcile_command(ctx: CliContext, chain: str, from_height: int | None, as_json: bool) -> None:
    """Read every credited transfer of CHAIN back from its node: its block still on the
    best chain, the transaction paying the order's address exactly the credited amount.
    Lists each difference with what the node says; exit status 1 when there is one."""
    container = ctx.container

    async def go() -> ReconcileReport:
        watcher = container.watchers.get(chain)
        try:
            total, _ = await container.db.run_read(
                lambda conn: count_booked(conn, chain, from_height)
            )
            with click.progressbar(
                length=total, label=f"reconciling {chain}", file=sys.stderr
            ) as bar:
                return await reconcile_chain(
                    container, chain, from_height=from_height, progress=bar.update
                )
        finally:
            if watcher is not None:
                await watcher.source.aclose()

    try:
        report = asyncio.run(go())
    except (ValueError, ChainUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(report.to_json())
    else:
        _print(report)
    if report.differences:
        sys.exit(1)


def _print(report: ReconcileReport) -> None:
    since = f" from height {report.from_height}" if report.from_height is not None else ""
    click.echo(
        f"{report.chain}{since}: {report.checked} transfers checked, {report.ok} as booked, "
        f"{len(report.differences)} differences, {len(report.unchecked)} not fully checkable, "
        f"{report.unconfirmed} not in a block yet (not checked)"
    )
    for title, items in (("DIFFERENCES", report.differences), ("NOT CHECKABLE", report.unchecked)):
        if not items:
            continue
        click.echo(f"\n{title}")
        table(
            [
                (
                    i["kind"],
                    i["order_id"],
                    f"{i['tx_hash']}:{i['output_index']}",
                    i["asset"],
                    i["amount_base"],
                    i["block_height"],
                    i["node_says"],
                )
                for i in items
            ],
            ["KIND", "ORDER", "TRANSFER", "ASSET", "AMOUNT (base)", "HEIGHT", "THE NODE SAYS"],
        )
