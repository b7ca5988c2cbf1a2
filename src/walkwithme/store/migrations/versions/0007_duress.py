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


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("duress_pin_hash", sa.String(length=200), nullable=True))
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("duress_pin_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("cover_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("cover_ended_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("measured_m", sa.Float(), nullable=True))
        batch.add_column(sa.Column("measured_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("walker_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("companion_seq", sa.Integer(), nullable=True))
    # Events written before this migration: number each side's in id order.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, walk_id, audience FROM events ORDER BY id")).all()
    counters: dict[tuple[int, str], int] = {}
    set_walker = sa.text("UPDATE events SET walker_seq = :seq WHERE id = :id")
    set_companion = sa.text("UPDATE events SET companion_seq = :seq WHERE id = :id")
    for event_id, walk_id, audience in rows:
        for side, update in (("walker", set_walker), ("companions", set_companion)):
            if audience in ("all", side):
                counters[(walk_id, side)] = counters.get((walk_id, side), 0) + 1
                conn.execute(update, {"seq": counters[(walk_id, side)], "id": event_id})


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("companion_seq")
        batch.drop_column("walker_seq")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("measured_at")
        batch.drop_column("measured_m")
        batch.drop_column("cover_ended_at")
        batch.drop_column("cover_state")
        batch.drop_column("duress_pin_hash")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("duress_pin_hash")
