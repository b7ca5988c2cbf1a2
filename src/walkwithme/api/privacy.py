"""Privacy that a person acts on: how long her walks are kept once over
(usecases/retention.py), hers to choose within the operator's bounds; and everything the
service holds about her, as one archive (usecases/archive.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from walkwithme.api.auth import PersonDep, ServicesDep, check_password
from walkwithme.api.inputs import Number
from walkwithme.api.params import Id
from walkwithme.domain.errors import Invalid, NotFound
from walkwithme.domain.keeping import DAY_MS
from walkwithme.services import Services
from walkwithme.usecases import archive, deletion, looks, retention, walks
from walkwithme.usecases.timeline import Audience

router = APIRouter(prefix="/api", tags=["privacy"])


class Choice(BaseModel):
    # Its upper bound is the operator's (WWM_KEEP_WALKS_MOST_DAYS), said when it is passed.
    days: Number | None = Field(
        ge=0,
        allow_inf_nan=False,
        description="days a walk's track is kept after it ends safely; 0: as soon as it ends; "
        "null: the server's default (at most the server's most, WWM_KEEP_WALKS_MOST_DAYS)",
    )


async def _view(svc: Services, person_id: int) -> dict[str, Any]:
    keeping = svc.config.keeping
    chosen = await svc.db.read(lambda c: retention.chosen_ms(c, person_id))
    return {
        "days": None if chosen is None else chosen / DAY_MS,
        "default_days": keeping.default_ms / DAY_MS,
        "most_days": keeping.most_ms / DAY_MS,
        "alarmed_days": keeping.alarmed_ms / DAY_MS,
    }


@router.get("/me/keeping")
async def get_keeping(person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """How long your walks are kept: your choice (`days`, null for the default), the server's
    default and most, and how long a walk that had an alarm is kept whatever you chose."""
    return await _view(svc, person.id)


@router.put("/me/keeping")
async def choose_keeping(body: Choice, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """Choose how long your walks are kept once over: from 0 (as soon as you're home) to the
    server's most. It applies to the walks that end from now on."""
    keeping = svc.config.keeping
    if body.days is not None and not 0 <= body.days <= keeping.most_ms / DAY_MS:
        raise Invalid(
            f"days must be from 0 (as soon as you're home) to {keeping.most_ms / DAY_MS:g}",
            field="days",
        )
    chosen = None if body.days is None else round(body.days * DAY_MS)
    await svc.writer.run(lambda tx: retention.choose(tx, person.id, chosen, keeping))
    return await _view(svc, person.id)


@router.get("/me/export", response_class=Response)
async def export_everything(person: PersonDep, svc: ServicesDep) -> Response:
    """Everything the service holds about you, as a ZIP: profile, contacts (names), places,
    phones, channels (never their addresses), offers, and each of your walks as GPX, GeoJSON
    and its timeline. Nothing about anyone else."""
    now = svc.clock.now_ms()
    files = await svc.db.read(lambda c: archive.gather(c, person.id, now, svc.streets))
    return Response(
        archive.zipped(files),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="walkwithme-export.zip"'},
    )


class Password(BaseModel):
    password: str = Field(max_length=200, description="your password, to confirm it's you")


@router.post("/me/delete")
async def delete_me(body: Password, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """Delete your account and everything that names or locates you: your walks, phones,
    channels, places, contacts, offers, and your messages in others' walks. Your contacts are
    told only that a contact ended. Refused (409, saying why) during your own walk or alarm."""
    await check_password(svc, person, body.password)
    await delete_account(svc, person.id)
    return {"deleted": True}


async def delete_account(svc: Services, person_id: int) -> None:
    """Her deletion (usecases/deletion.py), and then, on SQLite, the write-ahead log emptied:
    what was deleted is zeroed in the database file, but the WAL kept its pages as they were,
    with her name, her address and where she walked, for as long as nothing checkpointed it
    (a privacy review found them minutes later, across restarts). As forgetting a walk does
    (watchdog.py)."""
    if await svc.writer.run(lambda tx: deletion.request(tx, person_id)):
        await asyncio.to_thread(svc.db.checkpoint)


@router.get("/walks/{walk_id}/looks")
async def who_looked(walk_id: Id, person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Who looked at your walk, for you alone: `{at, via, who?, link?}` oldest first, one a
    person, door and link in any ten minutes. `via`: `page`, `live` (the WebSocket), `api`,
    `share_link` (`link`: its number), `alarm_link`, `export`."""

    def read(conn: Any) -> list[dict[str, Any]]:
        walk, audience = walks.visible_walk(conn, walk_id, person.id)
        if audience is not Audience.WALKER:
            raise NotFound("no such walk")
        return looks.of_walk(conn, walk)

    return await svc.db.read(read)
