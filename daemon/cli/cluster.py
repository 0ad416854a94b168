"""``paywatch cluster status``: the `paywatch run` instances on this database and what
each leads (chains, the cluster's jobs)."""

from __future__ import annotations

from typing import Any

import click

from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.orders import json_option
from daemon.cli.output import emit_json, table
from daemon.cluster.status import cluster_view


@click.group("cluster")
def cluster_group() -> None:
    """Several instances on one PostgreSQL: who runs, who leads what."""


@cluster_group.command("status")
@json_option
@pass_ctx
def status(ctx: CliContext, as_json: bool) -> None:
    """Instances (live or seen in the last hour), the chains each leads, and who runs the
    cluster's jobs. JSON: {"instances": [{id, host, pid, started_at, heartbeat_at,
    stopped_at, live, chains, jobs}], "chains": {chain: leader}, "jobs": leader}."""
    view: dict[str, Any] = ctx.read(cluster_view)
    if as_json:
        emit_json(view)
        return
    rows = [
        (
            i["id"],
            "live" if i["live"] else ("stopped" if i["stopped_at"] else "gone"),
            i["started_at"],
            i["heartbeat_at"],
            ", ".join(i["chains"]) or "-",
            "yes" if i["jobs"] else "",
        )
        for i in view["instances"]
    ]
    table(rows, ["INSTANCE", "STATE", "STARTED", "HEARTBEAT", "LEADS", "JOBS"])
    unled = sorted(chain for chain, leader in view["chains"].items() if leader is None)
    if unled:
        click.echo(f"chains no instance leads now: {', '.join(unled)}")
