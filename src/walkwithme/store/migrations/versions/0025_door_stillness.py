"""Noisy fixes read over several: where she has been standing near the door, and since when
(`walks.door_still`, JSON; domain/lingering.py); and the distance left of a fix closer than
the least so far, waiting for the next to confirm it as progress (`walks.closer_m`;
domain/rules.py `progress_after`)

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("door_still", sa.Text(), nullable=True))
        batch.add_column(sa.Column("closer_m", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("closer_m")
        batch.drop_column("door_still")
