"""Recording who looked at a walk (usecases/looks.py), from the doors that show it."""

from __future__ import annotations

import logging
from functools import partial

from walkwithme.security import token_hash
from walkwithme.services import Services
from walkwithme.store.database import StorageUnavailable
from walkwithme.usecases import looks

log = logging.getLogger(__name__)


async def note(
    svc: Services,
    walk_id: int,
    via: str,
    viewer_id: int | None = None,
    link_number: int | None = None,
) -> None:
    """Record a look. A database that refuses the write doesn't stop anyone from seeing the
    walk (an alarm must reach them): the look goes unrecorded, and the log says so."""
    try:
        await svc.writer.run(
            partial(
                looks.record,
                walk_id=walk_id,
                via=via,
                viewer_id=viewer_id,
                link_number=link_number,
            )
        )
    except StorageUnavailable:
        log.warning("a look at walk %s could not be recorded: the database refused it", walk_id)


async def through_link(svc: Services, walk_id: int, token: str) -> None:
    via, number = await svc.db.read(lambda c: looks.through_link(c, token_hash(token)))
    await note(svc, walk_id, via, link_number=number)
