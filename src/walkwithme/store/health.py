"""Whether the database takes writes: /healthz asks it with a write (a read-only data folder, a
full disk, a PostgreSQL gone read-only all refuse it).

On SQLite a write that matched no row is no write at all (SQLite committed it whatever the disk
said: the check said "ok" while every phone's fix was refused), so there it writes a row of its
own; SQLite has one process. On PostgreSQL, shared by several processes, a row written by all
of them would tie them together by its lock (one process stalled before its commit would hold
up the others' checks, and its order among a group's jobs could deadlock them): there the
update that matches no row is enough, since a read-only server refuses it and takes no lock."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.dialects import sqlite

from walkwithme.store.database import StorageUnavailable
from walkwithme.store.schema import throttles
from walkwithme.store.tx import Tx
from walkwithme.store.writer import Writer

log = logging.getLogger(__name__)

PROBE_S = 2.0  # a writer that can't commit the probe within this is as good as stuck
PROBE_KEY = "healthz"  # SQLite: a row of the throttles table no attempt is counted under
# PostgreSQL: an update that matches no row (and so locks none).
_NOTHING = throttles.update().where(throttles.c.key == "").values(hits=throttles.c.hits)


def _probe(tx: Tx) -> None:
    if tx.conn.dialect.name == "postgresql":
        tx.conn.execute(_NOTHING)
        return
    # The time of the last check, written: the page it is on goes to the disk with the commit.
    tx.conn.execute(
        sqlite.insert(throttles)
        .values(key=PROBE_KEY, window_start=tx.now_ms, hits=0)
        .on_conflict_do_update(index_elements=[throttles.c.key], set_={"window_start": tx.now_ms})
    )


async def takes_writes(writer: Writer) -> bool:
    try:
        async with asyncio.timeout(PROBE_S):
            await writer.run(_probe, urgent=True)
    except (StorageUnavailable, TimeoutError):
        return False
    except Exception:  # (a damaged file, say: not well either, and the heartbeat goes on asking)
        log.exception("the database's write check failed")
        return False
    return True
