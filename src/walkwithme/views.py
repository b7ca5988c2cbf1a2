"""What each audience sees of a walk: two projections of the same rows, built on purpose.

The walker's view shows her companions; a companion's view shows the walker. Events reach
each side only if their stored audience says so, each side numbering its own without gaps (see
usecases/timeline.py). After her duress PIN, her view is the walk as her real PIN would have
left it (`Walk.walker_state`, `Walk.walker_view`, `walks.shown_until`): the silent alarm is in
the companions'. Where she is, for either side, is one function of the walk's own columns
(`_last_position`): her side's are only frozen where her devices' walk ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.usecases import retention
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walks import companion_names, person_name, under_duress


def _last_position(walk: Walk) -> dict[str, Any] | None:
    last = walk.last
    if last.at is None:
        return None
    return {
        "t": last.at,
        "lat": last.lat,
        "lon": last.lon,
        "accuracy": last.accuracy_m,
        "speed": last.speed_mps,
        "bearing": last.bearing_deg,
        "battery": last.battery_pct,
    }


def _common(walk: Walk, audience: Audience) -> dict[str, Any]:
    # Her own devices are shown the walk as her real PIN would have left it (a duress PIN's
    # silent alarm is for the others only).
    walker = audience is Audience.WALKER
    state = walk.walker_state if walker else walk.state
    where = walk.walker_view if walker else walk
    dest = where.destination
    return {
        "id": walk.id,
        "state": state.value,
        "live": walk.walker_live if walker else walk.live,
        "kind": "timer" if dest is None else "home",
        "destination": None
        if dest is None
        else {"name": dest.name, "lat": dest.lat, "lon": dest.lon, "radius": dest.radius_m},
        "started_at": walk.started_at,
        "expected_at": walk.expected_at,
        "ended_at": walk.walker_ended_at if walker else walk.ended_at,
        "last_position": _last_position(where),
        # Her phone's last sign of life without a position (a heartbeat); her own devices,
        # once her duress PIN ended the walk for them, see it as it was then (it goes on for
        # the others).
        "heard_at": where.heard_at,
        # What the watchdog judges it by (fixed when it started), so nobody is surprised.
        "thresholds": walk.profiles.as_json(),
        # For the people looking out for her only: her duress PIN's silent alarm is in force
        # (whatever alarm her devices are shown meanwhile), so nobody may call or message her.
        # And whether it made her end the walk (what her devices were shown is over): ending
        # the alarm ends the walk then, whatever the form says of it going on.
        **(
            {}
            if walker
            else {"duress": walk.covert, "over_for_her": walk.covert and not walk.walker_live}
        ),
    }


def walk_view(
    conn: Connection, walk: Walk, audience: Audience, viewer_id: int | None = None
) -> dict[str, Any]:
    """The walk as `audience` sees it; `viewer_id`: who (a companion's `duress` is true too
    while her duress PIN's silent alarm holds on another walk of hers he follows: the walk
    she started since is not one to call or message her on; walks.under_duress)."""
    view = _common(walk, audience)
    if view.get("duress") is False:
        view["duress"] = under_duress(conn, walk.walker_id, viewer_id)
    view["you_are"] = audience.value
    if audience is Audience.WALKER:
        view["companions"] = companion_names(conn, walk.id)
        if walk.walker_ended_at is not None:
            view["kept"] = retention.kept(conn, walk.id)
    else:
        view["walker"] = {"id": walk.walker_id, "name": person_name(conn, walk.walker_id)}
    return view


def shared_view(
    conn: Connection, walk: Walk, seen_as: Audience = Audience.COMPANION
) -> dict[str, Any]:
    """Through a share link: what a companion sees, without anyone's account ids. `seen_as`:
    a link she made shows the walk as her own devices see it (shares.walk_for_link)."""
    view = _common(walk, seen_as)
    view["you_are"] = "link"
    view["walker"] = {"name": person_name(conn, walk.walker_id)}
    return view
