"""Which of her contacts would hear an alarm, as her devices were told before her duress PIN
(`walks.cover_heard`, a JSON list of their ids): the silent alarm's own alerts change what her
contacts' channels show (one that reached him has worked; one that failed again is failing),
and her pages must go on saying what her real PIN would have left them saying. Added as a plain
column, so the walks table is not rebuilt and its `walks_version` trigger stays (migration
0028).

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("walks", sa.Column("cover_heard", sa.Text()))


def downgrade() -> None:
    op.drop_column("walks", "cover_heard")  # (SQLite 3.35 and later drop a column in place)
