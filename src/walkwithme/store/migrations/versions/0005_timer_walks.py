"""Timer walks: a walk may have no destination

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ("dest_lat", "dest_lon", "dest_radius_m")


def upgrade() -> None:
    with op.batch_alter_table("walks", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.alter_column(name, existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("walks", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.alter_column(name, existing_type=sa.Float(), nullable=False)
