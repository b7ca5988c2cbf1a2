"""Offers: one-off and recurring offers to walk someone home, and the walker's mutes and blocks

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ms = sa.BigInteger


def _person(column: str, table: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["people.id"], name=op.f(f"fk_{table}_{column}_people"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "offer_mutes",
        sa.Column("walker_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("until", Ms(), nullable=True),
        sa.Column("created_at", Ms(), nullable=False),
        _person("person_id", "offer_mutes"),
        _person("walker_id", "offer_mutes"),
        sa.PrimaryKeyConstraint("walker_id", "person_id", name=op.f("pk_offer_mutes")),
    )
    op.create_table(
        "offer_series",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("walker_id", Id, nullable=False),
        sa.Column("offerer_id", Id, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", Ms(), nullable=False),
        sa.Column("stopped_at", Ms(), nullable=True),
        sa.Column("stopped_by", Id, nullable=True),
        sa.Column("next_due_at", Ms(), nullable=True),
        _person("offerer_id", "offer_series"),
        _person("stopped_by", "offer_series", "SET NULL"),
        _person("walker_id", "offer_series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_series")),
    )
    op.create_index("ix_offer_series_next_due_at", "offer_series", ["next_due_at"])
    op.create_index("ix_offer_series_walker", "offer_series", ["walker_id", "state"])
    op.create_table(
        "offers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("walker_id", Id, nullable=False),
        sa.Column("offerer_id", Id, nullable=False),
        sa.Column("series_id", Id, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", Ms(), nullable=False),
        sa.Column("at", Ms(), nullable=False),
        sa.Column("expires_at", Ms(), nullable=False),
        sa.Column("answered_at", Ms(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("promise_at", Ms(), nullable=True),
        sa.Column("remind_at", Ms(), nullable=True),
        sa.Column("reminded_at", Ms(), nullable=True),
        sa.Column("walk_id", Id, nullable=True),
        _person("offerer_id", "offers"),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["offer_series.id"],
            name=op.f("fk_offers_series_id_offer_series"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["walk_id"], ["walks.id"], name=op.f("fk_offers_walk_id_walks"), ondelete="SET NULL"
        ),
        _person("walker_id", "offers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_offerer", "offers", ["offerer_id", "walker_id"])
    op.create_index("ix_offers_remind_at", "offers", ["remind_at"])
    op.create_index("ix_offers_walker", "offers", ["walker_id", "state"])


def downgrade() -> None:
    op.drop_table("offers")
    op.drop_table("offer_series")
    op.drop_table("offer_mutes")
