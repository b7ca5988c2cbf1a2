""" "I'm on it": a companion (or, once her alarm reached them, a guardian) says they are
acting on her alarm. It pauses the ladder for a while, not for good, and the others hear who
is on it: she too, unless the alarm is the silent one of her duress PIN (then her devices
hear of it only on an alarm they are shown of their own, as her real PIN's would have).

How long it holds the ladder: `ACK_PAUSES_MS` from the first "I'm on it" since the alarm last
climbed (or began), however often it is said again, and never sooner than it would climb
anyway. Renewed by each one, one companion who said it every nine minutes and did nothing (or
whoever held his phone) kept her alarm from her guardians, the hook and its repeats for as
long as he went on (an outside review). So each rung, and each repeat at the top, is held
back once, by ten minutes at most.

Each side of a duress PIN (the silent alarm, for those looking out for her; the alarm her
devices are shown, with a ladder of its own) counts its own rungs and its own "I'm on it":
his tap on the silent alarm before she was shown one, counted on hers, swallowed the one she
would have heard of with her real PIN (a review of this change).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.rules import ACK_PAUSES_MS, LADDER
from walkwithme.domain.walks import WalkState
from walkwithme.store.schema import events
from walkwithme.store.tx import Tx
from walkwithme.usecases import alerts, timeline
from walkwithme.usecases.alarms import audience_for
from walkwithme.usecases.helping import alarmed_walk_for_helper
from walkwithme.usecases.timeline import FOR_ALL, FOR_COMPANIONS, FOR_WALKER
from walkwithme.usecases.walk_columns import Judged
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import save
from walkwithme.usecases.walks import person_name

THEIRS = (FOR_ALL, FOR_COMPANIONS)  # what those looking out for her see
HERS = (FOR_ALL, FOR_WALKER)  # what her devices see


def acknowledge(tx: Tx, walk_id: int, person_id: int) -> None:
    """ "I'm on it" from `person_id`: the ladder paused, and the others told (`_tell`)."""
    walk = alarmed_walk_for_helper(tx, walk_id, person_id)
    cover = walk.cover
    shown = cover is not None and cover.state is WalkState.ALARM  # her devices' own alarm
    theirs = _rung(tx.conn, walk.id, walk.judged, THEIRS)
    paused: dict[str, Any] = {"escalate_at": _paused_until(tx, walk, walk.judged, theirs, THEIRS)}
    hers = None
    if shown and cover is not None and _reached_by(tx.conn, walk, cover.judged, person_id):
        # Her devices' alarm, paused as it would have been. (Not by a guardian only the
        # silent alarm reached: her real PIN's alarm would not have reached them yet, and
        # their "I'm on it" at its first minute gave her duress PIN away: a diff review.)
        hers = _rung(tx.conn, walk.id, cover.judged, HERS)
        paused["cover_escalate_at"] = _paused_until(tx, walk, cover.judged, hers, HERS)
    save(tx, walk, **paused)
    new_to_them = not _said_already(tx.conn, walk.id, person_id, theirs, THEIRS)
    if hers is None:
        if new_to_them:
            _tell(tx, walk, person_id, audience_for(walk))
        return
    new_to_her = not _said_already(tx.conn, walk.id, person_id, hers, HERS)
    if new_to_them and new_to_her:
        _tell(tx, walk, person_id, FOR_ALL)
    elif new_to_them:
        _tell(tx, walk, person_id, FOR_COMPANIONS)
    elif new_to_her:
        _tell(tx, walk, person_id, FOR_WALKER)


def _tell(tx: Tx, walk: Walk, person_id: int, audience: str) -> None:
    """On the timeline of `audience`, and to them: her, and her companions but him."""
    facts: dict[str, Any] = {"by": {"id": person_id, "name": person_name(tx.conn, person_id)}}
    event_id = timeline.record(
        tx, walk.id, "alarm_acknowledged", audience=audience, actor_id=person_id, **facts
    )
    others = [p for p in alerts.companion_ids(tx.conn, walk.id) if p != person_id]
    told = {
        FOR_ALL: [walk.walker_id, *others],
        FOR_COMPANIONS: others,
        FOR_WALKER: [walk.walker_id],
    }[audience]
    alerts.tell(tx, walk, "alarm_acknowledged", facts, told, event_id=event_id)


def _paused_until(tx: Tx, walk: Walk, judged: Judged, rung: int, seen: tuple[str, ...]) -> int:
    """Until when "I'm on it" holds this ladder (`judged`: the walk's, or the one her devices
    are shown, as `seen` sees it), its current rung begun with the event `rung`: the
    module's rule."""
    first = _on_it_since(tx.conn, walk.id, rung, seen)
    pause = (first.at if first is not None else tx.now_ms) + ACK_PAUSES_MS
    due = judged.escalate_at
    return pause if due is None else max(pause, due)


def _reached_by(conn: Connection, walk: Walk, judged: Judged, person_id: int) -> bool:
    """Whether this alarm (`judged`: the one her devices are shown) has reached this person:
    one of the walk's companions as her devices are shown it (one whose contact ended during
    the silent alarm alone is not: a duress review), or a guardian once its ladder climbed
    to them."""
    if person_id in alerts.companion_ids_shown(conn, walk):
        return True
    return (judged.escalation_level or 0) >= LADDER.index("guardians")


def _rung(conn: Connection, walk_id: int, judged: Judged, seen: tuple[str, ...]) -> int:
    """The event that began the alarm's current rung, as `seen` sees it: its last climb (or
    its saying again at the top), else the alarm's first event; 0 if none is found. Not any
    later "alarm" event, which says the same alarm more (three wrong PINs during it, the alarm
    her devices are shown, told to those looking out for her): taken for a new rung, a second
    "I'm on it" held the ladder twenty minutes (a diff review). By the events' order, not
    their times: a climb and a tap in the same millisecond are told apart."""

    def last(kind: str, newest: bool) -> int | None:
        found: int | None = conn.execute(
            sa.select(events.c.id)
            .where(
                events.c.walk_id == walk_id,
                events.c.kind == kind,
                events.c.at >= (judged.alarm_at or 0),
                events.c.audience.in_(seen),
            )
            .order_by(events.c.id.desc() if newest else events.c.id)
            .limit(1)
        ).scalar()
        return found

    climbed = last("alarm_escalated", newest=True)
    return climbed if climbed is not None else last("alarm", newest=False) or 0


def _on_it_since(conn: Connection, walk_id: int, rung: int, seen: tuple[str, ...]) -> Any:
    """The first "I'm on it" after the event `rung`, as `seen` sees it (or None)."""
    return conn.execute(
        sa.select(events.c.actor_id, events.c.at)
        .where(
            events.c.walk_id == walk_id,
            events.c.kind == "alarm_acknowledged",
            events.c.id > rung,
            events.c.audience.in_(seen),
        )
        .order_by(events.c.id)
        .limit(1)
    ).first()


def _said_already(
    conn: Connection, walk_id: int, person_id: int, rung: int, seen: tuple[str, ...]
) -> bool:
    """The last "I'm on it" since the rung began, as `seen` sees it, is this person's: a
    second tap, or a page sent twice, which holds the ladder no longer. Once it has climbed,
    his "I'm on it" is news to those it reached since."""
    last = conn.execute(
        sa.select(events.c.actor_id)
        .where(
            events.c.walk_id == walk_id,
            events.c.kind == "alarm_acknowledged",
            events.c.id > rung,
            events.c.audience.in_(seen),
        )
        .order_by(events.c.id.desc())
        .limit(1)
    ).first()
    return last is not None and last.actor_id == person_id
