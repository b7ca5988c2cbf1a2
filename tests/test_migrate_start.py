"""Start-up skips Alembic for a database that is up to date: the newest migration is read
from the scripts themselves, and must be the one Alembic would name."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from walkwithme.store.database import Database
from walkwithme.store.migrate import (
    alembic_config,
    current_revision,
    is_up_to_date,
    script_head,
    upgrade,
)


def test_the_newest_migration_is_the_one_alembic_names() -> None:
    scripts = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    assert [script_head()] == scripts.get_heads()


def test_a_new_database_is_behind_until_it_is_migrated(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert not is_up_to_date(engine)
    upgrade(engine)
    assert is_up_to_date(engine)
    assert current_revision(engine) == script_head()
    engine.dispose()


def test_an_up_to_date_database_is_left_as_it_is(database: Database) -> None:
    assert is_up_to_date(database.write_engine)
    upgrade(database.write_engine)  # nothing to do, and nothing goes wrong
    assert current_revision(database.write_engine) == script_head()
