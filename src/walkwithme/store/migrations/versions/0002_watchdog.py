"""The watchdog's facts on walks: progress, door, check, alarm, battery notices

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MS = [
    "progress_at",
    "away_since",
    "door_at",
    "check_asked_at",
    "quiet_until",
    "alarm_at",
]


def upgrade() -> None:
    with op.batch_alter_table("walks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_m", sa.Float(), nullable=True))
        for name in _MS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("check_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("wrong_pins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("alarm_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("battery_notice", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )


def downgrade() -> None:
    with op.batch_alter_table("walks", schema=None) as batch_op:
        for name in [
            "progress_m",
            *_MS,
            "check_reason",
            "wrong_pins",
            "alarm_reason",
            "battery_notice",
            "timezone",
        ]:
            batch_op.drop_column(name)
