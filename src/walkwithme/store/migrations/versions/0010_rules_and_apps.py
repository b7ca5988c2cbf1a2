"""The rules' thresholds (a person's own settings, the profiles each walk started with), and
what a device's phone app says of itself

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
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("app", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("app_mode", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("last_refused_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_refusal", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("owntracks_topic", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_devices_owntracks_topic", ["owntracks_topic"])
        batch.add_column(sa.Column("asked_from_mode", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint("uq_devices_owntracks_topic", type_="unique")
        batch.drop_column("asked_from_mode")
        for column in ("owntracks_topic", "last_refusal", "last_refused_at", "app_mode", "app"):
            batch.drop_column(column)
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("profiles")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("rules")
