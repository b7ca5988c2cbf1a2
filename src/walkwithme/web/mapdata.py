"""What the map draws besides her track: the route home and the streets around the walk.

Both come from the service's own walking graph (WWM_STREETS), so a map without tiles still
shows streets and nothing is asked of a tile server. The streets are chosen around the walk's
start and destination only, never around a position: what they show is what the walk's
audience knows already (where it started, where it goes), whatever the walk's state.
"""

from __future__ import annotations

import math
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection

from walkwithme.domain.geo import distance_m
from walkwithme.services import Services
from walkwithme.streets import StreetMap
from walkwithme.usecases.routes import start_of
from walkwithme.usecases.walk_record import Walk

MARGIN_M = 400.0  # streets this far beyond the box of start and destination
MAX_LINES = 6000  # a bound on the answer, whatever the map

Segment = tuple[float, float, float, float]
_SEGMENTS: WeakKeyDictionary[StreetMap, list[Segment]] = WeakKeyDictionary()


def _segments(streets: StreetMap) -> list[Segment]:
    """Every outdoor bit of street, once per map."""
    found = _SEGMENTS.get(streets)
    if found is None:
        graph = streets.walking
        found = [
            (graph.lats[u], graph.lons[u], graph.lats[v], graph.lons[v])
            for u, v in graph.outdoor_edges()
        ]
        _SEGMENTS[streets] = found
    return found


def _box(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    dlat = MARGIN_M / 111_320.0
    dlon = MARGIN_M / (111_320.0 * max(0.2, math.cos(math.radians(sum(lats) / len(lats)))))
    return min(lats) - dlat, min(lons) - dlon, max(lats) + dlat, max(lons) + dlon


def _anchors(conn: Connection, walk: Walk) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    start = start_of(conn, walk)
    if start is not None:
        points.append(start)
    if walk.destination is not None:
        points.append((walk.destination.lat, walk.destination.lon))
    return points


def street_lines(conn: Connection, walk: Walk, streets: StreetMap) -> list[list[list[float]]]:
    anchors = _anchors(conn, walk)
    if not anchors:
        return []
    return lines_in(streets, _box(anchors))


def route_points(conn: Connection, walk: Walk, streets: StreetMap) -> list[list[float]] | None:
    """One good way home, as usecases/routes.py draws it for the API (a picture, not a rule)."""
    dest = walk.destination
    start = start_of(conn, walk)
    if dest is None or start is None:
        return None
    found = streets.route(start, (dest.lat, dest.lon), keep=walk.live)
    if found is None:
        return None
    return [[lat, lon] for lat, lon in found.points]


def map_of(conn: Connection, walk: Walk, streets: StreetMap | None) -> dict[str, Any]:
    """The map's background for a walk someone may see: {"route": ..., "streets": [...]}."""
    if streets is None:
        return {"route": None, "streets": []}
    return {
        "route": route_points(conn, walk, streets),
        "streets": street_lines(conn, walk, streets),
    }


def named_near(streets: StreetMap | None, lat: float, lon: float) -> str | None:
    """The streets named nearest a point, in words ("Kaivokatu", or "Mikonkatu and
    Ateneuminkuja" at a corner): a place picked on a map, said as the pages name where she
    was last seen. None without a street map, or far from any named street."""
    if streets is None:
        return None
    return " and ".join(streets.streets_near(lat, lon)) or None


def distance_left(view: dict[str, Any], streets: StreetMap | None) -> float | None:
    """Metres from her last position (as this view shows it) to the destination: along the
    streets where the service has them, else in a straight line. What the page says before
    its script takes over (which measures along the drawn route)."""
    dest, last = view.get("destination"), view.get("last_position")
    if not dest or not last:
        return None
    here, there = (last["lat"], last["lon"]), (dest["lat"], dest["lon"])
    along = streets.walking_distance(here, there) if streets is not None else None
    return along if along is not None else distance_m(*here, *there)


def lines_in(streets: StreetMap, box: tuple[float, float, float, float]) -> list[list[list[float]]]:
    """The bits of street with an end inside `box` (south, west, north, east), at most
    MAX_LINES."""
    south, west, north, east = box
    lines: list[list[list[float]]] = []
    for a_lat, a_lon, b_lat, b_lon in _segments(streets):
        inside_a = south <= a_lat <= north and west <= a_lon <= east
        inside_b = south <= b_lat <= north and west <= b_lon <= east
        if inside_a or inside_b:
            lines.append([[round(a_lat, 6), round(a_lon, 6)], [round(b_lat, 6), round(b_lon, 6)]])
            if len(lines) >= MAX_LINES:
                break
    return lines


def streets_around(streets: StreetMap, lat: float, lon: float) -> list[list[list[float]]]:
    """The streets within MARGIN_M of a point someone chose on a map (for picking a place:
    public streets around a point she looks at, nothing about anyone)."""
    return lines_in(streets, _box([(lat, lon)]))


def middle(streets: StreetMap) -> tuple[float, float]:
    """The middle of the street map: where a map opens when nothing else says where."""
    segments = _segments(streets)
    lats = sorted(s[0] for s in segments)
    lons = sorted(s[1] for s in segments)
    return lats[len(lats) // 2], lons[len(lons) // 2]


def picking_centre(svc: Services, found: list[dict[str, Any]]) -> tuple[float, float] | None:
    """Where a map to pick a place opens: at her first place, else the middle of the
    streets; no map without streets or tiles (there would be nothing to see on it)."""
    if svc.streets is None and not svc.config.tiles_url:
        return None
    if found:
        return found[0]["lat"], found[0]["lon"]
    return middle(svc.streets) if svc.streets is not None else None
