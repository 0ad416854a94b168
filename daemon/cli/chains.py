"""``paywatch chain status|rescan``: what each watcher sees, and looking again."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import Any

import click

from chains.watching import ChainUnavailable
from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.orders import json_option
from daemon.cli.output import emit_json, table
from daemon.watching import ledger
from daemon.watching.engine import ChainWatcher
from daemon.watching.rescan import RescanError, rescan


@click.group("chain")
def chain_group() -> None:
    """Chain watchers: status and rescans."""


async def _probe(watcher: ChainWatcher, now: datetime) -> dict[str, Any]:
    cursor = await watcher.db.run_read(lambda c: ledger.load_cursor(c, watcher.chain))
    report: dict[str, Any] = {
        "chain": watcher.chain,
        "head": None,
        "processed": None if cursor is None else cursor.height,
        "lag": None,
        "last_block_age_seconds": None,
        "error": None,
    }
    try:
        tip = await watcher.source.tip()
        report["head"] = tip.height
        report["last_block_age_seconds"] = max(int(now.timestamp()) - tip.timestamp, 0)
        if cursor is not None:
            report["lag"] = max(tip.height - cursor.height, 0)
    except ChainUnavailable as exc:
        report["error"] = str(exc)
    report["endpoints"] = [
        {
            "url": e.url,
            "healthy": e.healthy,
            "head": e.head_height,
            "error": e.error,
            "in_use": e.extra.get("preferred") == "true",
        }
        for e in watcher.source.health()
    ]
    await watcher.source.aclose()
    return report


@chain_group.command("status")
@json_option
@pass_ctx
def chain_status(ctx: CliContext, as_json: bool) -> None:
    """Head, processed height, lag and endpoint health of every watched chain."""
    container = ctx.container
    now = container.clock()

    async def probe_all() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(_probe(w, now) for w in container.watchers.values())))

    reports = asyncio.run(probe_all())
    if as_json:
        emit_json(reports)
        return
    rows = []
    for r in reports:
        endpoints = ", ".join(
            f"{e['url']}{' (in use)' if e['in_use'] else ''}"
            f" {'ok' if e['healthy'] else 'DOWN: ' + str(e['error'])}"
            for e in r["endpoints"]
        )
        rows.append(
            (
                r["chain"],
                r["head"],
                r["processed"],
                r["lag"],
                r["last_block_age_seconds"],
                r["error"] or endpoints,
            )
        )
    table(rows, ["CHAIN", "HEAD", "PROCESSED", "LAG", "BLOCK AGE (s)", "ENDPOINTS"])


@chain_group.command("rescan")
@click.argument("chain")
@click.option("--from", "first", required=True, type=click.IntRange(0), help="First height")
@click.option("--to", "last", type=click.IntRange(0), help="Last height [default: processed]")
@json_option
@pass_ctx
def chain_rescan(ctx: CliContext, chain: str, first: int, last: int | None, as_json: bool) -> None:
    """Scan processed blocks again for payments to any order (nothing counts twice)."""
    watcher = ctx.container.watchers.get(chain)
    if watcher is None:
        names = ", ".join(sorted(ctx.container.watchers)) or "none"
        raise click.ClickException(f"{chain!r} is not a watched chain (watched: {names})")

    async def go() -> Any:
        cursor = await watcher.db.run_read(lambda c: ledger.load_cursor(c, chain))
        end = last if last is not None else (cursor.height if cursor else first)
        total = max(end - first + 1, 0)
        with click.progressbar(length=total, label=f"rescanning {chain}", file=sys.stderr) as bar:
            try:
                return await rescan(watcher, first, last, progress=bar.update)
            finally:
                await watcher.source.aclose()

    try:
        report = asyncio.run(go())
    except (RescanError, ChainUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(
            {"chain": chain, "from": report.first, "to": report.last, "payments": report.payments}
        )
    else:
        click.echo(
            f"{chain}: blocks {report.first}..{report.last} rescanned, "
            f"{report.payments} payments to orders seen"
        )


@chain_group.command("resume")
@click.argument("chain")
@click.option(
    "--from", "height", required=True, type=click.IntRange(0), help="A height at or below the fork"
)
@json_option
@pass_ctx
def chain_resume(ctx: CliContext, chain: str, height: int, as_json: bool) -> None:
    """Resume a watcher halted by a reorg it could not place: roll back to a height at
    or below the fork and scan the node's chain from there (payments it no longer has
    are removed and reported reversed)."""
    watcher = ctx.container.watchers.get(chain)
    if watcher is None:
        names = ", ".join(sorted(ctx.container.watchers)) or "none"
        raise click.ClickException(f"{chain!r} is not a watched chain (watched: {names})")

    async def go() -> int:
        try:
            await watcher.resume_from(height)
            cursor = await watcher.db.run_read(lambda c: ledger.load_cursor(c, chain))
            assert cursor is not None
            return cursor.height
        finally:
            await watcher.source.aclose()

    try:
        processed = asyncio.run(go())
    except (ValueError, ChainUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json({"chain": chain, "from": height, "processed": processed})
    else:
        click.echo(f"{chain}: rolled back to block {height} and scanned up to {processed}")
