"""Indexes on channels: by person (every alert's recipients) and by removal (the notifier)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_channels_person_id", "channels", ["person_id"])
    op.create_index("ix_channels_removed_at", "channels", ["removed_at"])


def downgrade() -> None:
    op.drop_index("ix_channels_removed_at", table_name="channels")
    op.drop_index("ix_channels_person_id", table_name="channels")
