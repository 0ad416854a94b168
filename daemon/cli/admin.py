"""``config check``, ``db upgrade`` and ``apikey create|list|revoke``."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import make_url
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
    """Validate the config file as `paywatch run` does (every chain's keys and backend,
    Tatum, webhooks) and look at the database; exit 1 on any problem."""
    container = ctx.container
    database = database_state(container.db)
    lines = []
    for chain in container.registry:
        first = chain.deriver.derive(0)
        assets = ", ".join(a.symbol for a in chain.assets)
        lines.append(f"  {chain.name}: {chain.kind}, assets {assets}; address #0 {first.address}")
    click.echo("\n".join([f"{ctx.path}: OK", *lines, f"  database: {database}"]))


def database_state(db: Database) -> str:
    """The database's state in words, or the error ``config check`` and ``run`` stop
    with when it cannot be used (naming database_url)."""
    if not db.exists():
        folder = sqlite_folder(db)
        if folder is not None and not folder.is_dir():
            raise click.ClickException(f"database_url: the folder {folder} does not exist")
        return "not created yet (paywatch db upgrade, or paywatch run, creates it)"
    try:
        current, head = current_revision(db.engine), head_revision(db.engine)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        raise click.ClickException(f"database_url: cannot connect: {reason}") from None
    state = "current" if current == head else f"at {current or 'empty'}, needs db upgrade to {head}"
    return f"reachable, schema {state}"


def sqlite_folder(db: Database) -> Path | None:
    """The folder of an SQLite database file (None for other databases)."""
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).absolute().parent


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
