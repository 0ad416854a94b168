"""The tables in code and the Alembic migrations describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from daemon.storage.database import Database
from daemon.storage.migrations import current_revision, head_revision, is_up_to_date, upgrade
from daemon.storage.tables import metadata
from tests.conftest import DbFactory


def test_migrations_match_the_models(make_database_url: DbFactory) -> None:
    db = Database(make_database_url())
    try:
        assert current_revision(db.engine) is None
        upgrade(db.engine)
        assert is_up_to_date(db.engine)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
        assert diff == []
        upgrade(db.engine)  # a second upgrade changes nothing
        assert current_revision(db.engine) == head_revision(db.engine)
    finally:
        db.close()
