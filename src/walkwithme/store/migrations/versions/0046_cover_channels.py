"""After her duress PIN, her contacts' channels as her devices would know them
(`cover_channels`: a channel's `worked_at`, `failures` and `broken_at` as her real PIN would
have left them, where the silent alarm's own alerts changed them), in place of the set of
who would hear as it was when the cover began (`walks.cover_heard`, migration 0036), which
missed what her real PIN's alerts did to a channel since (one failing: her pages went on
saying he is told) and anyone who set up alerts since.

A cover going on keeps what it said, as far as it may: each of her contacts it did not count
whose channels now count is given a shadow of them that never worked. (One it counted whose
channels no longer count is not counted any more: a shadow only ever takes someone off.)

Revision ID: 0046
Revises: 0045
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

_FAILING_AFTER = 5  # (usecases/alerts.py, as it was)

_walks = sa.table(
    "walks",
    sa.column("id", sa.BigInteger),
    sa.column("walker_id", sa.BigInteger),
    sa.column("cover_heard", sa.Text),
    sa.column("cover_state", sa.String),
)
_contacts = sa.table(
    "contacts",
    sa.column("owner_id", sa.BigInteger),
    sa.column("member_id", sa.BigInteger),
    sa.column("state", sa.String),
)
_channels = sa.table(
    "channels",
    sa.column("id", sa.BigInteger),
    sa.column("person_id", sa.BigInteger),
    sa.column("worked_at", sa.BigInteger),
    sa.column("failures", sa.Integer),
    sa.column("broken_at", sa.BigInteger),
    sa.column("removed_at", sa.BigInteger),
    sa.column("created_at", sa.BigInteger),
)


def upgrade() -> None:
    cover_channels = op.create_table(
        "cover_channels",
        sa.Column(
            "walker_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "channel_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("channels.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("worked_at", sa.BigInteger()),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("broken_at", sa.BigInteger()),
    )
    op.create_index("ix_cover_channels_channel_id", "cover_channels", ["channel_id"])
    conn = op.get_bind()
    kept = conn.execute(
        sa.select(_walks.c.walker_id, _walks.c.cover_heard)
        .where(_walks.c.cover_heard.is_not(None), _walks.c.cover_state.is_not(None))
        .order_by(_walks.c.id)
    ).all()
    # Her latest cover's, as her pages read it (two may hold: a walk after one her duress PIN
    # ended while its silent alarm goes on).
    latest = {walker_id: heard_json for walker_id, heard_json in kept}
    for walker_id, heard_json in latest.items():
        heard = set(json.loads(heard_json))
        contacts = conn.execute(
            sa.select(_contacts.c.member_id).where(
                _contacts.c.owner_id == walker_id, _contacts.c.state == "accepted"
            )
        ).scalars()
        for person in set(contacts):
            rows = conn.execute(
                sa.select(_channels).where(
                    _channels.c.person_id == person, _channels.c.removed_at.is_(None)
                )
            ).all()
            counts = [
                r
                for r in rows
                if r.worked_at is not None and r.broken_at is None and r.failures < _FAILING_AFTER
            ]
            if person in heard or not counts:
                continue
            for r in rows:
                conn.execute(
                    cover_channels.insert().values(
                        walker_id=walker_id,
                        channel_id=r.id,
                        worked_at=None,
                        failures=0,
                        broken_at=None,
                    )
                )
    op.drop_column("walks", "cover_heard")  # (SQLite 3.35 and later drop a column in place)


def downgrade() -> None:
    op.add_column("walks", sa.Column("cover_heard", sa.Text()))
    op.drop_index("ix_cover_channels_channel_id", "cover_channels")
    op.drop_table("cover_channels")
