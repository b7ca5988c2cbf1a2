"""The Alembic migrations build exactly the schema the code describes, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from walkwithme.store.database import Database
from walkwithme.store.migrate import current_revision, upgrade
from walkwithme.store.schema import metadata


def test_the_migrated_schema_matches_the_tables_in_code(database: Database) -> None:
    with database.write_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrating_twice_is_harmless(database: Database) -> None:
    before = current_revision(database.write_engine)
    upgrade(database.write_engine)
    assert current_revision(database.write_engine) == before == "0013"
