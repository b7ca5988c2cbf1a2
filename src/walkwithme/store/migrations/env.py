"""Alembic environment: always called from `walkwithme.store.migrate` with a connection."""

from __future__ import annotations

from alembic import context

from walkwithme.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite can't ALTER most things; batch mode rebuilds the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
