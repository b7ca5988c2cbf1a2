"""When a contact was accepted (`contacts.accepted_at`): during an alarm only contacts accepted
before it was raised are on it (usecases/contacts.py, `standing`). A request sent from her
phone during a silent alarm, accepted (and perhaps ended) by whoever it was sent to, told them
of the alarm and where she is, and let them end it (an outside review). Filled in for the
contacts that stand (their last change was their acceptance), and for those ended by someone
(`ended_by`: they had stood) with their creation, as if accepted then: what they were before.

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("accepted_at", sa.BigInteger()))
    op.execute("UPDATE contacts SET accepted_at = updated_at WHERE state = 'accepted'")
    op.execute(
        "UPDATE contacts SET accepted_at = created_at"
        " WHERE state = 'ended' AND ended_by IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("contacts", "accepted_at")
