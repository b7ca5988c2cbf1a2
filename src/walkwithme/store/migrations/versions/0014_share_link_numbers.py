"""Her share links are numbered per walk, among her own links only: a count of every link
would grow with the links a silent alarm makes for her guardians

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_links = sa.table(
    "share_links",
    sa.column("id", Id),
    sa.column("walk_id", Id),
    sa.column("number", Id),
    sa.column("for_alarm", sa.Boolean),
)
_walks = sa.table("walks", sa.column("id", Id), sa.column("share_seq", Id))


def upgrade() -> None:
    with op.batch_alter_table("walks") as batch:
        batch.add_column(sa.Column("share_seq", Id, nullable=False, server_default="0"))
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("number", Id, nullable=True))
    # Links made before keep their row id as their number, so the ids she holds stay right;
    # a walk's new links count on from there.
    op.execute(_links.update().where(_links.c.for_alarm.is_(False)).values(number=_links.c.id))
    newest = (
        sa.select(sa.func.coalesce(sa.func.max(_links.c.number), 0))
        .where(_links.c.walk_id == _walks.c.id)
        .scalar_subquery()
    )
    op.execute(_walks.update().values(share_seq=newest))
    with op.batch_alter_table("share_links") as batch:
        batch.create_unique_constraint("uq_share_links_walk_number", ["walk_id", "number"])


def downgrade() -> None:
    with op.batch_alter_table("share_links") as batch:
        batch.drop_constraint("uq_share_links_walk_number", type_="unique")
        batch.drop_column("number")
    with op.batch_alter_table("walks") as batch:
        batch.drop_column("share_seq")
