"""The walker's part of the home page: the walk she can start (one big "Walk me home"), her
live walk if she is on one, the offers waiting for her answer, and her recent walks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.domain.walks import WalkState
from walkwithme.usecases import contacts, offer_views, timeline, walk_record, walks
from walkwithme.usecases.timeline import FOR_ALL, FOR_WALKER, Audience
from walkwithme.web import walker_words, words

RECENT = 5

_OVER = {
    "safe": "got in safely",
    "ended": "ended early",
}


def _how_it_ended(conn: Connection, walk: walk_record.Walk) -> str:
    """How a walk of hers went, as her devices saw it: "got in safely" said of a walk that
    had two alarms and ended with Noor finding her at a café (the story played through the
    pages)."""
    state = walk.walker_state.value
    how = _OVER.get(state, "going on")
    if state not in _OVER:
        return how
    hers = (FOR_ALL, FOR_WALKER)  # (after her duress PIN: what her real PIN would have shown)
    inside = timeline.last_event(conn, walk.id, "inside", seen_by=hers)
    by = inside.data.get("by") if inside is not None else None
    if state == "safe" and isinstance(by, dict):
        how = f"safe: {by.get('name', 'someone')} said so"
    if timeline.last_event(conn, walk.id, "alarm", seen_by=hers) is not None:
        how += ", after an alarm"
    return how


def _walk_line(conn: Connection, walk: walk_record.Walk, now: int, tz: str) -> dict[str, Any]:
    # As her devices are shown it: after her duress PIN, a walk they were shown forgotten has
    # no destination, as with her real PIN (it named the one walk kept 90 days for its
    # alarm: a duress review).
    dest = walk.walker_view.destination
    where = f"to {dest.name}" if dest is not None and dest.name else "a walk"
    if dest is None:
        where = "a timer walk"
    return {
        "id": walk.id,
        # Said as every other page says a day (words.day_time: "yesterday at 23:26", "Thu 28
        # May at 23:26"): her walks said "Sun 06 Dec, 19:48", her next walk "Mon 7 Dec ...".
        "what": f"{words.day_time(walk.started_at, now, tz)}, {where}",
        "how": _how_it_ended(conn, walk),
    }


def walker_part(conn: Connection, person_id: int, now: int, tz: str) -> dict[str, Any]:
    mine = [w for w, audience in walks.walks_of(conn, person_id) if audience is Audience.WALKER]
    live = next((w for w in mine if w.walker_live), None)
    waiting = []
    for offer in offer_views.received(conn, person_id, now):
        name = str(offer["from"]["name"])
        if offer["state"] == "pending":
            at = int(offer["at"])
            waiting.append(
                {
                    "id": offer["id"],
                    "name": name,
                    "when": "now" if at <= now else words.day_time(at, now, tz),
                }
            )
    return {
        "my_walk": (
            {
                "id": live.id,
                "sentence": walker_words.state_sentence(live.walker_state.value),
                "since": words.when(live.started_at, now, tz),
                # As her walk page shows it (her duress PIN's cover too): an alarm or a
                # question waiting stood in the calm card (an outside review).
                "alarm": live.walker_state is WalkState.ALARM,
                "asked": live.walker_judged.check_reason is not None,
            }
            if live is not None
            else None
        ),
        "has_companions": bool(contacts.accepted_companion_ids(conn, person_id)),
        "offers_waiting": waiting,
        "recent": [
            _walk_line(conn, w, now, tz) for w in [w for w in mine if not w.walker_live][:RECENT]
        ],
    }
