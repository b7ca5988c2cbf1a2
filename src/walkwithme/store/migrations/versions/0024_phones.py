"""Phones, second pass: when one of her phones last said it is alive without a position
(`walks.heard_at`: Traccar Client 10's heartbeat counts against silence), a device's
OwnTracks encryption key (`devices.owntracks_key`), and the walk whose destination its
OwnTracks was given as a region (`devices.region_walk_id`)

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("heard_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("owntracks_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("region_walk_id", Id, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("region_walk_id")
        batch.drop_column("owntracks_key")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("heard_at")
