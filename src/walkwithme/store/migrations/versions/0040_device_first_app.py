"""The app a device first reported as (`devices.first_app`), kept when it later reports as
another: only a device that began as OwnTracks is answered with the walks its owner follows
(usecases/friends.py). A Traccar Client's token travels in the URL of each of its requests
(proxy logs, histories); posted to the OwnTracks door by whoever found it, it read where his
walkers were (an outside attacker's finding). Filled from `app` for the devices there are.

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("first_app", sa.String(16)))
    op.execute("UPDATE devices SET first_app = app")


def downgrade() -> None:
    op.drop_column("devices", "first_app")
