"""Whether the database takes writes: /healthz asks it with a write that changes nothing (a
read-only data folder, a full disk, a PostgreSQL gone read-only all refuse it)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from walkwithme.store.schema import throttles
from walkwithme.store.tx import Tx
from walkwithme.store.writer import StorageUnavailable, Writer

PROBE_S = 2.0  # a writer that can't commit a no-op within this is as good as stuck

_NOTHING = (
    throttles.update().where(throttles.c.key == sa.bindparam("none")).values(hits=throttles.c.hits)
)


def _probe(tx: Tx) -> None:
    tx.conn.execute(_NOTHING, {"none": ""})


async def takes_writes(writer: Writer) -> bool:
    try:
        async with asyncio.timeout(PROBE_S):
            await writer.run(_probe, urgent=True)
    except (StorageUnavailable, TimeoutError):
        return False
    return True
