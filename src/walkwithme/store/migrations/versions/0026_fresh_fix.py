"""A fresh fix before asking: when her phone was last asked for its position before an
"Are you OK?" for silence or a stall (`walks.fix_asked_at`; domain/fresh_fix.py)

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("fix_asked_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("fix_asked_at")
