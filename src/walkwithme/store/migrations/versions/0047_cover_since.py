"""When her duress PIN gave her devices their cover (`walks.cover_since`): an alert made before
it, her real PIN's walk made too, and its outcome on a contact's channel is said to her
devices as it is (usecases/cover_channels.py). A cover going on is taken to have begun with
the silent alarm it goes with (`alarm_at`; for her duress PIN given during an alarm going
on, that alarm's start: its alerts are then taken for the silent alarm's, as before).

Revision ID: 0047
Revises: 0046
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

_walks = sa.table(
    "walks",
    sa.column("cover_state", sa.String),
    sa.column("cover_since", sa.BigInteger),
    sa.column("alarm_at", sa.BigInteger),
)


def upgrade() -> None:
    op.add_column("walks", sa.Column("cover_since", sa.BigInteger()))
    op.execute(
        _walks.update()
        .where(_walks.c.cover_state.is_not(None))
        .values(cover_since=_walks.c.alarm_at)
    )


def downgrade() -> None:
    op.drop_column("walks", "cover_since")  # (SQLite 3.35 and later drop a column in place)
