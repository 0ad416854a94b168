"""``paywatch run`` and ``paywatch demo``."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from daemon.cli.admin import database_state
from daemon.cli.context import CliContext, pass_ctx
from daemon.config.secrets import secret_values
from daemon.runtime.logs import configure_logging


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(main)
    else:
        uvloop.run(main)


@click.command("run")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database schema at start")
@pass_ctx
def run(ctx: CliContext, no_migrate: bool) -> None:
    """Run the daemon: API, watchers, webhooks, jobs.

    Serves the HTTP API and runs the chain watchers, the webhook dispatcher, Tatum's
    subscriptions (when configured), the metrics endpoint and the scheduled jobs until
    SIGTERM or Ctrl-C. Upgrades the database schema first unless --no-migrate."""
    config = ctx.config
    configure_logging(config.log_level, fmt=config.log_format, secrets=secret_values(config))
    # The checks `config check` makes, with its messages (exit 1, no traceback): the
    # config as the daemon builds it, then the database.
    container = ctx.container
    database_state(container.db)
    from daemon.cluster.sqlite_lock import AlreadyRunning
    from daemon.runtime.server import serve  # the whole runtime: only for this command

    try:
        run_loop(serve(container, migrate=not no_migrate))
    except AlreadyRunning as exc:  # its message names the file and the pid; no traceback
        raise SystemExit(exc.message) from None


@click.command("demo")
@click.option(
    "--keep-running", is_flag=True, help="Leave everything up after the tour, until Ctrl-C"
)
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="API port [default: any free]"
)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's database and config here [default: a temporary directory]",
)
@click.pass_context
def demo(ctx: click.Context, keep_running: bool, port: int, workdir: Path | None) -> None:
    """Start local dev chains (anvil; litecoind when installed), a store that verifies each
    webhook and the daemon on SQLite; create orders, pay them and show them reach `paid`.

    Exits 0 once every order is paid and each order.paid webhook is verified; 1 if that
    takes longer than 90 s. Needs nothing configured.
    """
    from daemon.demo.run import DemoFailed, run_demo  # only for this command

    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        run_loop(run_demo(workdir, keep_running=keep_running, port=port))
    except DemoFailed as exc:
        ctx.exit(exc.exit_code)
