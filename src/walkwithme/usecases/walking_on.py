"""She gets nearer her door again during an alarm that said she didn't: everyone looking for
her is told, once an alarm, with where she is now. An alarm raised because she stood still,
walked away or was late (or didn't answer "Are you OK?" asked for one of those) said nothing
more while she walked home for eight minutes (an outside replay): the people looking for her
were left with the worst of it. The alarm goes on (only a person ends it); they know she is
on her way again, and where. Not after her duress PIN (whoever made her give it may walk her
anywhere), nor for an alarm she raised herself, her phone's silence (`heard_again` says that)
or a vehicle.
"""

from __future__ import annotations

from typing import Any

from walkwithme.domain.rules import Reason
from walkwithme.store.tx import Tx
from walkwithme.usecases import helping, timeline
from walkwithme.usecases.walk_record import Walk

KIND = "walking_on"  # its event's kind, and its alert's

# What her getting nearer again answers: the alarms about her progress.
_ABOUT_PROGRESS = frozenset({Reason.LATE.value, Reason.STALLED.value, Reason.MOVING_AWAY.value})


def is_news(walk: Walk, nearer_at: int | None) -> bool:
    """Whether a batch that got her nearer at `nearer_at` may be news to those looking for
    her (`said_already` reads whether it was said)."""
    since = walk.alarm_since
    if since is None or walk.covert or nearer_at is None or nearer_at <= since:
        return False
    return (
        walk.judged.alarm_reason in _ABOUT_PROGRESS
        or walk.judged.alarm_reason == Reason.NO_ANSWER.value
    )


_LOOKING = (timeline.FOR_ALL, timeline.FOR_COMPANIONS)


def said_already(tx: Tx, walk: Walk) -> bool:
    """Said in this alarm, or not to be (an unanswered question asked for another reason):
    the writer's memo remembers it, so that each later batch of her walking on reads
    nothing more."""
    key = (KIND, walk.id, walk.alarm_since)
    if tx.memo.get(key):
        return True
    since = walk.alarm_since or 0
    done = timeline.last_event(tx.conn, walk.id, KIND, since=since, seen_by=_LOOKING) is not None
    if not done and walk.judged.alarm_reason == Reason.NO_ANSWER.value:
        alarm = timeline.last_event(tx.conn, walk.id, "alarm", since=since, seen_by=_LOOKING)
        done = alarm is None or alarm.data.get("asked_because") not in _ABOUT_PROGRESS
    if done:
        tx.memo[key] = True
    return done


def say(
    tx: Tx, walk: Walk, reached: helping.Reached, position: dict[str, Any], left_m: float
) -> None:
    """On everyone's timeline and to everyone the alarm reached so far: once an alarm (the
    caller asks `said_already` first)."""
    facts: dict[str, Any] = {
        "reason": walk.judged.alarm_reason,
        "position": position,
        "left_m": round(left_m),
    }
    event_id = timeline.record(tx, walk.id, KIND, audience=timeline.FOR_ALL, **facts)
    reached.tell(tx, walk, KIND, facts, event_id)
    tx.memo[(KIND, walk.id, walk.alarm_since)] = True
