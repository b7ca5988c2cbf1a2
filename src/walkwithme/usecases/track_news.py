"""What a batch of her fixes tells, once the walk is saved with it: its events on everyone's
timeline, to her companions the ones they are told of (her battery running low, her door),
and during an alarm, to everyone it reached: her phone heard again after a silence
(`heard_again`), her getting nearer again (`walking_on`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walkwithme.domain.fixes import Fix
from walkwithme.domain.walks import WalkState
from walkwithme.store.tx import Tx
from walkwithme.usecases import alerts, heard_again, helping, timeline, walking_on
from walkwithme.usecases.walk_record import Walk


@dataclass(frozen=True)
class News:
    """What the batch changed that may be told (usecases/track.py keeps it)."""

    events: list[tuple[str, dict[str, Any]]]
    heard_at: int | None  # her phone heard last, as of the batch
    nearer_at: int | None  # the instant of its last fix that got her nearer
    where: Fix | None  # its latest trusted fix
    progress_m: float | None  # the least distance left so far


def tell(tx: Tx, walk: Walk, news: News, now_ms: int) -> None:
    """`walk`: as it was before the batch."""
    silence = heard_again.silence_before(walk, news.heard_at, now_ms)
    onward = (
        silence is None
        and walking_on.is_news(walk, news.nearer_at)
        and not walking_on.said_already(tx, walk)
    )
    if not news.events and silence is None and not onward:
        return
    # During an alarm, everyone it reached (her guardians, the hook) is looking for her.
    reached = (
        helping.who_it_reached(tx.conn, walk)
        if walk.state is WalkState.ALARM
        else helping.Reached(alerts.companion_ids(tx.conn, walk.id), [], hook=False)
    )
    for kind, facts in news.events:
        if kind == "expected_later" and _said_lately(tx, walk.id, kind, now_ms):
            continue  # her "Expected by" moves on; its line is said once in a while
        # Her companions are told when her battery runs low, and when she reaches her door:
        # once, not each time a noisy fix takes her out of it and back; again only if she
        # had been away from it for a while (what told them first was wrong, or she went
        # out again).
        told = kind == "low_battery" or (
            kind == "arrived" and arrival_is_news(tx, walk.id, facts["fix_t"])
        )
        event_id = timeline.record(tx, walk.id, kind, audience=walk.everyone, **facts)
        if told:
            reached.tell(tx, walk, kind, facts, event_id)
    where = position(news.where)
    if silence is not None:
        heard_again.say(tx, walk, reached, silence, where)
    elif onward and where is not None and news.progress_m is not None and walk.destination:
        left = max(0.0, news.progress_m - walk.destination.radius_m)
        walking_on.say(tx, walk, reached, where, left)


# A line that says only that she is given more time ("slower, but getting closer") is said at
# most this often: it was said twice in a minute, the same words (the story played through
# the pages); her expected time moves on all the same.
SAID_AGAIN_AFTER_MS = 5 * 60_000


def _said_lately(tx: Tx, walk_id: int, kind: str, now_ms: int) -> bool:
    since = now_ms - SAID_AGAIN_AFTER_MS
    return timeline.last_event(tx.conn, walk_id, kind, since=since) is not None


def position(where: Fix | None) -> dict[str, Any] | None:
    """Where she was (a fix), as an event and its alert say it."""
    if where is None:
        return None
    return {
        "t": where.t_ms,
        "lat": where.lat,
        "lon": where.lon,
        "accuracy": where.accuracy_m,
        "bearing": where.bearing_deg,
    }


# Away from her door this long since they were told she was there, and her arrival is told
# again.
AWAY_FROM_THE_DOOR_MS = 60_000


def arrival_is_news(tx: Tx, walk_id: int, fix_t: int) -> bool:
    """Whether her companions are told she is at her door (by the fix taken at `fix_t`): the
    first time, or after she left it (or never was there: a car drove her past it) for
    `AWAY_FROM_THE_DOOR_MS` at least, by her fixes' times (a batch sent after an outage holds
    hours of her walk)."""
    arrived = timeline.last_event(tx.conn, walk_id, "arrived")
    if arrived is None:
        return True
    left = timeline.last_event(tx.conn, walk_id, "left_door", since=arrived.at)
    if left is None:
        return False
    return fix_t - int(left.data.get("fix_t", fix_t)) >= AWAY_FROM_THE_DOOR_MS
