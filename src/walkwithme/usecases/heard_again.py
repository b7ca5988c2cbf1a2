"""Her phone heard again during an alarm, after a silence: everyone looking for her is told,
with where it is now. Her phone died, was switched off or taken, or she was underground: the
alarm they acted on said it went silent, and a guardian told by text message sees no map.
The alarm goes on (only a person ends it); they know her phone is alive, and where.
"""

from __future__ import annotations

from typing import Any

from walkwithme.domain.rules import MINUTE, profile_at
from walkwithme.domain.walks import WalkState
from walkwithme.store.tx import Tx
from walkwithme.usecases import helping, timeline
from walkwithme.usecases.walk_record import Walk

KIND = "reporting_again"  # its event's kind, and its alert's

# A silence is one when her phone said nothing for the silent rule's time and a minute more: a
# phone that reports just at the rule's time (some battery savers do) is not "back" each time.
SILENCE_MARGIN_MS = 1 * MINUTE
# Said again at most this often in one alarm: a phone that keeps dropping out is news once in
# a while to the people looking for her, not a text message every few minutes.
TOLD_AGAIN_AFTER_MS = 10 * MINUTE


def silence_before(walk: Walk, heard_at: int | None, now_ms: int) -> int | None:
    """How long her phone had been silent, if this batch (heard last at `heard_at`, its
    newest fix's time or when it reached the service) ends a silence during an alarm."""
    if walk.state is not WalkState.ALARM or heard_at is None:
        return None
    before = max(walk.last.at or walk.started_at, walk.heard_at or 0)
    if heard_at <= before:
        return None
    silent = now_ms - before
    limit = profile_at(now_ms, walk.timezone, walk.profiles).silent_ms + SILENCE_MARGIN_MS
    return silent if silent >= limit else None


def say(
    tx: Tx,
    walk: Walk,
    reached: helping.Reached,
    silent_ms: int,
    position: dict[str, Any] | None,
) -> None:
    """On the timelines of those who see the alarm, and to everyone it reached so far; at most
    every `TOLD_AGAIN_AFTER_MS`. After her duress PIN, her devices see it only as her real
    PIN's walk would have shown it: when they are shown an alarm (her cover's, which no
    one is told of)."""
    facts: dict[str, Any] = {"silent_ms": silent_ms, "position": position}
    cover = walk.cover
    # (Said to everyone before her duress PIN made the cover, it counts for both sides.)
    looking = (timeline.FOR_ALL, timeline.FOR_COMPANIONS)
    if not _said_lately(tx, walk.id, walk.judged.alarm_at, looking):
        audience = timeline.FOR_ALL if cover is None else timeline.FOR_COMPANIONS
        event_id = timeline.record(tx, walk.id, KIND, audience=audience, **facts)
        reached.tell(tx, walk, KIND, facts, event_id)
    if cover is None or cover.state is not WalkState.ALARM:
        return
    if not _said_lately(
        tx, walk.id, cover.judged.alarm_at, (timeline.FOR_ALL, timeline.FOR_WALKER)
    ):
        timeline.record(tx, walk.id, KIND, audience=timeline.FOR_WALKER, **facts)


def _said_lately(tx: Tx, walk_id: int, alarm_at: int | None, seen_by: tuple[str, ...]) -> bool:
    """Said to `seen_by` in this alarm (raised at `alarm_at`) in the last
    `TOLD_AGAIN_AFTER_MS`."""
    since = max(alarm_at or 0, tx.now_ms - TOLD_AGAIN_AFTER_MS)
    return timeline.last_event(tx.conn, walk_id, KIND, since=since, seen_by=seen_by) is not None
