"""Her places on the pages (home and the others she walks to), each with the radius that
counts as arriving: list, add (coordinates typed), remove. The same use cases as /api/places."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from walkwithme.api.auth import PersonDep, ServicesDep, services
from walkwithme.api.params import Id, Lat, Lon
from walkwithme.domain.errors import Invalid
from walkwithme.domain.walks import MAX_RADIUS_M, MIN_RADIUS_M
from walkwithme.usecases import places
from walkwithme.usecases.accounts import Person
from walkwithme.web.manage_common import act, number, required, viewer
from walkwithme.web.mapdata import named_near, picking_centre, streets_around
from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["pages"])


@router.get("/places")
async def places_page(request: Request) -> Response:
    who = await viewer(request)
    if isinstance(who, Response):
        return who
    person, csrf = who
    svc = services(request)
    found = await svc.db.read(lambda c: places.list_places(c, person.id))
    return pages_of(request).render(
        request,
        "places.html",
        person=person,
        csrf=csrf,
        places=found,
        centre=picking_centre(svc, found),
        tiles=svc.config.tiles_url,
        finds_streets=svc.streets is not None,  # "Find a street" (streets/finding.py)
        default_radius=int(places.DEFAULT_RADIUS_M),
        min_radius=int(MIN_RADIUS_M),
        max_radius=int(MAX_RADIUS_M),
    )


def _coordinates(fields: dict[str, str]) -> tuple[float, float]:
    """ "60.1611, 24.9447" in one field (as maps copy them), or latitude and longitude apart."""
    both = fields.get("where", "").strip()
    if both:
        lat, _, lon = both.replace(";", ",").partition(",")
        if not (_a_number(lat) and _a_number(lon)):
            # "Fredrikinkatu 20": said as what it is, not "Latitude must be a number".
            raise Invalid(
                f"“{both[:60]}” is not a latitude and longitude: addresses are not looked up "
                "here. Tap the place on the map, or copy its coordinates from a map app "
                "(60.16110, 24.94470)",
                field="where",
            )
        return number({"lat": lat}, "lat", "Latitude"), number({"lon": lon}, "lon", "Longitude")
    return number(fields, "lat", "Latitude"), number(fields, "lon", "Longitude")


def _a_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


@api_router.get("/map/streets")
async def streets_near(
    person: PersonDep,
    svc: ServicesDep,
    lat: Lat,
    lon: Lon,
) -> dict[str, Any]:
    """`{"streets": [[[lat, lon], [lat, lon]], ...]}`: the streets within 400 m of a point,
    from the service's own street map (empty without one), for picking a place on a map."""
    if svc.streets is None:
        return {"streets": []}
    streets = svc.streets
    return {"streets": await anyio.to_thread.run_sync(streets_around, streets, lat, lon)}


@api_router.get("/map/named")
async def map_named(
    person: PersonDep,
    svc: ServicesDep,
    lat: Lat,
    lon: Lon,
) -> dict[str, Any]:
    """`{"near": "Kaivokatu" | "Mikonkatu and Ateneuminkuja" | null}`: the streets named
    nearest a point picked on a map, so that the page says where that is in words (null
    without a street map, or far from any named street)."""
    return {"near": await anyio.to_thread.run_sync(named_near, svc.streets, lat, lon)}


@api_router.get("/map/find")
async def map_find(
    person: PersonDep,
    svc: ServicesDep,
    q: Annotated[str, Query(min_length=2, max_length=60)],
) -> dict[str, Any]:
    """`{"streets": [{"name": "Kaivokatu", "lat", "lon"}, ...]}`: at most 8 streets of the
    service's own street map whose name has a word beginning with each word typed (accents
    and case aside), and where each is, for a page to bring its map there (empty without a
    street map). Signed in only: nothing of anyone's, but not a service for all comers."""
    streets = svc.streets
    if streets is None:
        return {"streets": []}
    found = await anyio.to_thread.run_sync(streets.find_streets, q)
    return {
        "streets": [
            {"name": name, "lat": round(lat, 6), "lon": round(lon, 6)} for name, (lat, lon) in found
        ]
    }


@router.post("/places")
async def add(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        name = required(fields, "name", "The place's name", 100)
        lat, lon = _coordinates(fields)
        radius = (
            number(fields, "radius", "The radius") if fields.get("radius", "").strip() else None
        )
        await services(request).writer.run(
            lambda tx: places.add_place(tx, person.id, name, lat, lon, radius)
        )

    return await act(request, "/places", action)


@router.post("/places/{place_id}/remove")
async def remove(place_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(lambda tx: places.remove_place(tx, person.id, place_id))

    return await act(request, "/places", action)
