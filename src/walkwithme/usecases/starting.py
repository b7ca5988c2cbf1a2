"""Starting a walk: the plan (where to, who follows, her PINs, when it is due), its expected
arrival (along the streets when the server has them), and the start itself, which tells its
companions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict, Invalid
from walkwithme.domain.geo import distance_m, expected_duration_ms, walking_duration_ms
from walkwithme.domain.profiles import DEFAULT_PROFILES, Profiles
from walkwithme.domain.rules import Watch, next_due_at
from walkwithme.domain.walks import Destination, WalkState
from walkwithme.store.schema import insert_id, walk_companions, walks
from walkwithme.store.tx import Tx
from walkwithme.streets import StreetMap
from walkwithme.usecases import alerts, contacts, timeline
from walkwithme.usecases.walk_record import MINUTE_MS, profiles_json
from walkwithme.usecases.walk_store import get_walk, live_walk_of
from walkwithme.usecases.walks import companion_names


@dataclass(frozen=True)
class WalkPlan:
    """A checked request to start a walk; the PIN already hashed."""

    destination: Destination | None  # None: a timer walk, due at `minutes` or `due_at`
    pin_hash: str
    pace_mps: float
    timezone: str = "UTC"
    origin: tuple[float, float] | None = None
    minutes: int | None = None
    due_at: int | None = None
    companion_ids: tuple[int, ...] | None = None  # None: all her accepted companions
    duress_pin_hash: str | None = None
    # The thresholds it will be judged by: the operator's, hers and the walk's own settings.
    profiles: Profiles = DEFAULT_PROFILES


MAX_WALK_MIN = 240


def expected_arrival(plan: WalkPlan, started_at: int, streets: StreetMap | None = None) -> int:
    """When she should be home: the time she gave, or her pace over the way from where she
    starts, along the streets when both ends are on the street map, else the straight line
    with an allowance for streets not being straight."""
    if plan.origin is not None and not (
        -90 <= plan.origin[0] <= 90 and -180 <= plan.origin[1] <= 180
    ):
        # Checked whatever sets the arrival: it is kept on the timeline.
        raise Invalid("from must be a valid position", field="from")
    if plan.due_at is not None:
        if not started_at < plan.due_at <= started_at + MAX_WALK_MIN * MINUTE_MS:
            raise Invalid(f"due_at must be in the next {MAX_WALK_MIN} minutes", field="due_at")
        return plan.due_at
    if plan.minutes is not None:
        if not 1 <= plan.minutes <= MAX_WALK_MIN:
            raise Invalid(f"minutes must be between 1 and {MAX_WALK_MIN}", field="minutes")
        return started_at + plan.minutes * MINUTE_MS
    if plan.origin is None or plan.destination is None:
        raise Invalid(
            "give where the walk starts (from), how long it takes (minutes), or when "
            "to check on you (due_at)"
        )
    lat, lon = plan.origin
    dest = plan.destination
    along = streets.walking_distance((lat, lon), (dest.lat, dest.lon)) if streets else None
    straight = distance_m(lat, lon, dest.lat, dest.lon)
    if along is not None:
        duration = walking_duration_ms(along, plan.pace_mps)
    else:
        duration = expected_duration_ms(straight, plan.pace_mps)
    if duration > MAX_WALK_MIN * MINUTE_MS:
        # One wrong digit in a latitude is a place 100 km away: a walk "expected" tomorrow
        # morning, whose late alarm would come then (an outside review started one).
        raise Invalid(
            f"that place is {straight / 1000:,.0f} km from where you are, more than "
            f"{MAX_WALK_MIN // 60} hours' walk: check where you are going",
            field="destination",
        )
    return started_at + duration


def could_start(conn: Connection, walker_id: int) -> bool:
    """She has someone to follow her and no walk going on (what `start_walk` will check)."""
    current = live_walk_of(conn, walker_id)
    busy = current is not None and current.walker_live
    return not busy and bool(contacts.accepted_companion_ids(conn, walker_id))


def start_walk(tx: Tx, walker_id: int, plan: WalkPlan, streets: StreetMap | None = None) -> int:
    current = live_walk_of(tx.conn, walker_id)
    if current is not None and current.walker_live:
        # (A walk held open by the silent alarm of her duress PIN is over for her devices.)
        raise Conflict("you are on a walk already: end it before starting another")
    accepted = contacts.accepted_companion_ids(tx.conn, walker_id)
    if plan.companion_ids is None:
        chosen = accepted
    else:
        strangers = set(plan.companion_ids) - accepted
        if strangers:
            raise Invalid(
                f"not your companion: {', '.join(map(str, sorted(strangers)))}",
                field="companions",
            )
        chosen = set(plan.companion_ids)
    if not chosen:
        # With companions, none chosen: said so, not "ask someone first" to a walker who had
        # (an accessibility review of the start page).
        raise Invalid(
            "nobody would follow this walk: choose at least one of your companions"
            if accepted
            else "nobody would follow this walk: ask someone to be your companion first",
            field="companions",
        )
    expected_at = expected_arrival(plan, tx.now_ms, streets)
    dest = plan.destination
    timer = dest is None
    first_look = next_due_at(
        Watch(
            state=WalkState.ACTIVE,
            started_at=tx.now_ms,
            expected_at=expected_at,
            last_fix_at=None,
            progress_at=tx.now_ms,
            away_since=None,
            door_at=None,
            check_reason=None,
            check_asked_at=None,
            quiet_until=None,
            timer=timer,
            profiles=plan.profiles,
        )
    )
    walk_id: int = insert_id(
        tx.conn,
        walks,
        walker_id=walker_id,
        state=WalkState.ACTIVE.value,
        dest_name=dest.name if dest else None,
        dest_lat=dest.lat if dest else None,
        dest_lon=dest.lon if dest else None,
        dest_radius_m=dest.radius_m if dest else None,
        pace_mps=plan.pace_mps,
        pin_hash=plan.pin_hash,
        duress_pin_hash=plan.duress_pin_hash,
        timezone=plan.timezone,
        started_at=tx.now_ms,
        expected_at=expected_at,
        progress_at=tx.now_ms,
        next_due_at=first_look,
        profiles=profiles_json(plan.profiles),
    )
    tx.conn.execute(
        walk_companions.insert(), [{"walk_id": walk_id, "person_id": p} for p in sorted(chosen)]
    )
    facts: dict[str, Any] = {
        "destination": dest.name if dest else None,
        "timer": timer,
        "expected_at": expected_at,
        "companions": [c["name"] for c in companion_names(tx.conn, walk_id)],
    }
    # Where she set out from stays with the walk (its route is drawn from there), on the
    # timeline only: the alerts that tell of the start don't carry it off the server.
    origin: dict[str, Any] = (
        {"from": {"lat": plan.origin[0], "lon": plan.origin[1]}} if plan.origin else {}
    )
    event_id = timeline.record(tx, walk_id, "started", actor_id=walker_id, **facts, **origin)
    walk = get_walk(tx.conn, walk_id)
    assert walk is not None
    alerts.tell(tx, walk, "started", facts, sorted(chosen), event_id=event_id)
    return walk_id
