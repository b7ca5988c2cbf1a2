"""Who ended a contact (`contacts.ended_by`): a contact the walker ends during her walk stays on
that walk until it is over (usecases/contacts.py, `standing`), so that whoever holds her
unlocked phone can't take the people looking out for her off the alarm before it is raised (an
outside attacker ended her contacts, then let the watchdog's alarm reach nobody). A companion who
ends it himself leaves at once, as before. NULL for contacts ended before this migration, and
while a contact stands.

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("contacts", sa.Column("ended_by", Id))


def downgrade() -> None:
    op.drop_column("contacts", "ended_by")
