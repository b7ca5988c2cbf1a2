"""An offer (or a recurring one) made while she had muted or blocked its maker is `quiet`:
answered as any offer, so that nothing tells him, and never shown or told to her, even once
the mute is over (usecases/offers.py). Before, it was refused in words that told him.

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("offers", "offer_series"):
        op.add_column(
            table, sa.Column("quiet", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in ("offers", "offer_series"):
        op.drop_column(table, "quiet")
