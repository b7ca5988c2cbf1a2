"""PostgreSQL: `wwm_expect(ok, what)`, which refuses a statement whose outcome is not the one
its writer planned (store/pg_writes.py): the writer sends a phone's fix with the rest of its
group in one query, without reading what each statement did, so the statement itself must
fail, and take its whole transaction with it, when the fix was not stored or its walk not
saved as planned. Its message says so in the server's log. Nothing on SQLite.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE FUNCTION wwm_expect(ok boolean, what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'not as the writer planned: %', what
            USING HINT = 'Walk With Me runs the group again, each job alone.';
    END IF;
    RETURN true;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS wwm_expect(boolean, text)")
