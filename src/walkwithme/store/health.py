"""Whether the database takes writes: /healthz asks it with a write of one small row of its own
(a read-only data folder, a full disk, a PostgreSQL gone read-only all refuse it). A write that
matched no row was no write at all to SQLite, which committed it whatever the disk said: the
check said "ok" while every phone's fix was refused."""

from __future__ import annotations

import asyncio

from sqlalchemy.dialects import postgresql, sqlite

from walkwithme.store.database import StorageUnavailable
from walkwithme.store.schema import throttles
from walkwithme.store.tx import Tx
from walkwithme.store.writer import Writer

PROBE_S = 2.0  # a writer that can't commit the probe within this is as good as stuck

PROBE_KEY = "healthz"  # a row of the throttles table no attempt is ever counted under


def _probe(tx: Tx) -> None:
    # The time of the last check, written (by whichever process asks, however many at once):
    # the page it is on goes to the disk with the commit.
    dialect = postgresql if tx.conn.dialect.name == "postgresql" else sqlite
    tx.conn.execute(
        dialect.insert(throttles)
        .values(key=PROBE_KEY, window_start=tx.now_ms, hits=0)
        .on_conflict_do_update(index_elements=[throttles.c.key], set_={"window_start": tx.now_ms})
    )


async def takes_writes(writer: Writer) -> bool:
    try:
        async with asyncio.timeout(PROBE_S):
            await writer.run(_probe, urgent=True)
    except (StorageUnavailable, TimeoutError):
        return False
    return True
