"""Her pace along her own track (`walks.walked`, JSON; domain/pace.py), in place of the
distance left at the time her pace began to be measured (`measured_m`, `measured_at`): judged
by how fast the distance left fell, a walker whose way home starts sideways to her door seemed
slow, and was given time she didn't need. A live walk's pace is measured again from its next
fix. Added and dropped as plain columns, so the walks table is not rebuilt and its
`walks_version` trigger stays (migration 0028). SQLite drops a column in place only from 3.35
(2021): an older one keeps the two old columns, unused.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def _drops_in_place() -> bool:
    return op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)


def upgrade() -> None:
    op.add_column("walks", sa.Column("walked", sa.Text()))
    if _drops_in_place():
        op.drop_column("walks", "measured_m")
        op.drop_column("walks", "measured_at")


def downgrade() -> None:
    if not _drops_in_place():
        return  # the old columns are there still; `walked` stays, unused
    op.add_column("walks", sa.Column("measured_at", sa.BigInteger()))
    op.add_column("walks", sa.Column("measured_m", sa.Float()))
    op.drop_column("walks", "walked")
