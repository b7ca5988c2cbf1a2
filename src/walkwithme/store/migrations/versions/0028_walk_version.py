"""A walk's version (`walks.version`): a number every change of the walk moves on, so that a
walk the writer keeps between fixes (usecases/walk_store.py) is saved only if nothing changed
it since, whichever statement, process or command did.

`save` moves it on itself; a trigger moves it for every other statement that changes a walk
and leaves its version as it was. On SQLite, a later migration that rebuilds the walks table
(Alembic's batch mode) must make the trigger again: tests/test_walk_store.py fails otherwise.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_TRIGGER = """
CREATE TRIGGER walks_version AFTER UPDATE ON walks
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE walks SET version = OLD.version + 1 WHERE id = NEW.id;
END
"""

_PG_FUNCTION = """
CREATE FUNCTION walks_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$
"""

_PG_TRIGGER = """
CREATE TRIGGER walks_version BEFORE UPDATE ON walks
FOR EACH ROW EXECUTE FUNCTION walks_version()
"""


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("version", Id, nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS walks_version ON walks")
        op.execute("DROP FUNCTION IF EXISTS walks_version()")
    else:
        op.execute("DROP TRIGGER IF EXISTS walks_version")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("version")
