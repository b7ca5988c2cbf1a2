"""Her walk as GPX or GeoJSON, for her and nobody else (anyone else: no such walk)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.domain.errors import NotFound
from walkwithme.export import WalkRecord, to_geojson, to_gpx
from walkwithme.streets import StreetMap
from walkwithme.usecases import routes, walks
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import walk_view

router = APIRouter(prefix="/api/walks", tags=["walks"])

MAX_POINTS = 100_000  # four hours at one fix a second, and then some


def _record(conn: Any, walk_id: int, person_id: int, streets: StreetMap | None) -> WalkRecord:
    walk, audience = walks.visible_walk(conn, walk_id, person_id)
    if audience is not Audience.WALKER:
        raise NotFound("no such walk")  # her track is hers: companions saw it live, that's all
    try:
        route = routes.walk_route(conn, walk_id, person_id, streets).points
    except NotFound:
        route = None  # no street map, a timer walk, or beyond the map
    return WalkRecord(
        route=list(route) if route else None,
        walk=walk_view(conn, walk, audience),
        fixes=fixes_after(
            conn, walk_id, 0, MAX_POINTS, until_seq=walks.shown_until(walk, audience)
        ),
        events=events_after(conn, walk_id, 0, audience, limit=MAX_POINTS),
    )


@router.get("/{walk_id}/export.gpx", response_class=Response)
async def export_gpx(walk_id: Id, person: PersonDep, svc: ServicesDep) -> Response:
    """Her walk as GPX 1.1: track, route along streets (if any), events as waypoints."""
    record = await svc.db.read(lambda c: _record(c, walk_id, person.id, svc.streets))
    return Response(
        to_gpx(record),
        media_type="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="walk-{walk_id}.gpx"'},
    )


@router.get("/{walk_id}/export.geojson", response_class=JSON)
async def export_geojson(walk_id: Id, person: PersonDep, svc: ServicesDep) -> JSON:
    """Her walk as GeoJSON: a FeatureCollection of the track, route, destination, events."""
    record = await svc.db.read(lambda c: _record(c, walk_id, person.id, svc.streets))
    return JSON(
        to_geojson(record),
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="walk-{walk_id}.geojson"'},
    )
