"""Alembic environment: the URL comes from paywatch's config, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from daemon.storage.database import create_db_engine
from daemon.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("paywatch migrations run online only: use `paywatch db upgrade`")
run_migrations_online()
