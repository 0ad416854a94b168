"""``paywatch tatum subscriptions [--prune]``: what Tatum holds, and cleaning it."""

from __future__ import annotations

import asyncio

import click

from chains.tatum.api import TatumError, TatumUnavailable
from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.orders import json_option
from daemon.cli.output import emit_json, table
from daemon.tatum.inventory import FOREIGN, NEEDED, UNNEEDED, Inventory, prune, take_inventory
from daemon.tatum.wiring import tatum_api, tatum_networks


@click.group("tatum")
def tatum_group() -> None:
    """Tatum: the address subscriptions paywatch holds there."""


@tatum_group.command("subscriptions")
@click.option("--prune", "do_prune", is_flag=True, help="Delete those no open order needs.")
@json_option
@pass_ctx
def subscriptions(ctx: CliContext, do_prune: bool, as_json: bool) -> None:
    """List the API key's subscriptions at Tatum: needed (an open order's address),
    unneeded (paywatch's, no longer needed) or foreign (another notify URL, left alone)."""
    config = ctx.config
    if config.tatum is None:
        raise click.ClickException(f"{ctx.path} has no tatum: section")
    container = ctx.container
    networks = tatum_networks(config)
    notify_url = config.tatum.notify_url

    async def work() -> tuple[Inventory, int]:
        api = tatum_api(config)
        try:
            inventory = await take_inventory(container.db, api, networks, notify_url)
            pruned = await prune(container.db, api, inventory) if do_prune else 0
            return inventory, pruned
        finally:
            await api.aclose()

    try:
        inventory, pruned = asyncio.run(work())
    except (TatumError, TatumUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(
            {
                "subscriptions": [
                    {
                        "id": item.subscription.id,
                        "type": item.subscription.type,
                        "chain": item.subscription.chain,
                        "address": item.subscription.address,
                        "url": item.subscription.url,
                        "state": item.state,
                        "paywatch_chain": item.chain,
                    }
                    for item in inventory.listed
                ],
                "pruned": pruned,
                "open_orders_without": [
                    {"chain": w.chain, "address": w.address} for w in inventory.without
                ],
            }
        )
        return
    table(
        [
            (i.subscription.id, i.subscription.chain, i.subscription.address, i.state)
            for i in inventory.listed
        ],
        ["ID", "CHAIN", "ADDRESS", "STATE"],
    )
    unneeded = inventory.count(UNNEEDED)
    click.echo(
        f"{inventory.count(NEEDED)} needed, {unneeded} unneeded"
        + (f" ({pruned} deleted)" if do_prune else " (--prune deletes them)" if unneeded else "")
        + f", {inventory.count(FOREIGN)} foreign; "
        f"{len(inventory.without)} open orders without one (the running daemon makes them)",
        err=True,
    )
