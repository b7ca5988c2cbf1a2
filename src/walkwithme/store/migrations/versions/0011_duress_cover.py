"""The duress PIN's cover keeps its own rules (its check, its quiet time, the ladder of an
alarm it shows); a fix may belong to two walks (a new walk, and one a silent alarm holds
open), and each walk numbers its own fixes

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("cover_check_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("cover_check_asked_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cover_quiet_until", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cover_alarm_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cover_escalation_level", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cover_escalate_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("fix_seq", Id, nullable=False, server_default="0"))
    with op.batch_alter_table("fixes") as batch:
        batch.add_column(sa.Column("seq", Id, nullable=True))
    # Fixes kept before: each keeps its row id as its number, so the cursors that clients hold
    # (row ids until now) stay right; a walk's new fixes count on from there.
    op.execute("UPDATE fixes SET seq = id")
    op.execute(
        "UPDATE walks SET fix_seq = COALESCE((SELECT MAX(fixes.id) FROM fixes "
        "WHERE fixes.walk_id = walks.id), 0)"
    )
    with op.batch_alter_table("fixes") as batch:
        batch.alter_column("seq", existing_type=Id, nullable=False)
        batch.drop_constraint("uq_fixes_device_taken_at", type_="unique")
        batch.create_unique_constraint(
            "uq_fixes_walk_device_taken_at", ["walk_id", "device_id", "taken_at"]
        )
        batch.drop_index("ix_fixes_walk_id")
        batch.create_unique_constraint("uq_fixes_walk_seq", ["walk_id", "seq"])


def downgrade() -> None:
    # A fix kept for two walks is kept, going back, once (its first row: her newest walk's).
    op.execute(
        "DELETE FROM fixes WHERE EXISTS (SELECT 1 FROM fixes AS f WHERE f.device_id = "
        "fixes.device_id AND f.taken_at = fixes.taken_at AND f.id < fixes.id)"
    )
    with op.batch_alter_table("fixes") as batch:
        batch.drop_constraint("uq_fixes_walk_seq", type_="unique")
        batch.create_index("ix_fixes_walk_id", ["walk_id", "id"], unique=False)
        batch.drop_constraint("uq_fixes_walk_device_taken_at", type_="unique")
        batch.create_unique_constraint("uq_fixes_device_taken_at", ["device_id", "taken_at"])
        batch.drop_column("seq")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("fix_seq")
        batch.drop_column("cover_escalate_at")
        batch.drop_column("cover_escalation_level")
        batch.drop_column("cover_alarm_at")
        batch.drop_column("cover_quiet_until")
        batch.drop_column("cover_check_asked_at")
        batch.drop_column("cover_check_reason")
