"""What every table is made with: the one `metadata` (its naming convention), the id and
time column types, and the primary key (store/schema.py, store/schema_offers.py)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT on PostgreSQL; on SQLite an INTEGER primary key is the rowid and counts up by itself.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ms = sa.BigInteger


def pk() -> sa.Column[int]:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)
