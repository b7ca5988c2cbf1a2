"""When her own devices were shown a walk forgotten (`walks.walker_forgotten_at`): after her
duress PIN the walk is kept as long as an alarmed walk is, for the people looking for her, while
her devices must see it forgotten when a walk without an alarm would be (usecases/retention.py).
Added as a plain column, so the walks table is not rebuilt and its `walks_version` trigger stays
(migration 0028).

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("walks", sa.Column("walker_forgotten_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("walks", "walker_forgotten_at")  # (SQLite 3.35 and later drop it in place)
