"""A walk as GPX 1.1 and as GeoJSON: her track, the route (when the server has streets), her
destination, and the timeline's events as waypoints, each where she was at that moment.

Pure functions of what the walker may see of her own walk (the API hands them her projection):
exports are for the walker and nobody else. Text in them holds only what XML can (names and
messages stored before control characters were refused are shown without them).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from walkwithme.domain.text import xml_safe

GPX_NS = "http://www.topografix.com/GPX/1/1"


@dataclass(frozen=True)
class WalkRecord:
    """Everything an export holds, as the walker sees it."""

    walk: dict[str, Any]  # her view of the walk (views.walk_view)
    fixes: list[dict[str, Any]]  # trusted fixes, any order: {"t", "lat", "lon", ...}
    events: list[dict[str, Any]]  # her timeline: {"id", "at", "kind", ...}
    route: list[tuple[float, float]] | None = None  # along streets, if the server has them


def iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _track(record: WalkRecord) -> list[dict[str, Any]]:
    return sorted(record.fixes, key=lambda f: f["t"])


def _where_at(track: list[dict[str, Any]], at: int) -> tuple[float, float] | None:
    """Where she was at `at`: her last fix by then (her first, for what came before it)."""
    if not track:
        return None
    i = bisect.bisect_right([f["t"] for f in track], at) - 1
    fix = track[max(i, 0)]
    return fix["lat"], fix["lon"]


def _describe(event: dict[str, Any]) -> str:
    """What an event says, in a line (a note, a message's text, a reason)."""
    for key in ("text", "note", "reason"):
        if event.get(key):
            return xml_safe(str(event[key]))
    return ""


def _name(dest: dict[str, Any] | None) -> str | None:
    """Her destination's name, as an export can hold it."""
    name = dest.get("name") if dest else None
    return xml_safe(name) if name else None


def _title(record: WalkRecord) -> str:
    name = _name(record.walk.get("destination"))
    return f"Walk {record.walk['id']}" + (f" to {name}" if name else "")


def to_gpx(record: WalkRecord) -> str:
    ET.register_namespace("", GPX_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{GPX_NS}}}{tag}", attrs)
        if text is not None:
            child.text = xml_safe(text)  # what was stored before such text was refused
        return child

    gpx = ET.Element(f"{{{GPX_NS}}}gpx", {"version": "1.1", "creator": "Walk With Me"})
    meta = el(gpx, "metadata")
    el(meta, "name", _title(record))
    el(meta, "time", iso(record.walk["started_at"]))
    track = _track(record)
    dest = record.walk.get("destination")
    if dest:
        point = el(gpx, "wpt", lat=repr(dest["lat"]), lon=repr(dest["lon"]))
        el(point, "name", _name(dest) or "destination")
        el(point, "type", "destination")
    for event in record.events:
        where = _where_at(track, event["at"])
        if where is None:
            continue
        point = el(gpx, "wpt", lat=repr(where[0]), lon=repr(where[1]))
        el(point, "time", iso(event["at"]))
        el(point, "name", event["kind"])
        if description := _describe(event):
            el(point, "desc", description)
        el(point, "type", "event")
    if record.route:
        route = el(gpx, "rte")
        el(route, "name", "route along streets")
        for lat, lon in record.route:
            el(route, "rtept", lat=repr(lat), lon=repr(lon))
    trk = el(gpx, "trk")
    el(trk, "name", _title(record))
    segment = el(trk, "trkseg")
    for fix in track:
        point = el(segment, "trkpt", lat=repr(fix["lat"]), lon=repr(fix["lon"]))
        el(point, "time", iso(fix["t"]))
    ET.indent(gpx)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(gpx, encoding="unicode")


def to_geojson(record: WalkRecord) -> dict[str, Any]:
    """GeoJSON (RFC 7946): coordinates are [lon, lat]."""
    track = _track(record)
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[f["lon"], f["lat"]] for f in track],
            },
            "properties": {
                "name": _title(record),
                "kind": "track",
                "times": [iso(f["t"]) for f in track],
                "accuracy": [f.get("accuracy") for f in track],
            },
        }
    ]
    if record.route:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[lon, lat] for lat, lon in record.route],
                },
                "properties": {"kind": "route"},
            }
        )
    dest = record.walk.get("destination")
    if dest:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [dest["lon"], dest["lat"]]},
                "properties": {"kind": "destination", "name": _name(dest)},
            }
        )
    for event in record.events:
        where = _where_at(track, event["at"])
        if where is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [where[1], where[0]]},
                "properties": {
                    "kind": "event",
                    "event": event["kind"],
                    "time": iso(event["at"]),
                    "text": _describe(event) or None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
