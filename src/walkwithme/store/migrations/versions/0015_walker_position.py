"""Where her devices see her, once her duress PIN ended the walk for them: the last number of
its track they see, and its last position then (as the walk's own columns kept it)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_walks = sa.table(
    "walks",
    sa.column("id", Id),
    sa.column("cover_state", sa.String),
    sa.column("cover_ended_at", sa.BigInteger),
    sa.column("walker_fix_seq", Id),
    sa.column("walker_last", sa.JSON),
)
_fixes = sa.table(
    "fixes",
    sa.column("walk_id", Id),
    sa.column("seq", Id),
    sa.column("received_at", sa.BigInteger),
    sa.column("taken_at", sa.BigInteger),
    sa.column("lat", sa.Float),
    sa.column("lon", sa.Float),
    sa.column("accuracy_m", sa.Float),
    sa.column("speed_mps", sa.Float),
    sa.column("bearing_deg", sa.Float),
    sa.column("battery_pct", sa.Float),
    sa.column("flag", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("walker_fix_seq", Id, nullable=True))
        batch.add_column(sa.Column("walker_last", sa.JSON(), nullable=True))
    # Walks her duress PIN already ended for her devices: their track for her stops where it
    # stopped before (what had arrived by then), and their last position is that track's
    # newest fix, as it was shown before.
    conn = op.get_bind()
    ended = conn.execute(
        sa.select(_walks.c.id, _walks.c.cover_ended_at).where(
            _walks.c.cover_state.is_not(None), _walks.c.cover_ended_at.is_not(None)
        )
    ).all()
    for walk_id, ended_at in ended:
        kept = sa.and_(_fixes.c.walk_id == walk_id, _fixes.c.received_at <= ended_at)
        last_seq = conn.execute(sa.select(sa.func.max(_fixes.c.seq)).where(kept)).scalar()
        last = conn.execute(
            sa.select(_fixes)
            .where(kept, _fixes.c.flag.is_(None))
            .order_by(_fixes.c.taken_at.desc())
            .limit(1)
        ).first()
        conn.execute(
            _walks.update()
            .where(_walks.c.id == walk_id)
            .values(
                walker_fix_seq=last_seq or 0,
                walker_last={
                    "last_fix_at": last.taken_at if last else None,
                    "last_lat": last.lat if last else None,
                    "last_lon": last.lon if last else None,
                    "last_accuracy_m": last.accuracy_m if last else None,
                    "last_speed_mps": last.speed_mps if last else None,
                    "last_bearing_deg": last.bearing_deg if last else None,
                    "last_battery_pct": last.battery_pct if last else None,
                },
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("walker_last")
        batch.drop_column("walker_fix_seq")
