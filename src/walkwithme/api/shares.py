"""Share links: the walker makes them; anyone holding one sees that walk, until it expires."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api import seen
from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Number
from walkwithme.api.params import Id
from walkwithme.domain.errors import NotFound
from walkwithme.usecases import shares, walks
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import shared_view

router = APIRouter(prefix="/api", tags=["share links"])


class NewLink(BaseModel):
    hours: Number | None = Field(
        default=None, description="how long the link works; absent: until the walk is over"
    )


@router.post("/walks/{walk_id}/shares", status_code=201)
async def create(walk_id: Id, body: NewLink, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    link = await svc.writer.run(lambda tx: shares.create_link(tx, walk_id, person.id, body.hours))
    link["url"] = f"{svc.config.base_url}/api/share/{link['token']}"
    return link


@router.get("/walks/{walk_id}/shares")
async def list_links(walk_id: Id, person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    now = svc.clock.now_ms()

    def read(conn: Any) -> list[dict[str, Any]]:
        _walk, audience = walks.visible_walk(conn, walk_id, person.id)
        if audience is not Audience.WALKER:
            raise NotFound("no such walk")
        return shares.list_links(conn, walk_id, now)

    return await svc.db.read(read)


@router.delete("/walks/{walk_id}/shares/{link_id}", status_code=204)
async def revoke(walk_id: Id, link_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: shares.revoke_link(tx, walk_id, person.id, link_id))


@router.get("/share/{token}")
async def show(token: str, svc: ServicesDep) -> dict[str, Any]:
    """The walk, its timeline and its track, as a companion would see them."""
    now = svc.clock.now_ms()

    def read(conn: Any) -> dict[str, Any]:
        walk, seen_as = shares.walk_for_link(conn, token, now)
        view = shared_view(conn, walk, seen_as)
        view["events"] = events_after(conn, walk.id, 0, seen_as)
        view["fixes"] = fixes_after(
            conn, walk.id, 0, limit=10_000, until_seq=walks.shown_until(walk, seen_as)
        )
        return view

    view = await svc.db.read(read)
    await seen.through_link(svc, int(view["id"]), token)
    return view
