"""Walks: start one, follow it, say "I'm inside", end it, extend it, talk inside it.

Who may see a walk is decided here, in one place (`audience_of`): the walker always; a
companion only while the walk is live, only if she was chosen for it, and only while the
contact between them still stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain import walks as rules
from walkwithme.domain.errors import Conflict, Invalid, NotFound
from walkwithme.domain.geo import distance_m, expected_duration_ms
from walkwithme.domain.walks import LIVE_STATES, Destination, WalkState
from walkwithme.store.schema import insert_id, people, walk_companions, walks
from walkwithme.store.writer import Tx
from walkwithme.usecases import contacts, timeline
from walkwithme.usecases.timeline import Audience

_LIVE = [s.value for s in LIVE_STATES]
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Walk:
    id: int
    walker_id: int
    state: WalkState
    destination: Destination
    pace_mps: float
    started_at: int
    expected_at: int
    ended_at: int | None
    last_fix_at: int | None
    last_lat: float | None
    last_lon: float | None
    last_accuracy_m: float | None
    last_speed_mps: float | None
    last_bearing_deg: float | None
    last_battery_pct: float | None

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


_WALK_COLUMNS = [c for c in walks.c if c.name != "pin_hash"]


def _walk(row: Any) -> Walk:
    return Walk(
        id=row.id,
        walker_id=row.walker_id,
        state=WalkState(row.state),
        destination=Destination(row.dest_lat, row.dest_lon, row.dest_radius_m, row.dest_name),
        pace_mps=row.pace_mps,
        started_at=row.started_at,
        expected_at=row.expected_at,
        ended_at=row.ended_at,
        last_fix_at=row.last_fix_at,
        last_lat=row.last_lat,
        last_lon=row.last_lon,
        last_accuracy_m=row.last_accuracy_m,
        last_speed_mps=row.last_speed_mps,
        last_bearing_deg=row.last_bearing_deg,
        last_battery_pct=row.last_battery_pct,
    )


def get_walk(conn: Connection, walk_id: int) -> Walk | None:
    row = conn.execute(sa.select(*_WALK_COLUMNS).where(walks.c.id == walk_id)).first()
    return _walk(row) if row else None


def live_walk_of(conn: Connection, walker_id: int) -> Walk | None:
    row = conn.execute(
        sa.select(*_WALK_COLUMNS).where(walks.c.walker_id == walker_id, walks.c.state.in_(_LIVE))
    ).first()
    return _walk(row) if row else None


def audience_of(
    conn: Connection, walk: Walk, person_id: int, *, finished_ok: bool = False
) -> Audience | None:
    """The one rule for who sees a walk. None means: nothing at all, not even that it exists.

    `finished_ok` is only for a live stream that was following the walk when it ended, so the
    companion sees how it ended before the stream closes.
    """
    if walk.walker_id == person_id:
        return Audience.WALKER
    if not walk.live and not finished_ok:
        return None
    chosen = conn.execute(
        sa.select(walk_companions.c.person_id).where(
            walk_companions.c.walk_id == walk.id, walk_companions.c.person_id == person_id
        )
    ).first()
    if chosen and contacts.is_accepted_companion(conn, walk.walker_id, person_id):
        return Audience.COMPANION
    return None


def visible_walk(conn: Connection, walk_id: int, person_id: int) -> tuple[Walk, Audience]:
    walk = get_walk(conn, walk_id)
    audience = audience_of(conn, walk, person_id) if walk else None
    if walk is None or audience is None:
        raise NotFound("no such walk")
    return walk, audience


def walker_of(conn: Connection, walk_id: int) -> int | None:
    row = conn.execute(sa.select(walks.c.walker_id).where(walks.c.id == walk_id)).first()
    return row.walker_id if row else None


def pin_hash_of(conn: Connection, walk_id: int, walker_id: int) -> str:
    """For the walker's own PIN checks (which happen outside the writer: argon2 is slow)."""
    row = conn.execute(
        sa.select(walks.c.pin_hash).where(walks.c.id == walk_id, walks.c.walker_id == walker_id)
    ).first()
    if row is None:
        raise NotFound("no such walk")
    return str(row.pin_hash)


def companion_names(conn: Connection, walk_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(people.c.id, people.c.name)
        .join(walk_companions, walk_companions.c.person_id == people.c.id)
        .where(walk_companions.c.walk_id == walk_id)
        .order_by(people.c.id)
    )
    return [{"id": r.id, "name": r.name} for r in rows]


def person_name(conn: Connection, person_id: int) -> str:
    return str(conn.execute(sa.select(people.c.name).where(people.c.id == person_id)).scalar_one())


def walks_of(conn: Connection, person_id: int) -> list[tuple[Walk, Audience]]:
    """Her own walks (newest first), and the live walks she follows."""
    own = conn.execute(
        sa.select(*_WALK_COLUMNS)
        .where(walks.c.walker_id == person_id)
        .order_by(walks.c.id.desc())
        .limit(50)
    )
    result = [(_walk(r), Audience.WALKER) for r in own]
    followed = conn.execute(
        sa.select(*_WALK_COLUMNS)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(walk_companions.c.person_id == person_id, walks.c.state.in_(_LIVE))
        .order_by(walks.c.id.desc())
    )
    for row in followed:
        walk = _walk(row)
        if audience_of(conn, walk, person_id) is Audience.COMPANION:
            result.append((walk, Audience.COMPANION))
    return result


# -- starting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkPlan:
    """A checked request to start a walk; the PIN already hashed."""

    destination: Destination
    pin_hash: str
    pace_mps: float
    origin: tuple[float, float] | None = None
    minutes: int | None = None
    companion_ids: tuple[int, ...] | None = None  # None: all her accepted companions


MAX_WALK_MIN = 240


def expected_arrival(plan: WalkPlan, started_at: int) -> int:
    if plan.minutes is not None:
        if not 1 <= plan.minutes <= MAX_WALK_MIN:
            raise Invalid(f"minutes must be between 1 and {MAX_WALK_MIN}", field="minutes")
        return started_at + plan.minutes * MINUTE_MS
    if plan.origin is None:
        raise Invalid("give where the walk starts (from) or how long it takes (minutes)")
    lat, lon = plan.origin
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid("from must be a valid position", field="from")
    straight = distance_m(lat, lon, plan.destination.lat, plan.destination.lon)
    return started_at + expected_duration_ms(straight, plan.pace_mps)


def start_walk(tx: Tx, walker_id: int, plan: WalkPlan) -> int:
    if live_walk_of(tx.conn, walker_id) is not None:
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
        raise Invalid(
            "nobody would follow this walk: ask someone to be your companion first",
            field="companions",
        )
    expected_at = expected_arrival(plan, tx.now_ms)
    dest = plan.destination
    walk_id: int = insert_id(
        tx.conn,
        walks,
        walker_id=walker_id,
        state=WalkState.ACTIVE.value,
        dest_name=dest.name,
        dest_lat=dest.lat,
        dest_lon=dest.lon,
        dest_radius_m=dest.radius_m,
        pace_mps=plan.pace_mps,
        pin_hash=plan.pin_hash,
        started_at=tx.now_ms,
        expected_at=expected_at,
        next_due_at=expected_at,
    )
    tx.conn.execute(
        walk_companions.insert(), [{"walk_id": walk_id, "person_id": p} for p in sorted(chosen)]
    )
    timeline.record(
        tx,
        walk_id,
        "started",
        actor_id=walker_id,
        destination=dest.name,
        expected_at=expected_at,
        companions=[c["name"] for c in companion_names(tx.conn, walk_id)],
    )
    return walk_id


# -- the walker's PIN moments ------------------------------------------------------------------


def _move(tx: Tx, walk: Walk, target: WalkState, **values: Any) -> None:
    """A transition as a conditional update on the state it was decided from."""
    rules.transition(walk.state, target)
    done = tx.conn.execute(
        walks.update()
        .where(walks.c.id == walk.id, walks.c.state == walk.state.value)
        .values(state=target.value, **values)
    )
    if done.rowcount != 1:
        raise Conflict("the walk changed meanwhile; try again")


def own_live_walk(tx: Tx, walk_id: int, walker_id: int) -> Walk:
    walk = get_walk(tx.conn, walk_id)
    if walk is None or walk.walker_id != walker_id:
        raise NotFound("no such walk")
    if not walk.live:
        raise Conflict(f"this walk is over ({walk.state.value})")
    return walk


def refuse_pin(tx: Tx, walk_id: int, walker_id: int, action: str) -> None:
    """A wrong PIN changes nothing but is on the timeline (the watchdog will count them)."""
    own_live_walk(tx, walk_id, walker_id)
    timeline.record(tx, walk_id, "pin_refused", actor_id=walker_id, action=action)


def confirm_inside(tx: Tx, walk_id: int, walker_id: int, note: str | None) -> None:
    walk = own_live_walk(tx, walk_id, walker_id)
    _move(tx, walk, WalkState.SAFE, ended_at=tx.now_ms, next_due_at=None)
    timeline.record(
        tx,
        walk_id,
        "inside",
        actor_id=walker_id,
        note=_note(note),
        at_door=walk.state is WalkState.AT_DOOR,
    )


def end_walk(tx: Tx, walk_id: int, walker_id: int, note: str | None) -> None:
    walk = own_live_walk(tx, walk_id, walker_id)
    _move(tx, walk, WalkState.ENDED, ended_at=tx.now_ms, next_due_at=None)
    timeline.record(tx, walk_id, "ended", actor_id=walker_id, note=_note(note))


def extend_walk(tx: Tx, walk_id: int, walker_id: int, minutes: int) -> int:
    rules.check_extension(minutes)
    walk = own_live_walk(tx, walk_id, walker_id)
    expected_at = max(walk.expected_at, tx.now_ms) + minutes * MINUTE_MS
    tx.conn.execute(
        walks.update()
        .where(walks.c.id == walk_id)
        .values(expected_at=expected_at, next_due_at=expected_at)
    )
    timeline.record(
        tx, walk_id, "extended", actor_id=walker_id, minutes=minutes, expected_at=expected_at
    )
    return expected_at


def post_message(tx: Tx, walk_id: int, person_id: int, text: str, quick: bool) -> int:
    walk = get_walk(tx.conn, walk_id)
    audience = audience_of(tx.conn, walk, person_id) if walk else None
    if walk is None or audience is None:
        raise NotFound("no such walk")
    if not walk.live:
        raise Conflict(f"this walk is over ({walk.state.value})")
    cleaned = rules.check_message(text)
    if quick and cleaned not in rules.QUICK_REPLIES:
        raise Invalid("not one of the quick replies", field="text")
    return timeline.record(
        tx,
        walk_id,
        "message",
        actor_id=person_id,
        sender={"id": person_id, "name": person_name(tx.conn, person_id)},
        text=cleaned,
        quick=quick,
    )


def _note(note: str | None) -> str | None:
    return rules.check_message(note) if note else None
