"""The rules a quiet time holds (`walks.quiet_rules`, and the duress cover's
`cover_quiet_rules`): an answer to "Are you OK?" held every rule for 5 or 10 minutes, so a
phone taken from her a minute after she answered, or someone leading her away, was asked
about only when that time was up. Now it holds the rules due when she answered (domain/rules.py,
`quiet_after_answer`), each until its own time, kept here as "stalled=1780000600000,..."
(only the stop she announced with "more time" is held for the minutes she asked). NULL, as
in a quiet time kept before this migration: every rule, as then.

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("walks", sa.Column("quiet_rules", sa.String(200)))
    op.add_column("walks", sa.Column("cover_quiet_rules", sa.String(200)))


def downgrade() -> None:
    op.drop_column("walks", "cover_quiet_rules")
    op.drop_column("walks", "quiet_rules")
