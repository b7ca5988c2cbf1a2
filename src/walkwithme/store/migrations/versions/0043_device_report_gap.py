"""How far apart a device's last two messages came (`devices.report_gap_ms`): when, not where
(nothing of a position outside walks is kept). Traccar Client 10 at its defaults reports every
5 minutes and nothing while she stands still, and its messages don't say so: the gap does,
and her walk's start tells her how to set it (domain/reporting.py). Empty until it reports.

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("report_gap_ms", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("devices", "report_gap_ms")  # (SQLite 3.35 and later drop a column in place)
