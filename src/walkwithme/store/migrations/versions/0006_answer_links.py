"""Links that let the walker answer a check with her PIN from any browser

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "answer_links",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("walk_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["walk_id"],
            ["walks.id"],
            name=op.f("fk_answer_links_walk_id_walks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_answer_links_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("answer_links")
