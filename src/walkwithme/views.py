"""What each audience sees of a walk: two projections of the same rows, built on purpose.

The walker's view shows her companions; a companion's view shows the walker. Events reach
each side only if their stored audience says so (see usecases/timeline.py), which is what lets
a later issue keep a silent alarm off the walker's screens without leaving gaps.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walks import Walk, companion_names, person_name


def _last_position(walk: Walk) -> dict[str, Any] | None:
    if walk.last_fix_at is None:
        return None
    return {
        "t": walk.last_fix_at,
        "lat": walk.last_lat,
        "lon": walk.last_lon,
        "accuracy": walk.last_accuracy_m,
        "speed": walk.last_speed_mps,
        "bearing": walk.last_bearing_deg,
        "battery": walk.last_battery_pct,
    }


def _common(walk: Walk) -> dict[str, Any]:
    dest = walk.destination
    return {
        "id": walk.id,
        "state": walk.state.value,
        "live": walk.live,
        "kind": "timer" if dest is None else "home",
        "destination": None
        if dest is None
        else {"name": dest.name, "lat": dest.lat, "lon": dest.lon, "radius": dest.radius_m},
        "started_at": walk.started_at,
        "expected_at": walk.expected_at,
        "ended_at": walk.ended_at,
        "last_position": _last_position(walk),
    }


def walk_view(conn: Connection, walk: Walk, audience: Audience) -> dict[str, Any]:
    view = _common(walk)
    view["you_are"] = audience.value
    if audience is Audience.WALKER:
        view["companions"] = companion_names(conn, walk.id)
    else:
        view["walker"] = {"id": walk.walker_id, "name": person_name(conn, walk.walker_id)}
    return view


def shared_view(conn: Connection, walk: Walk) -> dict[str, Any]:
    """Through a share link: what a companion sees, without anyone's account ids."""
    view = _common(walk)
    view["you_are"] = "link"
    view["walker"] = {"name": person_name(conn, walk.walker_id)}
    return view
