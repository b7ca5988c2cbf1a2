"""The duress PIN (a silent alarm her own devices can't see), and her measured pace

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("duress_pin_hash", sa.String(length=200), nullable=True))
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("duress_pin_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("cover_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("cover_ended_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cover_alarm_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("measured_m", sa.Float(), nullable=True))
        batch.add_column(sa.Column("measured_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("walker_seq", Id, nullable=True))
        batch.add_column(sa.Column("companion_seq", Id, nullable=True))
    # Events written before this migration: number each side's in id order.
    # Events written before: each keeps its row id as its number on both sides, so the
    # cursors that clients hold (row ids until now) stay right; new events count on from there.
    op.execute("UPDATE events SET walker_seq = id WHERE audience IN ('all', 'walker')")
    op.execute("UPDATE events SET companion_seq = id WHERE audience IN ('all', 'companions')")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("companion_seq")
        batch.drop_column("walker_seq")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("measured_at")
        batch.drop_column("measured_m")
        batch.drop_column("cover_alarm_reason")
        batch.drop_column("cover_ended_at")
        batch.drop_column("cover_state")
        batch.drop_column("duress_pin_hash")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("duress_pin_hash")
