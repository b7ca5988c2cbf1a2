"""Since her last progress, the least distance left her fixes have had (`walks.behind_m`):
walking away is having more left than that, so that her true fixes behind
a record two stray fixes set are not walking away (domain/rules.py, `progress_after`). Added
as a plain column, so the walks table is not rebuilt and its `walks_version` trigger stays
(migration 0028).

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("walks", sa.Column("behind_m", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("walks", "behind_m")  # (SQLite 3.35 and later drop a column in place)
