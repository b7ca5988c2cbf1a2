"""How far a device's clock is off the service's, as learned from when its messages arrive
(`devices.clock_offset_ms`, added to its times: usecases/phone_clocks.py), empty while its
clock is right or not learned; and an SOS held until its clock is known
(`devices.held_sos_ms`: its time by the phone's clock seemed before her walk began).

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("clock_offset_ms", sa.BigInteger()))
    op.add_column("devices", sa.Column("held_sos_ms", sa.BigInteger()))


def downgrade() -> None:
    # (SQLite 3.35 and later drop a column in place)
    op.drop_column("devices", "held_sos_ms")
    op.drop_column("devices", "clock_offset_ms")
