"""``config check``, ``db upgrade`` and ``apikey create|list|revoke``."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from daemon.cli.context import CliContext, pass_ctx
from daemon.cli.output import emit_json, table
from daemon.services.apikeys import create_key, list_keys, revoke_key
from daemon.storage.database import Database
from daemon.storage.migrations import current_revision, head_revision, upgrade


@click.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@pass_ctx
def config_check(ctx: CliContext) -> None:
    """Validate the config file and every chain's keys, and look at the database;
    exit 1 on any problem."""
    container = ctx.container
    click.echo(f"{ctx.path}: OK")
    for chain in container.registry:
        first = chain.deriver.derive(0)
        assets = ", ".join(a.symbol for a in chain.assets)
        click.echo(f"  {chain.name}: {chain.kind}, assets {assets}; address #0 {first.address}")
    db = container.db
    if not db.exists():
        click.echo("  database: not created yet (paywatch db upgrade, or paywatch run, creates it)")
        return
    try:
        current, head = current_revision(db.engine), head_revision(db.engine)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        raise click.ClickException(f"database_url: cannot connect: {reason}") from None
    state = "current" if current == head else f"at {current or 'empty'}, needs db upgrade to {head}"
    click.echo(f"  database: reachable, schema {state}")


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@pass_ctx
def db_upgrade(ctx: CliContext) -> None:
    """Create or migrate the database schema to the newest version."""
    db = Database(ctx.config.database_url)
    try:
        before = current_revision(db.engine)
        upgrade(db.engine)
        after = current_revision(db.engine)
    finally:
        db.close()
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


def ensure_migrated(ctx: CliContext) -> None:
    engine = ctx.container.db.engine
    if current_revision(engine) != head_revision(engine):
        raise click.ClickException("the database schema is not current: run `paywatch db upgrade`")


@click.group()
def apikey() -> None:
    """API keys for the HTTP API (stored hashed; shown once)."""


@apikey.command("create")
@click.option("--name", default="default", show_default=True, help="What the key is for")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@pass_ctx
def apikey_create(ctx: CliContext, name: str, as_json: bool) -> None:
    """Create an API key and print it once."""
    ensure_migrated(ctx)
    c = ctx.container
    info, key = c.db.write(lambda conn: create_key(conn, name[:100], c.clock()))
    if as_json:
        emit_json({"id": info.id, "key": key, "name": info.name})
        return
    click.echo(f"API key {info.id} ({info.name}):\n\n  {key}\n")
    click.echo("Store it now: it is not shown again. Send it as 'Authorization: Bearer <key>'.")


@apikey.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@pass_ctx
def apikey_list(ctx: CliContext, as_json: bool) -> None:
    """List API keys (never their secrets)."""
    ensure_migrated(ctx)
    keys = ctx.container.db.read(list_keys)
    if as_json:
        emit_json([k.as_dict() for k in keys])
        return
    rows = [
        (k.id, k.name, k.as_dict()["created_at"], "revoked" if k.revoked_at else "active")
        for k in keys
    ]
    table(rows, ["ID", "NAME", "CREATED", "STATE"])


@apikey.command("revoke")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@pass_ctx
def apikey_revoke(ctx: CliContext, key_id: str, as_json: bool) -> None:
    """Revoke an API key; requests with it fail from now on."""
    ensure_migrated(ctx)
    c = ctx.container
    info = ctx.write(lambda conn: revoke_key(conn, key_id, c.clock()))
    if as_json:
        emit_json(info.as_dict())
    else:
        click.echo(f"revoked {info.id} ({info.name})")
