"""The rules' thresholds: a person's own settings, and the profiles each walk started with

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("rules", sa.Text(), nullable=True))
    with op.batch_alter_table("walks") as batch:
        # Walks from before keep NULL: the built-in profiles, which they were judged by.
        batch.add_column(sa.Column("profiles", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("profiles")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("rules")
