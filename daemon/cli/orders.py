"""``address derive`` and ``order create|show|list|cancel|refresh``."""

from __future__ import annotations

import asyncio
from typing import cast

import click

from daemon.cli.admin import ensure_migrated
from daemon.cli.context import CliContext, pass_ctx, service_failure
from daemon.cli.output import emit_json, fields, table
from daemon.config.durations import parse_duration
from daemon.services import json_codec
from daemon.services.address_allocation import address_gap
from daemon.services.errors import ServiceError
from daemon.services.order_shape import Money, Order
from daemon.services.orders import NewOrder
from daemon.services.request_checks import check_callback_url
from daemon.storage.migrations import is_up_to_date
from daemon.watching.balance_schedule import refresh_order

STATUSES = ["pending", "processing", "paid", "expired", "cancelled", "invalid"]
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON")


@click.group()
def address() -> None:
    """Receive addresses derived from the configured public keys."""


@address.command("derive")
@click.argument("chain")
@click.option("--index", default=0, show_default=True, type=click.IntRange(0, 2**31 - 1))
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 100000))
@json_option
@pass_ctx
def address_derive(ctx: CliContext, chain: str, index: int, count: int, as_json: bool) -> None:
    """Print addresses INDEX.. of CHAIN: check them against your wallet's."""
    info = ctx.container.registry.get(chain)
    if info is None:
        known = ", ".join(ctx.container.registry.names()) or "none configured"
        raise click.ClickException(f"chain {chain!r} is not configured ({known})")
    count = min(count, 2**31 - index)
    derived = info.deriver.derive_many(index, count)
    _warn_about_gap(ctx, info.deriver.keyspace)
    if as_json:
        emit_json([{"index": d.index, "address": d.address} for d in derived])
        return
    table([(d.index, d.address) for d in derived], ["INDEX", "ADDRESS"])


def _warn_about_gap(ctx: CliContext, keyspace: str) -> None:
    db = ctx.container.db
    if not db.exists() or not is_up_to_date(db.engine):
        return
    gap = db.read(lambda conn: address_gap(conn, keyspace))
    click.echo(f"next index to be used by an order: {gap.next_index}", err=True)
    warning = gap.warning(ctx.config.orders.gap_limit)
    if warning:
        click.secho(f"warning: {warning}", err=True, fg="yellow")


def _due(view: Order) -> str:
    if view["price"] is not None:
        return f"{view['price']['amount']} {view['price']['currency']}"
    return f"{view['amount']} {view['asset']}"


def _order_row(view: Order) -> tuple[object, ...]:
    return (
        view["id"],
        view["order_id"],
        view["chain"] or ",".join(dict.fromkeys(o["chain"] for o in view["options"])),
        _due(view),
        view["status"],
        view["exception"],
        view["received"],
        view["expires_at"],
    )


ORDER_HEADERS = ["ID", "ORDER", "CHAIN", "AMOUNT", "STATUS", "EXCEPTION", "RECEIVED", "EXPIRES"]


def _show(view: Order) -> None:
    fields(
        [
            ("id", view["id"]),
            ("order_id", view["order_id"]),
            *_where(view),
            ("status", view["status"]),
            ("exception", view["exception"]),
            ("received", f"{view['received']} ({view['received_confirmed']} confirmed)"),
            ("received_value", _money(view["received_value"])),
            ("confirmations", view["confirmations_required"]),
            ("created_at", view["created_at"]),
            ("expires_at", view["expires_at"]),
            ("callback_url", view["callback_url"]),
            ("payments", len(view["payments"])),
        ]
    )
    for p in view["payments"]:
        click.echo(f"  - {p['tx_hash']}:{p['index']} {p['amount_base']} {p['asset']} {p['status']}")


def _money(money: Money | None) -> str | None:
    return None if money is None else f"{money['amount']} {money['currency']}"


def _where(view: Order) -> list[tuple[str, object]]:
    """What to pay and where: the order's own, or each option with its locked rate."""
    lines: list[tuple[str, object]] = [("price", _money(view["price"]))]
    if view["chain"] is not None:
        amount = f"{view['amount']} {view['asset']} ({view['amount_base']} base units)"
        lines += [
            ("chain", view["chain"]),
            ("amount", amount),
            ("address", f"{view['address']} (index {view['derivation_index']})"),
            ("payment_uri", view["payment_uri"]),
        ]
    if view["price"] is not None:
        for o in view["options"]:
            rate = o["rate"]
            at = "" if rate is None else f" at {rate['value']} {rate['currency']}"
            where = o["address"] or "no address yet (picked by the customer)"
            lines.append((f"option {o['chain']}", f"{o['amount']} {o['asset']}{at} to {where}"))
    return [*lines, ("checkout_url", view["checkout_url"])]


@click.group()
def order() -> None:
    """Create, inspect, cancel and refresh orders."""


@order.command("create")
@click.option("--chain", default=None, help="A configured chain name")
@click.option("--asset", default=None, help="BTC, ETH, USDC, ...")
@click.option("--amount", default=None, help='Decimal amount in asset units, e.g. "0.015"')
@click.option("--price", default=None, help='Priced in fiat instead, e.g. "49.90 EUR"')
@click.option(
    "--accept", multiple=True, help="With --price: an option CHAIN:ASSET (repeat; default all)"
)
@click.option("--order-id", required=True, help="Your reference for the order")
@click.option("--expires-in", default=None, help="e.g. 15m, 2h [default: orders.expires_in]")
@click.option("--confirmations", default=None, help='A depth, or "finalized" (EVM)')
@click.option("--callback-url", default=None, help="Webhook URL for this order")
@click.option("--redirect-url", default=None, help="Where the checkout page sends the paid")
@click.option("--metadata", default=None, help="A JSON object stored with the order")
@json_option
@pass_ctx
def order_create(
    ctx: CliContext,
    chain: str | None,
    asset: str | None,
    amount: str | None,
    price: str | None,
    accept: tuple[str, ...],
    order_id: str,
    expires_in: str | None,
    confirmations: str | None,
    callback_url: str | None,
    redirect_url: str | None,
    metadata: str | None,
    as_json: bool,
) -> None:
    """Create an order and print its payment address and checkout page."""
    try:
        expires = parse_duration(expires_in) if expires_in is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires-in") from None
    depth: int | str | None = confirmations
    if confirmations is not None and confirmations != "finalized":
        if not confirmations.isdigit():
            raise click.BadParameter('a depth or "finalized"', param_hint="--confirmations")
        depth = int(confirmations)
    meta = None
    if metadata is not None:
        try:
            meta = json_codec.loads(metadata)
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--metadata")
    priced = None
    if price is not None:
        parts = price.split()
        if len(parts) != 2:
            raise click.BadParameter(
                'an amount and a currency, e.g. "49.90 EUR"', param_hint="--price"
            )
        priced = (parts[0], parts[1])
    options = tuple(tuple(o.split(":", 1)) for o in accept)
    if any(len(o) != 2 for o in options):
        raise click.BadParameter("CHAIN:ASSET, e.g. eth:USDC", param_hint="--accept")
    request = NewOrder(
        order_id=order_id,
        chain=chain,
        asset=asset,
        amount=amount,
        price=priced,
        accept=cast(tuple[tuple[str, str], ...], options) if options else None,
        expires_in=expires,
        confirmations=depth,
        callback_url=callback_url,
        redirect_url=redirect_url,
        metadata=meta,
    )
    ensure_migrated(ctx)
    c = ctx.container
    if priced is not None and c.rates is not None and c.rates.sources:
        asyncio.run(c.rates.refresh())  # this process's own quotes, asked now
    try:
        if callback_url is not None:  # resolved before the write, as the API does
            check_callback_url(callback_url)
            c.orders.targets.check_resolved_sync(callback_url)
        view = c.db.write(lambda conn: c.orders.create(conn, request, c.clock())).view
    except ServiceError as exc:
        raise service_failure(exc) from None
    emit_json(view) if as_json else _show(view)


@order.command("show")
@click.argument("order_id")
@json_option
@pass_ctx
def order_show(ctx: CliContext, order_id: str, as_json: bool) -> None:
    """Show one order (by its paywatch id, ord_...)."""
    ensure_migrated(ctx)
    c = ctx.container
    view = ctx.read(lambda conn: c.orders.get(conn, order_id))
    emit_json(view) if as_json else _show(view)


@order.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--chain", default=None)
@click.option("--order-id", default=None, help="Only orders with this reference of yours")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--cursor", default=None, help="next_cursor of the previous page")
@json_option
@pass_ctx
def order_list(
    ctx: CliContext,
    status: str | None,
    chain: str | None,
    order_id: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List orders, newest first."""
    ensure_migrated(ctx)
    c = ctx.container
    page = ctx.read(
        lambda conn: c.orders.list(
            conn, status=status, chain=chain, order_id=order_id, limit=limit, cursor=cursor
        )
    )
    if as_json:
        emit_json({"data": page.data, "next_cursor": page.next_cursor})
        return
    table([_order_row(v) for v in page.data], ORDER_HEADERS)
    if page.next_cursor:
        click.echo(f"more: --cursor {page.next_cursor}")


@order.command("cancel")
@click.argument("order_id")
@json_option
@pass_ctx
def order_cancel(ctx: CliContext, order_id: str, as_json: bool) -> None:
    """Cancel an open order."""
    ensure_migrated(ctx)
    c = ctx.container
    view = ctx.write(lambda conn: c.orders.cancel(conn, order_id, c.clock()))
    emit_json(view) if as_json else click.echo(f"cancelled {view['id']} ({view['order_id']})")


@order.command("refresh")
@click.argument("order_id")
@json_option
@pass_ctx
def order_refresh(ctx: CliContext, order_id: str, as_json: bool) -> None:
    """Check the order's address balance now (coin sent by contracts, on nodes without
    a trace API) and evaluate the order again."""
    ensure_migrated(ctx)
    c = ctx.container

    async def go() -> Order:
        try:
            return await refresh_order(c.db, c.orders, c.watchers, c.clock, order_id)
        finally:
            for watcher in c.watchers.values():
                await watcher.source.aclose()

    try:
        view = asyncio.run(go())
    except ServiceError as exc:
        raise service_failure(exc) from None
    emit_json(view) if as_json else _show(view)
