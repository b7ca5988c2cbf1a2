"""OwnTracks' Tours (iOS): a share link she makes from the app keeps the tour's name
(`share_links.label`) and the id the app knows it by (`share_links.tour_uuid`), to list her
tours and to end one (usecases/tours.py).

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("label", sa.String(100), nullable=True))
        batch.add_column(sa.Column("tour_uuid", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("share_links") as batch:
        batch.drop_column("tour_uuid")
        batch.drop_column("label")
