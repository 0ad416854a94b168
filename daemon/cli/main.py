"""``paywatch``: run the daemon and administer it."""

from __future__ import annotations

import click

from daemon.cli.addresses import address_gaps_command
from daemon.cli.admin import apikey, config_group, db_group
from daemon.cli.chains import chain_group
from daemon.cli.cluster import cluster_group
from daemon.cli.context import CliContext
from daemon.cli.export import export_group
from daemon.cli.orders import address, order
from daemon.cli.rates import rates
from daemon.cli.reconcile import reconcile_command
from daemon.cli.serve import demo, run
from daemon.cli.stats import stats
from daemon.cli.tatum import tatum_group
from daemon.cli.webhooks import webhook
from daemon.runtime.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar="PAYWATCH_CONFIG",
    help="Config file [default: $PAYWATCH_CONFIG, then /etc/paywatch/config.yaml]",
)
@click.version_option(package_name="paywatch", prog_name="paywatch")  # pyproject.toml's
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """paywatch: take crypto payments straight to wallets you control."""
    ctx.obj = CliContext(config_path)
    ctx.call_on_close(ctx.obj.close)


for command in (
    config_group,
    db_group,
    apikey,
    address,
    order,
    webhook,
    run,
    demo,
    chain_group,
    tatum_group,
    cluster_group,
    reconcile_command,
    rates,
    export_group,
    stats,
):
    cli.add_command(command)
address.add_command(address_gaps_command)


def main() -> None:
    configure_logging("warning", fmt="text")  # `run` switches to the config's level/format
    cli(prog_name="paywatch")
