"""``paywatch address gaps [CHAIN]``: the gap limit (and Bitcoin Core import) a wallet
needs to see every payment (see :mod:`daemon.accounting.gaps`)."""

from __future__ import annotations

import click

from daemon.accounting.gaps import KeyGap, address_gaps
from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.orders import json_option
from daemon.cli.output import emit_json, table
from daemon.services import json_codec


@click.command("gaps")
@click.argument("chain", required=False)
@json_option
@pass_ctx
def address_gaps_command(ctx: CliContext, chain: str | None, as_json: bool) -> None:
    """Per key: the highest index given out, the longest run of unpaid addresses, and
    what to set in the wallet so it sees every payment (Sparrow/Electrum gap limit;
    Bitcoin Core importdescriptors with the range)."""
    registry = ctx.container.registry
    if chain is not None and registry.get(chain) is None:
        known = ", ".join(registry.names()) or "none configured"
        raise click.ClickException(f"chain {chain!r} is not configured ({known})")
    gaps = ctx.read(lambda conn: address_gaps(conn, registry, chain))
    if as_json:
        emit_json([gap.to_json() for gap in gaps])
        return
    table(
        [
            (
                ", ".join(g.chains),
                g.highest_index,
                g.longest_unpaid_run,
                g.gap_limit,
            )
            for g in gaps
        ],
        ["CHAINS", "HIGHEST INDEX", "LONGEST UNPAID RUN", "GAP LIMIT (Sparrow/Electrum)"],
    )
    for gap in gaps:
        _bitcoin_core(gap)


def _bitcoin_core(gap: KeyGap) -> None:
    request = gap.import_request()
    if request is None:
        return
    click.echo(
        f"\nBitcoin Core ({', '.join(gap.chains)}): in a watch-only descriptor wallet, "
        f"importdescriptors with the range [0, {gap.highest_index}]:"
    )
    click.echo(json_codec.dumps(request))
