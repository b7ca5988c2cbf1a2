"""The time of the last SOS taken from a device (`devices.sos_at`), as its phone said it (the
fix or heartbeat it came with): the same SOS again (an app resending after a lost answer) is
not said again on the walk's timeline, where "Mira pressed SOS" a second time reads as a
second press (an outside review's finding).

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("sos_at", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("devices", "sos_at")
