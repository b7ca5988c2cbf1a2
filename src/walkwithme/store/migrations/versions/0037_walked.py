"""Her pace along her own track (`walks.walked`, JSON; domain/pace.py), in place of the
distance left at the time her pace began to be measured (`measured_m`, `measured_at`): judged
by how fast the distance left fell, a walker whose way home starts sideways to her door seemed
slow, and was given time she didn't need. A live walk's pace is measured again from its next
fix. Added and dropped as plain columns, so the walks table is not rebuilt and its
`walks_version` trigger stays (migration 0028).

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("walks", sa.Column("walked", sa.Text()))
    op.drop_column("walks", "measured_m")  # (SQLite 3.35 and later drop a column in place)
    op.drop_column("walks", "measured_at")


def downgrade() -> None:
    op.add_column("walks", sa.Column("measured_at", sa.BigInteger()))
    op.add_column("walks", sa.Column("measured_m", sa.Float()))
    op.drop_column("walks", "walked")
