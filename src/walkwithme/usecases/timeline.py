"""A walk's timeline: every state change, message and notice is an event row, written in the
same transaction as the change itself. The row's audience says who may ever see it.

Each side numbers the events it may see on its own (`walker_seq`, `companion_seq`), without
gaps: that number is the event's `id` for that side and its stream cursor. An event kept from
the walker (the silent alarm of her duress PIN) leaves no hole in her numbering to give it away.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.store.schema import events, fixes, insert_id
from walkwithme.store.tx import Tx


class Audience(StrEnum):
    """Who looks at a walk: the walker herself, or someone following her."""

    WALKER = "walker"
    COMPANION = "companion"


# Event audiences as stored: everybody on the walk, or one side only.
FOR_ALL = "all"
FOR_WALKER = "walker"
FOR_COMPANIONS = "companions"

_VISIBLE = {
    Audience.WALKER: (FOR_ALL, FOR_WALKER),
    Audience.COMPANION: (FOR_ALL, FOR_COMPANIONS),
}
_SEQ = {Audience.WALKER: events.c.walker_seq, Audience.COMPANION: events.c.companion_seq}
_LAST_SEQ = sa.select(sa.func.max(events.c.walker_seq), sa.func.max(events.c.companion_seq)).where(
    events.c.walk_id == sa.bindparam("walk_id")
)


# What, in an event's facts or an alert's payload, says where: dropped at any depth.
LOCATING = frozenset(
    {
        "lat",
        "lon",
        "accuracy",
        "accuracy_m",
        "position",
        "last_position",
        "destination",
        "from",
        "place",
        "route",
        "points",
        "link",
        "link_path",
        "url",
        "share_url",
        "answer_url",
    }
)


def scrub(value: Any) -> Any:
    """`value` with every locating key removed, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in LOCATING}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def record(
    tx: Tx,
    walk_id: int,
    kind: str,
    *,
    audience: str = FOR_ALL,
    actor_id: int | None = None,
    **data: Any,
) -> int:
    """Add an event; returns its row id (for alerts; never shown: each side sees its own
    number, `seq_of`)."""
    last_walker, last_companion = tx.conn.execute(_LAST_SEQ, {"walk_id": walk_id}).one()
    event_id: int = insert_id(
        tx.conn,
        events,
        walk_id=walk_id,
        at=tx.now_ms,
        kind=kind,
        audience=audience,
        actor_id=actor_id,
        data=data,
        walker_seq=(last_walker or 0) + 1 if audience in _VISIBLE[Audience.WALKER] else None,
        companion_seq=(last_companion or 0) + 1
        if audience in _VISIBLE[Audience.COMPANION]
        else None,
    )
    tx.touch(walk_id, events=True)
    return event_id


def record_shown(tx: Tx, walk_id: int, kind: str, *, covert: bool, **data: Any) -> int:
    """An event of the walk her devices are shown ("Are you OK?" asked, taken back): for
    everyone; after her duress PIN (`covert`), for her devices, with the cover's line
    (`"cover": true`) for the people looking for her. Returns the first one's id."""
    event_id = record(tx, walk_id, kind, audience=FOR_WALKER if covert else FOR_ALL, **data)
    if covert:
        record(tx, walk_id, kind, audience=FOR_COMPANIONS, cover=True, **data)
    return event_id


def last_event(
    conn: Connection,
    walk_id: int,
    kind: str,
    *,
    since: int = 0,
    seen_by: tuple[str, ...] = (FOR_ALL, FOR_WALKER, FOR_COMPANIONS),
    first: bool = False,
) -> Any:
    """The walk's latest event of this kind since `since` (or, `first`, its earliest), among
    those stored for `seen_by`: a row of `actor_id`, `at` and `data`, or None."""
    order = events.c.id if first else events.c.id.desc()
    return conn.execute(
        sa.select(events.c.actor_id, events.c.at, events.c.data)
        .where(
            events.c.walk_id == walk_id,
            events.c.kind == kind,
            events.c.at >= since,
            events.c.audience.in_(seen_by),
        )
        .order_by(order)
        .limit(1)
    ).first()


def seq_of(conn: Connection, event_id: int, audience: Audience) -> int:
    """The number an event has for one side (which must be able to see it)."""
    return int(conn.execute(sa.select(_SEQ[audience]).where(events.c.id == event_id)).scalar_one())


def events_after(
    conn: Connection,
    walk_id: int,
    after_id: int,
    audience: Audience,
    limit: int = 500,
    *,
    scrubbed: bool = False,
) -> list[dict[str, Any]]:
    """One side's events after its number `after_id`. `scrubbed`: without anything that says
    where (what a forgotten walk keeps: `walks.forgotten_for`)."""
    seq = _SEQ[audience]
    rows = conn.execute(
        sa.select(seq.label("seq"), events.c.at, events.c.kind, events.c.data)
        .where(events.c.walk_id == walk_id, seq > after_id)
        .order_by(seq)
        .limit(limit)
    )
    return [
        {"id": r.seq, "at": r.at, "kind": r.kind, **(scrub(r.data) if scrubbed else r.data)}
        for r in rows
    ]


def fixes_after(
    conn: Connection,
    walk_id: int,
    after_id: int,
    limit: int = 1000,
    *,
    until_seq: int | None = None,
) -> list[dict[str, Any]]:
    """Trusted fixes only: flagged ones stay out of the map. In arrival order (by their
    number in the walk's track, `seq`, which is their `id` and the cursor), each with its own
    time `t`, so a fix that arrived late is still drawn where it belongs.
    `until_seq`: only the track up to that number (what her devices see of a walk that, for
    them, ended then: `walks.shown_until`)."""
    until = fixes.c.seq <= until_seq if until_seq is not None else sa.true()
    rows = conn.execute(
        sa.select(fixes.c.seq, *_POSITION)
        .where(fixes.c.walk_id == walk_id, fixes.c.seq > after_id, fixes.c.flag.is_(None), until)
        .order_by(fixes.c.seq)
        .limit(limit)
    )
    return [{"id": r.seq, **position(r)} for r in rows]


# What a fix shows of where she was: its time, place, accuracy, speed, heading and battery.
_POSITION = (
    fixes.c.taken_at,
    fixes.c.lat,
    fixes.c.lon,
    fixes.c.accuracy_m,
    fixes.c.speed_mps,
    fixes.c.bearing_deg,
    fixes.c.battery_pct,
)


def shown_fix(seq: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """A fix as `fixes_after` shows it, from the values it was stored with."""
    return {
        "id": seq,
        "t": values["taken_at"],
        "lat": values["lat"],
        "lon": values["lon"],
        "accuracy": values["accuracy_m"],
        "speed": values["speed_mps"],
        "bearing": values["bearing_deg"],
        "battery": values["battery_pct"],
    }


def position(row: Any) -> dict[str, Any]:
    """A position as the API shows it, from a fix's row (or a walk's last fix)."""
    return {
        "t": row.taken_at,
        "lat": row.lat,
        "lon": row.lon,
        "accuracy": row.accuracy_m,
        "speed": row.speed_mps,
        "bearing": row.bearing_deg,
        "battery": row.battery_pct,
    }
