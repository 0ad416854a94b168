"""``paywatch webhook list|show|redeliver|endpoints``: the delivery log and the store
endpoints' health from the shell."""

from __future__ import annotations

from typing import Any

import click

from daemon.cli.admin import ensure_migrated
from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.output import emit_json, fields, table
from daemon.webhooks.endpoints import endpoint_views

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON")


@click.group()
def webhook() -> None:
    """Webhook deliveries: why one failed, and sending it again."""


def _row(view: dict[str, Any]) -> tuple[object, ...]:
    last = view["last_status_code"] or ""
    if view["last_error"] and view["status"] != "delivered":
        last = view["last_error"][:40]
    return (
        view["id"],
        view["type"],
        view["order"],
        view["status"],
        f"{view['attempt_count']}/{view['max_attempts']}",
        last,
        view["next_attempt_at"] or view["delivered_at"] or "",
        view["url"] or "",
    )


HEADERS = ["ID", "TYPE", "ORDER", "STATUS", "ATTEMPTS", "LAST", "NEXT/DELIVERED", "URL"]


@webhook.command("list")
@click.option("--order", "order_id", default=None, help="An order's id (ord_...) or your ref")
@click.option("--failed", is_flag=True, help="Only failed ones: retrying, dead or gone")
@click.option(
    "--status",
    type=click.Choice(["pending", "retrying", "delivered", "dead", "gone", "no_target"]),
    default=None,
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--cursor", default=None, help="next_cursor of the previous page")
@json_option
@pass_ctx
def webhook_list(
    ctx: CliContext,
    order_id: str | None,
    failed: bool,
    status: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List deliveries, newest first."""
    if failed and status:
        raise click.UsageError("give --failed or --status, not both")
    ensure_migrated(ctx)
    c = ctx.container
    page = ctx.read(
        lambda conn: c.deliveries.list(
            conn,
            order_id=order_id,
            status="failed" if failed else status,
            limit=limit,
            cursor=cursor,
        )
    )
    if as_json:
        emit_json({"data": page.data, "next_cursor": page.next_cursor})
        return
    table([_row(v) for v in page.data], HEADERS)
    if page.next_cursor:
        click.echo(f"more: --cursor {page.next_cursor}")


def _show(view: dict[str, Any]) -> None:
    fields(
        [
            ("id (webhook-id)", view["id"]),
            ("type", view["type"]),
            ("order", f"{view['order']} ({view['order_id']})"),
            ("url", view["url"]),
            ("status", view["status"]),
            ("attempts", f"{view['attempt_count']} of {view['max_attempts']}"),
            ("next_attempt_at", view["next_attempt_at"]),
            ("delivered_at", view["delivered_at"]),
            ("created_at", view["created_at"]),
            ("body", "dropped at " + view["pruned_at"] if view.get("pruned_at") else "kept"),
        ]
    )
    rows = [
        (
            a["attempt"],
            a["attempted_at"],
            a["status_code"] or "-",
            f"{a['latency_ms']} ms",
            a["outcome"],
            a["error"] or "",
        )
        for a in view["attempts"]
    ]
    click.echo("")
    table(rows, ["#", "AT", "HTTP", "LATENCY", "OUTCOME", "ERROR"])
    excerpts = [a for a in view["attempts"] if a["response_excerpt"]]
    if excerpts:
        last = excerpts[-1]
        click.echo(f"\nresponse to attempt {last['attempt']} (first bytes):")
        click.echo(f"  {last['response_excerpt'][:300]}")


@webhook.command("show")
@click.argument("delivery_id")
@json_option
@pass_ctx
def webhook_show(ctx: CliContext, delivery_id: str, as_json: bool) -> None:
    """Show one delivery (its id is the webhook-id, msg_...) with every attempt."""
    ensure_migrated(ctx)
    c = ctx.container
    view = ctx.read(lambda conn: c.deliveries.get(conn, delivery_id))
    emit_json(view) if as_json else _show(view)


@webhook.command("redeliver")
@click.argument("delivery_id")
@json_option
@pass_ctx
def webhook_redeliver(ctx: CliContext, delivery_id: str, as_json: bool) -> None:
    """Send a delivery again (same webhook-id); the running daemon picks it up."""
    ensure_migrated(ctx)
    c = ctx.container
    view = ctx.write(lambda conn: c.deliveries.redeliver(conn, delivery_id, c.clock()))
    if as_json:
        emit_json(view)
    else:
        click.echo(f"queued {view['id']} ({view['type']}) for {view['url']}")


def _endpoint_row(view: dict[str, Any]) -> tuple[object, ...]:
    state = view["state"]
    if view["failing_since"]:
        state = f"failing since {view['failing_since']}"
    failure = ""
    if view["last_failure_at"]:
        why = view["last_status_code"] or (view["last_error"] or "")[:40]
        failure = f"{view['last_failure_at']} ({why})"
    return (
        view["endpoint"],
        state,
        f"{view['waiting']} ({view['due']} due)",
        view["last_success_at"] or "",
        failure,
        view["next_probe_at"] or "",
    )


@webhook.command("endpoints")
@json_option
@pass_ctx
def webhook_endpoints(ctx: CliContext, as_json: bool) -> None:
    """Each store endpoint (scheme://host:port): healthy or failing since when, its
    backlog, last success and failure, and the next probe while it fails."""
    ensure_migrated(ctx)
    c = ctx.container
    views = ctx.read(lambda conn: endpoint_views(conn, c.clock()))
    if as_json:
        emit_json({"data": views})
        return
    table(
        [_endpoint_row(v) for v in views],
        ["ENDPOINT", "STATE", "WAITING", "LAST SUCCESS", "LAST FAILURE", "NEXT PROBE"],
    )
