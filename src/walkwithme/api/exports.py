"""Her walk as GPX or GeoJSON, for her and nobody else (anyone else: no such walk)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from walkwithme.api import seen
from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.export import WalkRecord, to_geojson, to_gpx
from walkwithme.streets import StreetMap
from walkwithme.usecases import archive, looks

router = APIRouter(prefix="/api/walks", tags=["walks"])


def _record(conn: Any, walk_id: int, person_id: int, streets: StreetMap | None) -> WalkRecord:
    return archive.walk_record(conn, walk_id, person_id, streets)


@router.get("/{walk_id}/export.gpx", response_class=Response)
async def export_gpx(walk_id: Id, person: PersonDep, svc: ServicesDep) -> Response:
    """Her walk as GPX 1.1: track, route along streets (if any), events as waypoints."""
    record = await svc.db.read(lambda c: _record(c, walk_id, person.id, svc.streets))
    await seen.note(svc, walk_id, looks.EXPORT, viewer_id=person.id)
    return Response(
        to_gpx(record),
        media_type="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="walk-{walk_id}.gpx"'},
    )


@router.get("/{walk_id}/export.geojson", response_class=JSON)
async def export_geojson(walk_id: Id, person: PersonDep, svc: ServicesDep) -> JSON:
    """Her walk as GeoJSON: a FeatureCollection of the track, route, destination, events."""
    record = await svc.db.read(lambda c: _record(c, walk_id, person.id, svc.streets))
    await seen.note(svc, walk_id, looks.EXPORT, viewer_id=person.id)
    return JSON(
        to_geojson(record),
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="walk-{walk_id}.geojson"'},
    )
