"""A walk's timeline: every state change, message and notice is an event row, written in the
same transaction as the change itself. The row's audience says who may ever see it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.store.schema import events, fixes, insert_id
from walkwithme.store.writer import Tx


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


def record(
    tx: Tx,
    walk_id: int,
    kind: str,
    *,
    audience: str = FOR_ALL,
    actor_id: int | None = None,
    **data: Any,
) -> int:
    event_id: int = insert_id(
        tx.conn,
        events,
        walk_id=walk_id,
        at=tx.now_ms,
        kind=kind,
        audience=audience,
        actor_id=actor_id,
        data=data,
    )
    tx.touch(walk_id, events=True)
    return event_id


def events_after(
    conn: Connection, walk_id: int, after_id: int, audience: Audience, limit: int = 500
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(events.c.id, events.c.at, events.c.kind, events.c.data)
        .where(
            events.c.walk_id == walk_id,
            events.c.id > after_id,
            events.c.audience.in_(_VISIBLE[audience]),
        )
        .order_by(events.c.id)
        .limit(limit)
    )
    return [{"id": r.id, "at": r.at, "kind": r.kind, **r.data} for r in rows]


def fixes_after(
    conn: Connection, walk_id: int, after_id: int, limit: int = 1000
) -> list[dict[str, Any]]:
    """Trusted fixes only: flagged ones stay out of the map. In arrival order (by id), each
    with its own time `t`, so a fix that arrived late is still drawn where it belongs."""
    rows = conn.execute(
        sa.select(
            fixes.c.id,
            fixes.c.taken_at,
            fixes.c.lat,
            fixes.c.lon,
            fixes.c.accuracy_m,
            fixes.c.speed_mps,
            fixes.c.bearing_deg,
            fixes.c.battery_pct,
        )
        .where(fixes.c.walk_id == walk_id, fixes.c.id > after_id, fixes.c.flag.is_(None))
        .order_by(fixes.c.id)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "t": r.taken_at,
            "lat": r.lat,
            "lon": r.lon,
            "accuracy": r.accuracy_m,
            "speed": r.speed_mps,
            "bearing": r.bearing_deg,
            "battery": r.battery_pct,
        }
        for r in rows
    ]
