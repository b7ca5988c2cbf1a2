"""The walker's part of the home page: the walk she can start (one big "Walk me home"), her
live walk if she is on one, the offers waiting for her answer, and her recent walks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.usecases import contacts, offer_views, walk_record, walks
from walkwithme.usecases.timeline import Audience
from walkwithme.web import walker_words, words

RECENT = 5

_OVER = {
    "safe": "got in safely",
    "ended": "ended early",
}


def _day(at_ms: int, tz: str) -> str:
    """ "Thu 28 May, 23:26", where she is."""
    return datetime.fromtimestamp(at_ms / 1000, words.zone(tz)).strftime("%a %d %b, %H:%M")


def _walk_line(walk: walk_record.Walk, now: int, tz: str) -> dict[str, Any]:
    dest = walk.destination
    where = f"to {dest.name}" if dest is not None and dest.name else "a walk"
    if dest is None:
        where = "a timer walk"
    state = walk.walker_state.value
    return {
        "id": walk.id,
        "what": f"{_day(walk.started_at, tz)}, {where}",
        "how": _OVER.get(state, "going on"),
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
            }
            if live is not None
            else None
        ),
        "has_companions": bool(contacts.accepted_companion_ids(conn, person_id)),
        "offers_waiting": waiting,
        "recent": [_walk_line(w, now, tz) for w in mine if not w.walker_live][:RECENT],
    }
