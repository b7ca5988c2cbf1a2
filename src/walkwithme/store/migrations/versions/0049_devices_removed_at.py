"""A phone she removes while her duress PIN's silent alarm holds is hidden, not revoked
(`devices.removed_at`): gone for her devices, and answered as a revoked phone, while what it
sends still reaches the people looking for her; revoked for good once the alarm is over
(usecases/devices.py `revoke_device`). Revoked at once, whoever held her phone cut the track
the people looking for her followed (an outside review).

Revision ID: 0049
Revises: 0048
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("removed_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("removed_at")
