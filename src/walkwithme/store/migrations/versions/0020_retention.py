"""Walks are forgotten after their retention: when (`walks.forget_at`, and as her own devices
are told: `walker_forget_at`), whether done (`walks.forgotten_at`), and how long each walker
keeps hers (`people.keep_walks_ms`)

Revision ID: 0020
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("forget_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("forgotten_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("walker_forget_at", sa.BigInteger(), nullable=True))
        batch.create_index("ix_walks_forget_at", ["forget_at"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("keep_walks_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("keep_walks_ms")
    with op.batch_alter_table("walks") as batch:
        batch.drop_index("ix_walks_forget_at")
        batch.drop_column("walker_forget_at")
        batch.drop_column("forgotten_at")
        batch.drop_column("forget_at")
