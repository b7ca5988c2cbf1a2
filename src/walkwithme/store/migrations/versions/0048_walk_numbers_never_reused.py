"""A walk's number is never given again (`walks` with AUTOINCREMENT on SQLite): SQLite gave a
new walk the highest number there was, so after an account and its walks were deleted, the
next walk, someone else's, took the number of the last one deleted, under which a webhook
receiver had already kept the deleted walk's alerts. PostgreSQL's sequence never reuses one.

The table is rebuilt (Alembic's batch mode; foreign keys are checked after, store/migrate.py)
and its version trigger made again (0028).

Revision ID: 0048
Revises: 0047
"""

from __future__ import annotations

from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

_SQLITE_TRIGGER = """
CREATE TRIGGER walks_version AFTER UPDATE ON walks
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE walks SET version = OLD.version + 1 WHERE id = NEW.id;
END
"""


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS walks_version")
    with op.batch_alter_table(
        "walks", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
    op.execute(_SQLITE_TRIGGER)


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
