"""Everything the service holds about one person, as one archive they can take away.

Their profile, contacts (names only: the other people's addresses are theirs), places, phones
(never a token), channels (kinds and labels, never an address or a secret), offers, and each
of their walks as they see it (GPX, GeoJSON, and its timeline with its messages), as long as it
is kept (usecases/retention.py). Nothing about anyone else: a walk they followed is the
walker's, not theirs. The same archive from the API (`GET /api/me/export`), the CLI
(`walkwithme people export`) and the pages.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import NotFound
from walkwithme.export import WalkRecord, iso, to_geojson, to_gpx
from walkwithme.store.schema import people, walks
from walkwithme.streets import StreetMap
from walkwithme.usecases import channels, contacts, devices, offer_views, places, routes
from walkwithme.usecases import walks as walk_cases
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import walk_view

MAX_POINTS = 100_000  # four hours at one fix a second, and then some

README = """What Walk With Me holds about you, on {when} (UTC).

profile.json    your account: name, email, time zone, pace, your thresholds
contacts.json   the people you follow and who follow you: names, roles, states
places.json     your places
devices.json    your phones: names, when added and last seen, what each app said of itself
channels.json   where your alerts go: kinds and labels (never their addresses or secrets)
offers.json     offers to walk you home, and yours to others: who, when, how each went
walks.json      your walks, as you see them
walks/          each walk as GPX and GeoJSON (your track, your destination, the timeline's
                events where you were then) and its timeline with its messages
                (walk-N-timeline.json); a walk that has been forgotten has no track left

Nothing about anyone else is in it beyond the names of your contacts.
"""


def walk_record(
    conn: Connection, walk_id: int, person_id: int, streets: StreetMap | None
) -> WalkRecord:
    """Her walk, as she sees it (after her duress PIN: as her devices were shown it); anyone
    else, a companion included, gets "no such walk"."""
    walk, audience = walk_cases.visible_walk(conn, walk_id, person_id)
    if audience is not Audience.WALKER:
        raise NotFound("no such walk")  # her track is hers: companions saw it live, that's all
    try:
        route = routes.walk_route(conn, walk_id, person_id, streets).points
    except NotFound:
        route = None  # no street map, a timer walk, beyond the map, or forgotten
    return WalkRecord(
        route=list(route) if route else None,
        walk=walk_view(conn, walk, audience),
        fixes=fixes_after(
            conn, walk_id, 0, MAX_POINTS, until_seq=walk_cases.shown_until(walk, audience)
        ),
        events=events_after(
            conn,
            walk_id,
            0,
            audience,
            limit=MAX_POINTS,
            scrubbed=walk_cases.forgotten_for(walk, audience),
        ),
    )


def _profile(conn: Connection, person_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(people).where(people.c.id == person_id)).one()
    return {
        "name": row.name,
        "email": row.email,
        "timezone": row.timezone,
        "phone": row.phone,
        "pace_mps": row.pace_mps,
        "rules": json.loads(row.rules) if row.rules else {},
        "created": iso(row.created_at),
        "is_operator": bool(row.is_operator),
        "keeps_walks_days": None if row.keep_walks_ms is None else row.keep_walks_ms / 86_400_000,
    }


def _contacts(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    return [
        {
            "role": c["role"],
            "state": c["state"],
            "direction": c["direction"],
            "name": c["person"]["name"],  # their name only: their address is theirs
        }
        for c in contacts.list_contacts(conn, person_id)
    ]


def _names_only(value: Any) -> Any:
    """Offers name the other person: keep the name, not their account's id or address."""
    if isinstance(value, dict):
        return {k: _names_only(v) for k, v in value.items() if k not in ("email", "id")}
    if isinstance(value, list):
        return [_names_only(v) for v in value]
    return value


def gather(
    conn: Connection, person_id: int, now_ms: int, streets: StreetMap | None
) -> dict[str, bytes]:
    """The archive's files, by name."""

    def as_json(value: Any) -> bytes:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str).encode()

    files = {
        "README.txt": README.format(when=iso(now_ms)).encode(),
        "profile.json": as_json(_profile(conn, person_id)),
        "contacts.json": as_json(_contacts(conn, person_id)),
        "places.json": as_json(places.list_places(conn, person_id)),
        "devices.json": as_json(devices.list_devices(conn, person_id)),
        "channels.json": as_json(channels.list_channels(conn, person_id)),
        "offers.json": as_json(_names_only(offer_views.overview(conn, person_id, now_ms))),
    }
    own = conn.execute(
        sa.select(walks.c.id).where(walks.c.walker_id == person_id).order_by(walks.c.id)
    ).scalars()
    listed = []
    for walk_id in own:
        record = walk_record(conn, walk_id, person_id, streets)
        listed.append(record.walk)
        files[f"walks/walk-{walk_id}.gpx"] = to_gpx(record).encode()
        files[f"walks/walk-{walk_id}.geojson"] = as_json(to_geojson(record))
        files[f"walks/walk-{walk_id}-timeline.json"] = as_json(record.events)
    files["walks.json"] = as_json(listed)
    return files


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return out.getvalue()
