"""The watchdog's decisions and the people's answers: the check, the alarm, SOS, "I'm on it",
and resolving an alarm.

`judge` is what the watchdog runs for a walk that fell due. It re-reads the walk in the
writer's transaction and acts only if the due time it claimed is still the walk's due time: a
fix that landed meanwhile moved it, and then there is nothing to decide. After her duress
PIN, it also judges the walk her devices are shown (the cover), with the same rules: see
`_judge_covert`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict, NotFound
from walkwithme.domain.rules import (
    ACK_PAUSES_MS,
    ESCALATE_AFTER_MS,
    LADDER,
    REPEAT_AT_TOP_MS,
    Reason,
    Verdict,
    Watch,
    evaluate,
    next_look_after,
    quiet_after_answer,
)
from walkwithme.domain.walks import LIVE_VALUES, WalkState, check_message
from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import answer_links, insert_id, walks
from walkwithme.store.writer import Tx
from walkwithme.usecases import alerts, shares, timeline
from walkwithme.usecases.timeline import FOR_ALL, FOR_COMPANIONS, FOR_WALKER, Audience
from walkwithme.usecases.walks import (
    Walk,
    audience_of,
    get_walk,
    own_live_walk,
    person_name,
    save,
    shown_columns,
)


def due_walks(conn: Connection, now_ms: int, limit: int = 500) -> list[tuple[int, int]]:
    rows = conn.execute(
        sa.select(walks.c.id, walks.c.next_due_at)
        .where(walks.c.next_due_at <= now_ms, walks.c.state.in_(LIVE_VALUES))
        .order_by(walks.c.next_due_at)
        .limit(limit)
    )
    return [(r.id, r.next_due_at) for r in rows]


def counts(conn: Connection) -> dict[str, int]:
    """Live walks and alarms, for /metrics: numbers, never anyone's whereabouts."""
    rows = conn.execute(
        sa.select(walks.c.state, sa.func.count())
        .where(walks.c.state.in_(LIVE_VALUES))
        .group_by(walks.c.state)
    )
    return {state: int(n) for state, n in rows}


def earliest_due(conn: Connection) -> int | None:
    value = conn.execute(
        sa.select(sa.func.min(walks.c.next_due_at)).where(walks.c.state.in_(LIVE_VALUES))
    ).scalar()
    return int(value) if value is not None else None


def verdict(walk: Walk, watch: Watch, now_ms: int) -> Verdict:
    """The walk's rules, judged now: the one place they are called, for the walk itself and
    for the shadow of the walk her devices are shown (`Walk.cover_watch`)."""
    return evaluate(watch, now_ms, walk.profiles.at(now_ms, walk.timezone))


def judge(tx: Tx, walk_id: int, seen_due: int, *, has_hook: bool = False) -> str | None:
    """Decide about a walk that fell due. Returns "check", "alarm", "escalated", or None
    (nothing was due after all). `has_hook`: the operator configured an emergency hook."""
    walk = get_walk(tx.conn, walk_id)
    if walk is None or not walk.live or walk.next_due_at != seen_due:
        return None  # over, or moved by a fix since the watchdog looked
    if walk.covert:
        return _judge_covert(tx, walk, has_hook=has_hook)
    if walk.state is WalkState.ALARM:
        escalate(tx, walk, has_hook=has_hook)
        return "escalated"
    found = verdict(walk, walk.watch(), tx.now_ms)
    if found.alarm is not None:
        raise_alarm(tx, walk, found.alarm)
        return "alarm"
    if found.ask is not None:
        ask(tx, walk, found.ask)
        return "check"
    # The hint was early (the night profile, say): look again when something is really due.
    _look_again(tx, walk, [found.next_due_at, next_look_after(walk.watch(), tx.now_ms)])
    return None


def _judge_covert(tx: Tx, walk: Walk, *, has_hook: bool) -> str | None:
    """A walk in the silent alarm of her duress PIN: its ladder climbs, while the rules'
    shadow judges the walk her devices are shown exactly as the rules would have judged the
    walk her real PIN left: she is asked "Are you OK?", an unanswered question is an alarm
    for her devices, and that alarm climbs its own ladder, for her devices only."""
    now = tx.now_ms
    decided: str | None = None
    if walk.escalate_at is not None and walk.escalate_at <= now:
        walk = escalate(tx, walk, has_hook=has_hook)
        decided = "escalated"
    shadow = walk.cover_watch()
    if walk.walker_state is WalkState.ALARM:
        if walk.cover_escalate_at is not None and walk.cover_escalate_at <= now:
            _escalate_shown(tx, walk, has_hook=has_hook)
            return "escalated"
        looks = [walk.cover_escalate_at]
    elif walk.walker_live:
        found = verdict(walk, shadow, now)
        if found.alarm is not None:
            walk = shown_alarm(tx, walk, found.alarm)
            _tell_shown(tx, walk, "alarm", found.alarm)
            return "alarm"
        if found.ask is not None:
            ask(tx, walk, found.ask)
            return "check"
        looks = [found.next_due_at, next_look_after(shadow, now)]
    else:
        looks = []
    if decided is None:
        _look_again(tx, walk, [walk.escalate_at, *looks])
    return decided


def _look_again(tx: Tx, walk: Walk, candidates: list[int | None]) -> None:
    """Nothing was due after all: the watchdog looks again at the earliest of these."""
    found = [at for at in candidates if at is not None]
    tx.conn.execute(
        _MOVE_DUE,
        {"walk_id": walk.id, "seen_due": walk.next_due_at, "due": min(found) if found else None},
    )


# The due time moves only if it is still the one the decision was taken on.
_MOVE_DUE = (
    walks.update()
    .where(walks.c.id == sa.bindparam("walk_id"), walks.c.next_due_at == sa.bindparam("seen_due"))
    .values(next_due_at=sa.bindparam("due"))
)


def postpone(tx: Tx, walk_id: int, seen_due: int, delay_ms: int) -> None:
    """For a walk whose judging failed: look again later instead of failing in a loop."""
    tx.conn.execute(
        _MOVE_DUE, {"walk_id": walk_id, "seen_due": seen_due, "due": tx.now_ms + delay_ms}
    )


def ask(tx: Tx, walk: Walk, reason: Reason) -> None:
    """Ask the walker "Are you OK?"; she answers with her PIN within the response window.
    The question reaches her open pages (the timeline) and her own channels. After her duress
    PIN it is the walk her devices are shown that asks (its shadow's check): they get the
    question as her real PIN's walk would have, and the people looking out for her see, in
    their timeline, that she was asked."""
    covert = walk.covert
    save(tx, walk, **shown_columns(covert, check_reason=reason.value, check_asked_at=tx.now_ms))
    facts = {"reason": reason.value, **_facts(walk, tx.now_ms)}
    event_id = timeline.record(
        tx, walk.id, "check", audience=FOR_WALKER if covert else FOR_ALL, **facts
    )
    if covert:
        timeline.record(tx, walk.id, "check", audience=FOR_COMPANIONS, cover=True, **facts)
    # Her channels get a link to a page where she answers with her PIN, from any browser.
    token = new_token("ans")
    insert_id(
        tx.conn, answer_links, walk_id=walk.id, token_hash=token_hash(token), created_at=tx.now_ms
    )
    told = {**facts, "link_path": f"/answer/{token}"}
    alerts.tell(tx, walk, "check", told, [walk.walker_id], event_id=event_id)


def walk_for_answer(conn: Connection, token: str) -> Walk:
    """The walk an answer link belongs to, while it is live; NotFound otherwise."""
    row = conn.execute(
        sa.select(answer_links.c.walk_id).where(answer_links.c.token_hash == token_hash(token))
    ).first()
    walk = get_walk(conn, row.walk_id) if row else None
    if walk is None or not walk.walker_live:
        raise NotFound("this link has expired: the walk is over")
    return walk


def _alarm_begins(tx: Tx, reason: Reason, *, cover: bool) -> dict[str, Any]:
    """An alarm begins: its reason and time, the question it ends, the ladder's first rung
    (in the walk's own columns, or in the cover's for the alarm her devices are shown)."""
    return shown_columns(
        cover,
        alarm_reason=reason.value,
        alarm_at=tx.now_ms,
        check_reason=None,
        check_asked_at=None,
        escalation_level=0,
        escalate_at=tx.now_ms + ESCALATE_AFTER_MS,
    )


def raise_alarm(tx: Tx, walk: Walk, reason: Reason, *, silent: bool = False, **values: Any) -> Walk:
    """The alarm: her companions first; the ladder climbs if nobody says "I'm on it".
    `silent`: kept from her own devices (her duress PIN; `values` set what they are shown)."""
    walk = save(tx, walk, WalkState.ALARM, **_alarm_begins(tx, reason, cover=False), **values)
    facts = {"reason": reason.value, **_facts(walk, tx.now_ms)}
    audience = FOR_COMPANIONS if silent else FOR_ALL
    event_id = timeline.record(tx, walk.id, "alarm", audience=audience, **facts)
    alerts.tell(tx, walk, "alarm", facts, alerts.companion_ids(tx.conn, walk.id), event_id=event_id)
    return walk


def tell_duress_again(tx: Tx, walk: Walk, *, said: str | None) -> None:
    """Her duress PIN, given again during an alarm: those looking out for her hear of it."""
    facts = {"reason": Reason.DURESS.value, "said": said, **_facts(walk, tx.now_ms)}
    event_id = timeline.record(tx, walk.id, "duress", audience=FOR_COMPANIONS, **facts)
    alerts.tell(tx, walk, "alarm", facts, alerts.companion_ids(tx.conn, walk.id), event_id=event_id)


def _for(walk: Walk) -> str:
    """Who sees the alarm's events: everybody, or (a silent alarm) only those looking out for
    her."""
    return FOR_COMPANIONS if walk.covert else FOR_ALL


def escalate(tx: Tx, walk: Walk, *, has_hook: bool) -> Walk:
    """Nobody said "I'm on it" in time: tell the next rung of the ladder that reaches anybody
    (a walker without guardians goes straight to the hook). At the top, say it again every
    ten minutes: an alarm is never left with nobody watching it. Returns the walk as saved."""
    level, again_at, again = _climb(tx, walk, walk.escalation_level, walk.alarm_since, has_hook)
    walk = save(tx, walk, escalation_level=level, escalate_at=again_at)
    rung = LADDER[level]
    facts = {"reason": walk.alarm_reason, "rung": rung, "again": again, **_facts(walk, tx.now_ms)}
    event_id = timeline.record(tx, walk.id, "alarm_escalated", audience=_for(walk), **facts)
    if rung == "companions":
        alerts.tell(
            tx, walk, "alarm", facts, alerts.companion_ids(tx.conn, walk.id), event_id=event_id
        )
        return walk
    # Guardians and the hook don't follow her walks: they get a link to it that works while
    # the alarm lasts and an hour after (the notifier adds the server's address to the path).
    told = {**facts, "link_path": f"/api/share/{shares.alarm_link(tx, walk.id)}"}
    if rung == "guardians":
        guardians = alerts.guardian_ids(tx.conn, walk.walker_id, alarm_at=walk.alarm_since)
        alerts.tell(tx, walk, "alarm", told, guardians, event_id=event_id)
    else:
        alerts.tell(tx, walk, "alarm", told, [], event_id=event_id, hook=True)
    return walk


def _escalate_shown(tx: Tx, walk: Walk, *, has_hook: bool) -> None:
    """The ladder of the alarm her devices are shown, under a silent alarm: it climbs as
    that alarm's own ladder would have, on her timeline only (the silent alarm's ladder tells
    the people)."""
    level, again_at, again = _climb(
        tx, walk, walk.cover_escalation_level, walk.cover_alarm_at, has_hook
    )
    walk = save(tx, walk, cover_escalation_level=level, cover_escalate_at=again_at)
    facts = {
        "reason": walk.cover_alarm_reason,
        "rung": LADDER[level],
        "again": again,
        **_facts(walk, tx.now_ms),
    }
    timeline.record(tx, walk.id, "alarm_escalated", audience=FOR_WALKER, **facts)


def _climb(
    tx: Tx, walk: Walk, level: int | None, alarm_at: int | None, has_hook: bool
) -> tuple[int, int, bool]:
    """The ladder's next step: the rung it reaches, when to climb again, and whether it is
    the top said again."""
    climbed = _next_reachable(tx, walk, level or 0, alarm_at, has_hook=has_hook)
    if climbed is None:
        return level or 0, tx.now_ms + REPEAT_AT_TOP_MS, True
    return climbed, tx.now_ms + ESCALATE_AFTER_MS, False


def _next_reachable(
    tx: Tx, walk: Walk, level: int, alarm_at: int | None, *, has_hook: bool
) -> int | None:
    for higher in range(level + 1, len(LADDER)):
        rung = LADDER[higher]
        if rung == "guardians" and any(
            alerts.working_channels(
                tx.conn, alerts.guardian_ids(tx.conn, walk.walker_id, alarm_at=alarm_at)
            ).values()
        ):
            return higher
        if rung == "hook" and has_hook:
            return higher
    return None


def _facts(walk: Walk, now_ms: int) -> dict[str, Any]:
    """What anyone acting on an alert needs: where she was last seen, how long ago, how
    precisely, her battery and heading, and where she was going."""
    dest = walk.destination
    last = None
    if walk.last_fix_at is not None:
        last = {
            "t": walk.last_fix_at,
            "age_s": max(0, (now_ms - walk.last_fix_at) // 1000),
            "lat": walk.last_lat,
            "lon": walk.last_lon,
            "accuracy": walk.last_accuracy_m,
            "bearing": walk.last_bearing_deg,
            "battery": walk.last_battery_pct,
        }
    return {
        "last_position": last,
        "destination": {"name": dest.name, "lat": dest.lat, "lon": dest.lon} if dest else None,
    }


# -- the walker ------------------------------------------------------------------------------

WRONG_PINS_FOR_ALARM = 3


def refuse_pin(tx: Tx, walk: Walk, action: str) -> None:
    """A wrong PIN changes nothing but is on the timeline, and counts (it was counted when it
    was tried: `moments.claim_attempt`): three in a row on a live walk raise the alarm
    (someone else may be holding her phone)."""
    timeline.record(tx, walk.id, "pin_refused", actor_id=walk.walker_id, action=action)
    if walk.wrong_pins < WRONG_PINS_FOR_ALARM or walk.walker_state is WalkState.ALARM:
        return
    if walk.covert:
        # Already in a silent alarm: her devices are shown the alarm they would have seen.
        walk = shown_alarm(tx, walk, Reason.WRONG_PINS)
        _tell_shown(tx, walk, "alarm", Reason.WRONG_PINS)
        return
    raise_alarm(tx, walk, Reason.WRONG_PINS)


def sos(tx: Tx, walk_id: int, walker_id: int) -> None:
    """SOS needs no PIN and asks nothing first."""
    walk = own_live_walk(tx, walk_id, walker_id)
    if walk.walker_state is WalkState.ALARM:
        timeline.record(tx, walk_id, "sos", actor_id=walker_id, **_facts(walk, tx.now_ms))
        return
    if walk.covert:
        walk = shown_alarm(tx, walk, Reason.SOS)
        _tell_shown(tx, walk, "sos", Reason.SOS)
        return
    raise_alarm(tx, walk, Reason.SOS)


def shown_alarm(tx: Tx, walk: Walk, reason: Reason) -> Walk:
    """Under a silent alarm, her devices see the alarm her own actions (or her silence) would
    have raised; its own ladder starts climbing, for them (`_escalate_shown`)."""
    walk = save(
        tx, walk, cover_state=WalkState.ALARM.value, **_alarm_begins(tx, reason, cover=True)
    )
    facts = {"reason": reason.value, **_facts(walk, tx.now_ms)}
    timeline.record(tx, walk.id, "alarm", audience=FOR_WALKER, **facts)
    return walk


def _tell_shown(tx: Tx, walk: Walk, kind: str, reason: Reason) -> None:
    """The people looking out for her hear of the alarm her devices were just shown (her SOS,
    no answer to the question they were asked, wrong PINs), in the silent alarm's timeline."""
    facts = {"reason": reason.value, "cover": True, **_facts(walk, tx.now_ms)}
    actor = walk.walker_id if reason is Reason.SOS else None
    event_id = timeline.record(tx, walk.id, kind, audience=FOR_COMPANIONS, actor_id=actor, **facts)
    companions = alerts.companion_ids(tx.conn, walk.id)
    alerts.tell(tx, walk, "alarm", facts, companions, event_id=event_id)


# -- companions ------------------------------------------------------------------------------


def _alarmed_walk_for_helper(tx: Tx, walk_id: int, person_id: int) -> Walk:
    """The walk, for one of her companions, or (only while it is in alarm) her guardians:
    anyone else is told there is no such walk."""
    walk = get_walk(tx.conn, walk_id)
    if walk is None:
        raise NotFound("no such walk")
    companion = audience_of(tx.conn, walk, person_id) is Audience.COMPANION
    guardian = walk.state is WalkState.ALARM and is_guardian(tx.conn, walk, person_id)
    if not (companion or guardian):
        raise NotFound("no such walk")
    if walk.state is not WalkState.ALARM:
        raise Conflict("this walk is not in alarm")
    return walk


def is_guardian(conn: Connection, walk: Walk, person_id: int) -> bool:
    return person_id in alerts.guardian_ids(conn, walk.walker_id, alarm_at=walk.alarm_since)


def acknowledge(tx: Tx, walk_id: int, person_id: int) -> None:
    """ "I'm on it": the walker and the other companions see who is coming (the walker only if
    the alarm isn't a silent one, or if her devices are shown an alarm of their own then: they
    see it acknowledged, and its ladder paused, as they would have)."""
    walk = _alarmed_walk_for_helper(tx, walk_id, person_id)
    shown = walk.covert and walk.walker_state is WalkState.ALARM
    # It pauses the ladder for a while, not for good: help may not come.
    pause = tx.now_ms + ACK_PAUSES_MS
    paused: dict[str, Any] = {"escalate_at": pause}
    if shown:
        paused["cover_escalate_at"] = pause
    save(tx, walk, **paused)
    facts: dict[str, Any] = {"by": {"id": person_id, "name": person_name(tx.conn, person_id)}}
    audience = FOR_ALL if shown else _for(walk)
    event_id = timeline.record(
        tx, walk_id, "alarm_acknowledged", audience=audience, actor_id=person_id, **facts
    )
    others = [p for p in alerts.companion_ids(tx.conn, walk_id) if p != person_id]
    told = [walk.walker_id, *others] if audience == FOR_ALL else others
    alerts.tell(tx, walk, "alarm_acknowledged", facts, told, event_id=event_id)


def resolve(tx: Tx, walk_id: int, person_id: int, note: str) -> None:
    """A companion or guardian who has found her safe ends the alarm, with a note."""
    walk = _alarmed_walk_for_helper(tx, walk_id, person_id)
    resolve_alarm(tx, walk, by=person_id, note=check_message(note))


def resolve_alarm(tx: Tx, walk: Walk, *, by: int, note: str | None) -> None:
    """The alarm is over. After a silent one, the walk becomes what her devices were shown:
    over if she was made to end it, going on otherwise (with the question they were asked,
    if one waits for her answer); an alarm they were shown is resolved for them too."""
    told_guardians = (walk.escalation_level or 0) >= 1
    guardians = alerts.guardian_ids(tx.conn, walk.walker_id, alarm_at=walk.alarm_since)
    reason = walk.alarm_reason
    audience = _for(walk)
    shown_reason = walk.walker_alarm_reason if walk.covert else None
    back, after = walk.after_alarm, _after_alarm(walk, tx.now_ms)
    if walk.covert and shown_reason is None:
        back = walk.walker_state
    walk = save(
        tx,
        walk,
        back,
        alarm_reason=None,
        alarm_at=None,
        escalation_level=None,
        escalate_at=None,
        **after,
    )
    facts: dict[str, Any] = {
        "by": {"id": by, "name": person_name(tx.conn, by)},
        "note": note,
        "reason": reason,
    }
    stale = ("alarm",) if walk.check_reason is not None else ("alarm", "check")
    alerts.supersede(tx, walk.id, stale, "the alarm was resolved")
    event_id = timeline.record(
        tx, walk.id, "alarm_resolved", audience=audience, actor_id=by, **facts
    )
    if shown_reason is not None:
        timeline.record(
            tx,
            walk.id,
            "alarm_resolved",
            audience=FOR_WALKER,
            actor_id=by,
            **{**facts, "reason": shown_reason},
        )
    recipients = [p for p in alerts.companion_ids(tx.conn, walk.id) if p != by]
    if told_guardians and by != walk.walker_id:
        # Guardians heard of the alarm: they hear who ended it, if it wasn't her.
        recipients += guardians
    alerts.tell(tx, walk, "alarm_resolved", facts, recipients, event_id=event_id)


_COVER_CLEARED = {
    "cover_state": None,
    "cover_ended_at": None,
    "cover_alarm_reason": None,
    "cover_check_reason": None,
    "cover_check_asked_at": None,
    "cover_quiet_until": None,
    "cover_alarm_at": None,
    "cover_escalation_level": None,
    "cover_escalate_at": None,
}


def _after_alarm(walk: Walk, now_ms: int) -> dict[str, Any]:
    """What an alarm that ends leaves of the walk's rules: quiet for a while, the count of
    wrong PINs cleared. After a silent one whose cover her devices still see going on, the
    walk takes on the cover's rules as they stand (its check, its quiet time, the count): it
    becomes the walk her real PIN would have left, nothing in it resolved."""
    ended: dict[str, Any] = {"quiet_until": quiet_after_answer(None, now_ms), "wrong_pins": 0}
    if not walk.covert:
        return ended
    if walk.walker_state is WalkState.ALARM:
        return {**ended, **_COVER_CLEARED}
    if not walk.walker_live:
        return {**ended, **_COVER_CLEARED, "ended_at": walk.cover_ended_at}
    return {
        **_COVER_CLEARED,
        "check_reason": walk.cover_check_reason,
        "check_asked_at": walk.cover_check_asked_at,
        "quiet_until": walk.cover_quiet_until,
    }
