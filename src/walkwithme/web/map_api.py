"""The map's background as JSON, for the pages' script (and any client): the walk's route and
the streets around its start and destination, from the service's own street map."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.engine import Connection

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.params import Id
from walkwithme.usecases import shares, walks
from walkwithme.views import shared_view, walk_view
from walkwithme.web.mapdata import map_of
from walkwithme.web.walk_context import Seen, near_last

router = APIRouter(prefix="/api", tags=["pages"])


@router.get("/walks/{walk_id}/map")
async def walk_map(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """`{"route": [[lat, lon], ...] | null, "streets": [[[lat, lon], [lat, lon]], ...]}`:
    one good way home and the streets within 400 m of the walk's start and destination
    (empty without a street map). 404 to anyone who may not see the walk."""

    def read(conn: Connection) -> dict[str, Any]:
        walk, _audience = walks.visible_walk(conn, walk_id, person.id)
        return map_of(conn, walk, svc.streets)

    return await svc.db.read(read)


@router.get("/share/{token}/map")
async def link_map(token: str, svc: ServicesDep) -> dict[str, Any]:
    """The same through a share link or an alarm's link, while it works."""
    now = svc.clock.now_ms()

    def read(conn: Connection) -> dict[str, Any]:
        walk, _seen_as = shares.walk_for_link(conn, token, now)
        return map_of(conn, walk, svc.streets)

    return await svc.db.read(read)


@router.get("/walks/{walk_id}/near")
async def walk_near(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """`{"near": "Mikonkatu and Ateneuminkuja" | null, "t", "lat", "lon"}`: the streets
    named near her last position as this viewer sees it, as the walk page names them when it
    is served (null without a street map, a position too vague to name, or once the walk is
    over), for the page to keep them up as she moves. 404 to anyone who may not see the walk."""

    def read(conn: Connection) -> dict[str, Any]:
        walk, audience = walks.visible_walk(conn, walk_id, person.id)
        return near_last(Seen(walk_view(conn, walk, audience), [], []), svc.streets)

    return await svc.db.read(read)


@router.get("/share/{token}/near")
async def link_near(token: str, svc: ServicesDep) -> dict[str, Any]:
    """The same through a share link or an alarm's link, while it works."""
    now = svc.clock.now_ms()

    def read(conn: Connection) -> dict[str, Any]:
        walk, seen_as = shares.walk_for_link(conn, token, now)
        return near_last(Seen(shared_view(conn, walk, seen_as), [], []), svc.streets)

    return await svc.db.read(read)


@router.get("/now", include_in_schema=False)
async def service_now(svc: ServicesDep) -> dict[str, int]:
    """The service's clock, so a page says "3 min ago" by it (a drill's fast clock too)."""
    return {"now": svc.clock.now_ms()}
