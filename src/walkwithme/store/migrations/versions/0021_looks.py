"""Who looked at a walk: each opening of its live data by someone else, for its walker

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "looks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("walk_id", Id, sa.ForeignKey("walks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("viewer_id", Id, sa.ForeignKey("people.id", ondelete="SET NULL")),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("link_number", Id),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_looks_walk_id", "looks", ["walk_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_looks_walk_id", "looks")
    op.drop_table("looks")
