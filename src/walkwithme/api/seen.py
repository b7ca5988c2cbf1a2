"""Recording who looked at a walk (usecases/looks.py), from the doors that show it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from walkwithme.security import token_hash
from walkwithme.services import Services
from walkwithme.store.database import StorageUnavailable
from walkwithme.usecases import looks

log = logging.getLogger(__name__)


# How long a look's record may hold the answer back: the writer may be waiting on a lock held
# by another process, and a companion answering an alarm waited a minute for the map (a review
# of faults). Past this the walk is answered, and the look is recorded when it can be.
LOOK_WAIT_S = 1.0


async def note(
    svc: Services,
    walk_id: int,
    via: str,
    viewer_id: int | None = None,
    link_number: int | None = None,
) -> None:
    """Record a look. A database that refuses the write, or is slow to take it, doesn't stop
    anyone from seeing the walk (an alarm must reach them): the look is recorded later, or goes
    unrecorded, and the log says so."""
    recorded = asyncio.ensure_future(
        svc.writer.run(
            partial(
                looks.record,
                walk_id=walk_id,
                via=via,
                viewer_id=viewer_id,
                link_number=link_number,
            )
        )
    )
    recorded.add_done_callback(partial(_said, walk_id))
    with contextlib.suppress(TimeoutError, StorageUnavailable):  # (said by `_said`)
        await asyncio.wait_for(asyncio.shield(recorded), LOOK_WAIT_S)


def _said(walk_id: int, recorded: asyncio.Future[None]) -> None:
    if recorded.cancelled():
        return
    failed = recorded.exception()
    if isinstance(failed, StorageUnavailable):
        log.warning("a look at walk %s could not be recorded: the database refused it", walk_id)
    elif failed is not None:
        log.error("a look at walk %s could not be recorded", walk_id, exc_info=failed)


async def through_link(svc: Services, walk_id: int, token: str) -> None:
    via, number = await svc.db.read(lambda c: looks.through_link(c, token_hash(token)))
    await note(svc, walk_id, via, link_number=number)
