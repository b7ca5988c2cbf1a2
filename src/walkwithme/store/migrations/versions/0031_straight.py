"""The least distance to her door as the crow flies so far (`walks.straight_m`), kept beside
the least distance left along the streets: another street home may mean more to walk for a
while, and getting nearer as the crow flies is progress all the same (domain/rules.py,
`progress_after`). Added as a plain column, so the walks table is not rebuilt and its
`walks_version` trigger stays (migration 0028).

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("walks", sa.Column("straight_m", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("walks", "straight_m")  # (SQLite 3.35 and later drop a column in place)
