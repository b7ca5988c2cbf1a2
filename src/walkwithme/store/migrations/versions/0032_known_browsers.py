"""Browsers she has signed in on (`known_browsers`): their attempts to sign in are counted
apart from the account's, so that a stranger who knows only her email and uses up the
account's sign-ins does not lock her out of her own phone's browser (usecases/known_browsers.py).
Only a hash of each browser's token is kept, as for sessions.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_browsers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "person_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("known_browsers_person", "known_browsers", ["person_id"])


def downgrade() -> None:
    op.drop_index("known_browsers_person", "known_browsers")
    op.drop_table("known_browsers")
