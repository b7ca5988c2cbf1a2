"""Phones, second pass: when one of her phones last said it is alive without a position
(`walks.heard_at`: Traccar Client 10's heartbeat counts against silence), and a device's
OwnTracks encryption key (`devices.owntracks_key`)

Revision ID: 0024
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("heard_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("owntracks_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("owntracks_key")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("heard_at")
