"""A walk's route along the streets, for those who may see the walk.

Drawn from where the walk started (the `from` she gave, else her first trusted fix) to its
destination. It is a picture of one good way home, not a line she must keep to: the watchdog
judges her by the distance left from wherever she is (see usecases/fixes.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import NotFound
from walkwithme.store.schema import events, fixes
from walkwithme.streets import LatLon, Route, StreetMap
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walks import visible_walk


def walk_route(conn: Connection, walk_id: int, person_id: int, streets: StreetMap | None) -> Route:
    walk, audience = visible_walk(conn, walk_id, person_id)  # first: strangers learn nothing
    if audience is Audience.WALKER:
        walk = walk.walker_view  # a walk her devices were shown forgotten has no destination
    dest = walk.destination
    if streets is None:
        raise NotFound("no route: this service has no street map")
    if dest is None:
        raise NotFound("no route: a timer walk has no destination")
    start = start_of(conn, walk)
    if start is None:
        raise NotFound("no route yet: the walk has no starting point until a fix arrives")
    # A walk that is over keeps no field in the cache: those are for the live walks' fixes.
    found = streets.route(start, (dest.lat, dest.lon), keep=walk.live)
    if found is None:
        raise NotFound("no route: the walk starts or ends beyond the street map")
    return found


def start_of(conn: Connection, walk: Walk) -> LatLon | None:
    started = conn.execute(
        sa.select(events.c.data)
        .where(events.c.walk_id == walk.id, events.c.kind == "started")
        .order_by(events.c.id)
        .limit(1)
    ).first()
    origin = started.data.get("from") if started else None
    if origin:
        return (float(origin["lat"]), float(origin["lon"]))
    first = conn.execute(
        sa.select(fixes.c.lat, fixes.c.lon)
        .where(fixes.c.walk_id == walk.id, fixes.c.flag.is_(None))
        .order_by(fixes.c.taken_at)
        .limit(1)
    ).first()
    return (first.lat, first.lon) if first else None
