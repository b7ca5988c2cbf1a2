"""Alarms: raising one, its ladder, and what the walker does to raise one (her SOS, her wrong
PINs). After her duress PIN, the alarm her devices are shown (the cover's) has its own ladder,
for them only. The watchdog decides when an alarm is due (usecases/judging.py); what those it
reached do about it, and its end, are usecases/helping.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.domain.rules import (
    ESCALATE_AFTER_MS,
    LADDER,
    REPEAT_AT_TOP_MS,
    Reason,
)
from walkwithme.domain.walks import WalkState
from walkwithme.store.tx import Tx
from walkwithme.usecases import alerts, shares, timeline
from walkwithme.usecases.timeline import FOR_ALL, FOR_COMPANIONS, FOR_WALKER
from walkwithme.usecases.walk_columns import Cover
from walkwithme.usecases.walk_record import Walk, shown_columns
from walkwithme.usecases.walk_store import save
from walkwithme.usecases.walks import own_live_walk, person_name

log = logging.getLogger("walkwithme.alarms")


def _alarm_begins(tx: Tx, walk: Walk, reason: Reason, *, cover: bool) -> dict[str, Any]:
    """An alarm begins: its reason and time, the question it ends, the ladder's first rung
    (in the walk's own columns, or in the cover's for the alarm her devices are shown). Her
    companions are told first; if none of them has a channel that works (neither broken nor
    failing), that rung reaches nobody and is skipped: the ladder climbs at the watchdog's
    next look, not 3 minutes on."""
    companions = alerts.companion_ids(tx.conn, walk.id)
    heard = alerts.anyone_reached(tx.conn, companions)
    return shown_columns(
        cover,
        alarm_reason=reason.value,
        alarm_at=tx.now_ms,
        check_reason=None,
        check_asked_at=None,
        escalation_level=0,
        escalate_at=tx.now_ms + (ESCALATE_AFTER_MS if heard else 0),
    )


def raise_alarm(
    tx: Tx,
    walk: Walk,
    reason: Reason,
    *,
    silent: bool = False,
    asked: str | None = None,
    given_to: str | None = None,
    stands_for: str | None = None,
    **values: Any,
) -> Walk:
    """The alarm: her companions first; the ladder climbs if nobody says "I'm on it".
    `silent`: kept from her own devices (her duress PIN; `values` set what they are shown).
    `asked`: for an unanswered check, why she was asked (stalled, silent...), said with it.
    `given_to`: what her duress PIN was given to do ("inside": she may be at her door with
    whoever made her), said in its alert. `stands_for`: what her real PIN would have told
    her companions instead (usecases/cover_channels.py), kept in their alerts."""
    begins = _alarm_begins(tx, walk, reason, cover=False)
    # At her door when it came (her phone died there, say): said, where her companions had
    # to compare coordinates to know it (a held-out walk).
    at_door = walk.state is WalkState.AT_DOOR
    walk = save(tx, walk, WalkState.ALARM, **begins, **values)
    facts = {"reason": reason.value, **_asked(asked), **facts_of(walk, tx.now_ms)}
    if at_door:
        facts["at_door"] = True
    if given_to is not None:
        facts["given_to"] = given_to
    audience = FOR_COMPANIONS if silent else FOR_ALL
    event_id = timeline.record(tx, walk.id, "alarm", audience=audience, **facts)
    # For the operator's log (nothing was written of an alarm but a failed delivery's line:
    # an operator's review). The walk's number and why; nobody's name, nor where.
    log.info("alarm raised on walk %s: %s%s", walk.id, reason.value, " (silent)" if silent else "")
    # Their alert says an earlier alarm was ended (their timeline has it already); not the
    # event, which her devices see: after her duress PIN it would tell them of an alarm
    # they were never shown.
    before = _ended_before(tx.conn, walk)
    companions = alerts.companion_ids(tx.conn, walk.id)
    ender = before["ended_before"]["by"].get("id") if before else None
    others = [p for p in companions if p != ender]
    twin = {"stands_for": stands_for} if stands_for else {}
    alerts.tell(tx, walk, "alarm", {**facts, **before, **twin}, others, event_id=event_id)
    if ender in companions:
        # Told it in his own words: "You marked Mira safe at 23:10 ..." (a story played
        # through the pages: he read of himself as "Noor").
        yours = {"ended_before": {**before["ended_before"], "you": True}}
        alerts.tell(tx, walk, "alarm", {**facts, **yours, **twin}, [ender], event_id=event_id)
    return walk


def _asked(reason: str | None) -> dict[str, str]:
    """Why she was asked the check she didn't answer, for whoever acts on the alarm."""
    return {"asked_because": reason} if reason else {}


def _ended_before(conn: Connection, walk: Walk) -> dict[str, Any]:
    """Who ended this walk's last alarm, and when, if one was (marked safe and the walk went
    on): an alarm that comes back said nothing of it, and whoever was told it was over could
    take the new one for the old one said late."""
    found = timeline.last_event(conn, walk.id, "alarm_resolved", seen_by=(FOR_ALL, FOR_COMPANIONS))
    if found is None or not isinstance(found.data.get("by"), dict):
        return {}
    by_her = found.actor_id == walk.walker_id
    return {"ended_before": {"by": found.data["by"], "at": found.at, "by_walker": by_her}}


def _asked_before(conn: Connection, walk_id: int, since: int | None, *, walker: bool) -> Any:
    """Why she was asked the check whose silence raised the alarm going on since `since`, as
    its first event said it (to those looking out for her, or, `walker`, to her devices):
    every rung the alarm climbs to is told it too."""
    seen = (FOR_ALL, FOR_WALKER) if walker else (FOR_ALL, FOR_COMPANIONS)
    found = timeline.last_event(conn, walk_id, "alarm", since=since or 0, seen_by=seen, first=True)
    return _asked(found.data.get("asked_because")) if found else {}


def tell_duress_again(
    tx: Tx, walk: Walk, *, said: str | None, stands_for: str | None = None
) -> None:
    """Her duress PIN, given again during an alarm: those looking out for her hear of it.
    `stands_for`: what her real PIN would have told them instead (`raise_alarm`)."""
    facts = {"reason": Reason.DURESS.value, "said": said, **facts_of(walk, tx.now_ms)}
    event_id = timeline.record(tx, walk.id, "duress", audience=FOR_COMPANIONS, **facts)
    twin = {"stands_for": stands_for} if stands_for else {}
    companions = alerts.companion_ids(tx.conn, walk.id)
    alerts.tell(tx, walk, "alarm", {**facts, **twin}, companions, event_id=event_id)


def audience_for(walk: Walk) -> str:
    """Who sees the alarm's events: everybody, or (a silent alarm) only those looking out for
    her."""
    return FOR_COMPANIONS if walk.covert else FOR_ALL


def escalate(tx: Tx, walk: Walk, *, has_hook: bool) -> tuple[Walk, bool]:
    """Nobody said "I'm on it" in time: tell the next rung of the ladder that reaches anybody
    (a walker without guardians goes straight to the hook). At the top, say it again every
    ten minutes: an alarm is never left with nobody watching it. Returns the walk as saved,
    and whether anybody was told (not yet, when her companions are the top: `_climb`)."""
    climb = _climb(tx, walk, walk.judged.escalation_level, walk.alarm_since, has_hook)
    # Her guardians, passed over on the way up because none has a channel that has worked
    # yet: told all the same (an untested channel may work), as they are told it is over
    # (they were told only that: an outside review).
    guardians_passed = (walk.judged.escalation_level or 0) < _GUARDIANS <= climb.level
    walk = save(tx, walk, escalation_level=climb.level, escalate_at=climb.next_at)
    if not climb.says:
        return walk, False
    rung = LADDER[climb.level]
    facts = {
        "reason": walk.judged.alarm_reason,
        **_asked_before(tx.conn, walk.id, walk.alarm_since, walker=False),
        "rung": rung,
        "again": climb.again,
        **_on_it(tx.conn, walk.id, walk.alarm_since, walker=False),
        **facts_of(walk, tx.now_ms),
    }
    event_id = timeline.record(tx, walk.id, "alarm_escalated", audience=audience_for(walk), **facts)
    # Each rung and repeat says when the alarm began ("Raised at 23:37 (13 min ago)"), not
    # when it was said again; and that she has been getting nearer since, if she has (her
    # guardians and the hook were told of a woman two minutes from her door as if nothing
    # had changed: an outside review). In the alerts only: the timeline has it already.
    said = {
        **facts,
        "alarm_at": walk.alarm_since,
        **_walking_on(tx.conn, walk),
        **_given_to(tx.conn, walk),
    }
    # Said again at the top, it is said to every rung told so far, not to the top alone: a
    # hook mistyped or down (the operator's) took every repeat from her companions (outside
    # review), and whoever was told once may have missed it.
    if rung == "companions" or climb.again:
        companions = alerts.companion_ids(tx.conn, walk.id)
        alerts.tell(tx, walk, "alarm", said, companions, event_id=event_id)
    if rung == "companions":
        return walk, True

    # Guardians and the hook don't follow her walks: they get a link to it that works while
    # the alarm lasts and an hour after (the notifier adds the server's address to the path).
    # A link each, guardians and the hook: her list of who looked tells a guardian's look
    # from the emergency line's (said again, they shared one: an outside review).
    def told() -> dict[str, Any]:
        return {**said, "link_path": f"/api/share/{shares.alarm_link(tx, walk.id)}"}

    if rung == "guardians" or climb.again or guardians_passed:
        guardians = alerts.guardian_ids(
            tx.conn, walk.walker_id, alarm_at=walk.alarm_since, walking_since=walk.walking_since
        )
        if guardians:
            alerts.tell(tx, walk, "alarm", told(), guardians, event_id=event_id)
    if rung == "hook":
        alerts.tell(tx, walk, "alarm", told(), [], event_id=event_id, hook=True)
    return walk, True


def _given_to(conn: Connection, walk: Walk) -> dict[str, Any]:
    """What her duress PIN was given to do, as its silent alarm said it first (her guardians
    and the hook read "Mira entered their duress PIN" without "to say “I'm inside”")."""
    if walk.judged.alarm_reason != Reason.DURESS.value:
        return {}
    first = timeline.last_event(
        conn, walk.id, "alarm", since=walk.alarm_since or 0, seen_by=(FOR_COMPANIONS,), first=True
    )
    given = first.data.get("given_to") if first is not None else None
    return {"given_to": given} if given else {}


_GUARDIANS = LADDER.index("guardians")


def _walking_on(conn: Connection, walk: Walk) -> dict[str, Any]:
    """Her getting nearer again since the alarm began (usecases/walking_on.py), if she has:
    when it was said, and how far she had left then."""
    said = timeline.last_event(
        conn, walk.id, "walking_on", since=walk.alarm_since or 0, seen_by=(FOR_ALL, FOR_COMPANIONS)
    )
    if said is None:
        return {}
    return {"walking_on": {"at": said.at, "left_m": said.data.get("left_m")}}


def _on_it(conn: Connection, walk_id: int, since: int | None, *, walker: bool) -> dict[str, Any]:
    """Who last said "I'm on it" during this alarm (the next rung should know that someone
    is, though they have not ended it in time), if anyone did; as her devices saw it
    (`walker`: the alarm they were shown) or as the people looking out for her did."""
    seen = (FOR_ALL, FOR_WALKER) if walker else (FOR_ALL, FOR_COMPANIONS)
    said = timeline.last_event(conn, walk_id, "alarm_acknowledged", since=since or 0, seen_by=seen)
    if said is None or said.actor_id is None:
        return {}
    return {"on_it": person_name(conn, said.actor_id)}


def escalate_shown(tx: Tx, walk: Walk, cover: Cover, *, has_hook: bool) -> bool:
    """The ladder of the alarm her devices are shown (`cover`), under a silent alarm: it
    climbs as that alarm's own ladder would have, on her timeline only (the silent alarm's
    ladder tells the people). Returns whether it said anything."""
    climb = _climb(tx, walk, cover.judged.escalation_level, cover.judged.alarm_at, has_hook)
    walk = save(tx, walk, cover_escalation_level=climb.level, cover_escalate_at=climb.next_at)
    if not climb.says:
        return False
    facts = {
        "reason": cover.judged.alarm_reason,
        **_asked_before(tx.conn, walk.id, cover.judged.alarm_at, walker=True),
        "rung": LADDER[climb.level],
        "again": climb.again,
        **_on_it(tx.conn, walk.id, cover.judged.alarm_at, walker=True),
        **facts_of(walk, tx.now_ms),
    }
    timeline.record(tx, walk.id, "alarm_escalated", audience=FOR_WALKER, **facts)
    return True


@dataclass(frozen=True)
class _Climb:
    """The ladder's next step: the rung told now, when the ladder looks again, whether it is
    the top said again, and whether anything is said now at all."""

    level: int
    next_at: int
    again: bool
    says: bool = True


def _climb(tx: Tx, walk: Walk, level: int | None, alarm_at: int | None, has_hook: bool) -> _Climb:
    """The top of the ladder is the highest rung that reaches anybody; once a rung is told,
    the alarm is said again 3 minutes later one rung up, or, if it is the top, 10 minutes
    later to it. Her companions, told when the alarm began, are found to be the top only
    when the ladder first looks (3 minutes on): then nothing is said, and they hear it again
    10 minutes after the alarm began, as any top would."""
    now = tx.now_ms
    current = level or 0
    climbed = _next_reachable(tx, walk, current, alarm_at, has_hook=has_hook)
    if climbed is None:
        if current == 0 and alarm_at is not None and now < alarm_at + REPEAT_AT_TOP_MS:
            return _Climb(current, alarm_at + REPEAT_AT_TOP_MS, again=True, says=False)
        return _Climb(current, now + REPEAT_AT_TOP_MS, again=True)
    top = _next_reachable(tx, walk, climbed, alarm_at, has_hook=has_hook) is None
    return _Climb(climbed, now + (REPEAT_AT_TOP_MS if top else ESCALATE_AFTER_MS), again=False)


def _next_reachable(
    tx: Tx, walk: Walk, level: int, alarm_at: int | None, *, has_hook: bool
) -> int | None:
    for higher in range(level + 1, len(LADDER)):
        rung = LADDER[higher]
        if rung == "guardians" and alerts.anyone_reached(
            tx.conn,
            alerts.guardian_ids(
                tx.conn, walk.walker_id, alarm_at=alarm_at, walking_since=walk.walking_since
            ),
        ):
            return higher
        if rung == "hook" and has_hook:
            return higher
    return None


def facts_of(walk: Walk, now_ms: int) -> dict[str, Any]:
    """What anyone acting on an alert needs: where she was last seen, how long ago, how
    precisely, her battery and heading, and where she was going."""
    dest = walk.destination
    seen = walk.last
    last = None
    if seen.at is not None:
        last = {
            "t": seen.at,
            "age_s": max(0, (now_ms - seen.at) // 1000),
            "lat": seen.lat,
            "lon": seen.lon,
            "accuracy": seen.accuracy_m,
            "bearing": seen.bearing_deg,
            "battery": seen.battery_pct,
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
    if walk.wrong_pins < WRONG_PINS_FOR_ALARM:
        return
    if walk.walker_state is WalkState.ALARM:
        _locked_by_wrong_pins(tx, walk)
        return
    if walk.covert:
        # Already in a silent alarm: her devices are shown the alarm they would have seen.
        walk = shown_alarm(tx, walk, Reason.WRONG_PINS)
        tell_shown(tx, walk, "alarm", Reason.WRONG_PINS)
        return
    raise_alarm(tx, walk, Reason.WRONG_PINS)


def _locked_by_wrong_pins(tx: Tx, walk: Walk) -> None:
    """Three wrong PINs in a row during an alarm already going on (the one her devices are
    shown): whoever is holding her phone may guess right the fourth time, so the alarm is from
    now on one that wrong PINs raised, which no PIN ends (`moments.take`). It is the same
    alarm (its time and its ladder go on), said again with its new reason (`during`: those
    on it still are)."""
    if walk.walker_alarm_reason == Reason.WRONG_PINS.value:
        return
    reason: dict[str, Any] = {"reason": Reason.WRONG_PINS.value, "during": True}
    if walk.covert:
        # Her devices are shown it as they would have been; the people hear of it as of any
        # alarm she is shown under her silent one.
        walk = save(tx, walk, cover_alarm_reason=Reason.WRONG_PINS.value)
        timeline.record(
            tx, walk.id, "alarm", audience=FOR_WALKER, **reason, **facts_of(walk, tx.now_ms)
        )
        tell_shown(tx, walk, "alarm", Reason.WRONG_PINS, during=True)
        return
    walk = save(tx, walk, alarm_reason=Reason.WRONG_PINS.value)
    facts = {**reason, **facts_of(walk, tx.now_ms)}
    event_id = timeline.record(tx, walk.id, "alarm", audience=FOR_ALL, **facts)
    said = {**facts, "alarm_at": walk.alarm_since}  # the same alarm: raised when it began
    alerts.tell(tx, walk, "alarm", said, alerts.companion_ids(tx.conn, walk.id), event_id=event_id)


def sos(tx: Tx, walk_id: int, walker_id: int, *, resent: bool = False) -> None:
    """SOS needs no PIN and asks nothing first. `resent`: the same SOS from her phone again
    (the same device, the same fix time: the app sending it again after a lost answer). In
    the alarm going on, that is no news: a second "sos" on the timeline would read as her
    pressing SOS again. A later press is said again."""
    walk = own_live_walk(tx, walk_id, walker_id)
    if walk.walker_state is WalkState.ALARM:
        if resent:
            return
        facts = facts_of(walk, tx.now_ms)
        event_id = timeline.record(tx, walk_id, "sos", actor_id=walker_id, **facts)
        _sos_during(tx, walk, event_id)
        return
    if walk.covert:
        walk = shown_alarm(tx, walk, Reason.SOS)
        tell_shown(tx, walk, "sos", Reason.SOS)
        return
    raise_alarm(tx, walk, Reason.SOS)


# What an SOS during an alarm leaves its reason as: a lock no PIN ends, and her silent call
# for help, stay what they are (the SOS is said with them).
_KEPT_UNDER_SOS = (Reason.WRONG_PINS.value, Reason.DURESS.value)


def _sos_during(tx: Tx, walk: Walk, event_id: int) -> None:
    """Her SOS during an alarm going on (no answer to "Are you OK?", a stall...) is told to
    everyone the alarm has reached, as the same alarm said again with SOS as its reason: it
    was put on the timeline only, her page said "SOS sent: the people following your walk
    are told", and nobody was (an outside review: pressed offline while her silence raised
    the alarm, and again online). Under her duress PIN's silent alarm, her devices' shown
    alarm takes the reason as a real one would; the people hear it with the caution not to
    call her (`cover`)."""
    from walkwithme.usecases.helping import who_it_reached  # (helping imports this module)

    shown_reason = walk.walker_alarm_reason
    if shown_reason not in _KEPT_UNDER_SOS:
        walk = save(tx, walk, **shown_columns(walk.covert, alarm_reason=Reason.SOS.value))
    said = {
        "reason": Reason.SOS.value,
        "during": True,
        "again": shown_reason == Reason.SOS.value,  # she had pressed it before, in this alarm
        **({"cover": True} if walk.covert else {}),
        **facts_of(walk, tx.now_ms),
        "alarm_at": walk.alarm_since,  # the same alarm: raised when it began
    }
    who_it_reached(tx.conn, walk).tell(tx, walk, "alarm", said, event_id)


def shown_alarm(tx: Tx, walk: Walk, reason: Reason, asked: str | None = None) -> Walk:
    """Under a silent alarm, her devices see the alarm her own actions (or her silence) would
    have raised; its own ladder starts climbing, for them (`escalate_shown`)."""
    at_door = walk.walker_state is WalkState.AT_DOOR  # (as `raise_alarm` says it)
    walk = save(
        tx, walk, cover_state=WalkState.ALARM.value, **_alarm_begins(tx, walk, reason, cover=True)
    )
    facts = {"reason": reason.value, **_asked(asked), **facts_of(walk, tx.now_ms)}
    if at_door:
        facts["at_door"] = True
    timeline.record(tx, walk.id, "alarm", audience=FOR_WALKER, **facts)
    return walk


def tell_shown(
    tx: Tx,
    walk: Walk,
    kind: str,
    reason: Reason,
    asked: str | None = None,
    *,
    during: bool = False,
) -> None:
    """The people looking out for her hear of the alarm her devices were just shown (her SOS,
    no answer to the question they were asked, wrong PINs), in the silent alarm's timeline.
    `during`: wrong PINs during the alarm they were shown already (`_locked_by_wrong_pins`)."""
    facts = {"reason": reason.value, "cover": True, **_asked(asked), **facts_of(walk, tx.now_ms)}
    if during:
        facts["during"] = True
    actor = walk.walker_id if reason is Reason.SOS else None
    event_id = timeline.record(tx, walk.id, kind, audience=FOR_COMPANIONS, actor_id=actor, **facts)
    companions = alerts.companion_ids(tx.conn, walk.id)
    alerts.tell(tx, walk, "alarm", facts, companions, event_id=event_id)
