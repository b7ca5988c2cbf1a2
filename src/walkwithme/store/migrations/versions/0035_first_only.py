"""Whether the least distance left so far is her first fix's alone (`walks.first_only`), which the
next fix settles to the farther of the two (domain/rules.py, `progress_after`): noise can land
a first fix on a street with a shorter way home. Added as a plain column, so the walks table
is not rebuilt and its `walks_version` trigger stays (migration 0028).

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "walks", sa.Column("first_only", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("walks", "first_only")  # (SQLite 3.35 and later drop a column in place)
