"""Whether a phone was on its charger, as its app last said during a walk
(`devices.charging`), and which walk that was (`devices.charging_walk_id`): so that the walk's
timeline says when her phone starts or stops charging, once each time.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("charging", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("charging_walk_id", Id, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("charging_walk_id")
        batch.drop_column("charging")
