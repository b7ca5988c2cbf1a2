"""Those an alarm reached, and what they do about it: who they are (her companions, and her
guardians and the operator's hook once it climbed to them), "I'm on it", "found her safe",
and the end of an alarm, by them or by her PIN (raising one and its ladder: usecases/alarms.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict, NotFound
from walkwithme.domain.rules import LADDER
from walkwithme.domain.walks import WalkState, check_message
from walkwithme.store.schema import events
from walkwithme.store.tx import Tx
from walkwithme.usecases import alerts, looks, timeline
from walkwithme.usecases.alarms import audience_for
from walkwithme.usecases.timeline import FOR_ALL, FOR_COMPANIONS, FOR_WALKER, Audience
from walkwithme.usecases.walk_columns import COVER_COLUMNS
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import get_walk, save
from walkwithme.usecases.walks import audience_of, person_name


def alarmed_walk_for_helper(tx: Tx, walk_id: int, person_id: int) -> Walk:
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
        raise Conflict(_no_alarm(tx.conn, walk))
    return walk


def _no_alarm(conn: Connection, walk: Walk) -> str:
    """Why there is no alarm to act on, in words: who ended it, and their note. Two of her
    companions acting at once, the second read "This walk is not in alarm" where the first's
    word was, and took it for a fault (a companion's review). (What her devices were shown
    after her duress PIN, `cover`, is not said.)"""
    rows = conn.execute(
        sa.select(events.c.kind, events.c.actor_id, events.c.data)
        .where(
            events.c.walk_id == walk.id,
            events.c.kind.in_(("alarm_resolved", "inside")),
            events.c.audience.in_((FOR_ALL, FOR_COMPANIONS)),
        )
        .order_by(events.c.id.desc())
        .limit(5)
    )
    last = next((r for r in rows if not r.data.get("cover")), None)
    live = walk.state in (WalkState.ACTIVE, WalkState.AT_DOOR)
    if last is None and live:
        # (It said "the alarm is over" of a walk that never had one: an outside review.)
        return "there is no alarm on this walk"
    over = "the alarm is over" if live else "the walk is over"
    if last is None or last.actor_id is None or last.actor_id == walk.walker_id:
        return over
    by = person_name(conn, last.actor_id)
    if last.kind == "inside":
        return f"the walk is over: {by} said {person_name(conn, walk.walker_id)} is safe"
    note = last.data.get("note")
    return f"the alarm is over: {by} ended it" + (f": “{note}”" if note else "")


def is_guardian(conn: Connection, walk: Walk, person_id: int) -> bool:
    """One of her guardians, and her alarm has climbed to them: before it has, they are no
    more in it than anyone else (nothing of where she is, no "I'm on it" that would pause the
    ladder, and no way to learn that an alarm, a silent one say, is going on)."""
    return person_id in who_it_reached(conn, walk).guardians


def resolve(tx: Tx, walk_id: int, person_id: int, note: str, *, home: bool = False) -> None:
    """A companion or guardian who has found her safe ends the alarm, with a note; `home`:
    and she is safe where she is (home, a friend's, a hospital), so the walk is over too.
    Without it the walk goes on, and a phone that died would be late, and alarm everyone
    again up to the operator's hook, though whoever found her knows she is safe."""
    walk = alarmed_walk_for_helper(tx, walk_id, person_id)
    said = check_message(note)
    shown = walk.walker_state is WalkState.ALARM  # her devices were shown an alarm
    # Safe and the walk over: her companions hear both in one message (`_home_by`), not two
    # in the same second (an outside review read them as received).
    if home and walk.walker_live:
        walk, end = end_with_the_walk(tx, walk, by=person_id, note=said)
        _home_by(tx, walk, person_id, said, end)
        return
    walk = resolve_alarm(tx, walk, by=person_id, note=said)
    if shown and walk.walker_live:
        # She is told, as she would be of her walk's end: her SOS ended by someone else while
        # her phone is in her pocket, she went on thinking help was coming (an outside review).
        by = {"id": person_id, "name": person_name(tx.conn, person_id)}
        to_her = {"by": by, "note": said, "to_walker": True}
        alerts.tell(tx, walk, "alarm_resolved", to_her, [walk.walker_id])


def _home_by(tx: Tx, walk: Walk, person_id: int, note: str, end: AlarmEnd) -> None:
    """She is safe, said by whoever found her (`person_id`): the walk is over, as her "I'm
    inside" would end it, and everyone following it (her too) is told who said so, with
    the alarm's end (`end`)."""
    save(tx, walk, WalkState.SAFE, ended_at=tx.now_ms)
    facts: dict[str, Any] = {
        "note": note,
        # Safe by the word of whoever found her ("Mira is safe: end the walk too"), wherever
        # that is: not "home" (it said so of a walker found at a friend's), nor at her door.
        "by": {"id": person_id, "name": person_name(tx.conn, person_id)},
    }
    event_id = timeline.record(tx, walk.id, "inside", actor_id=person_id, **facts)
    end.tell_the_end(tx, walk, "inside", facts, event_id)
    # She is told it in her own words: "Noor said you are safe" (notify/messages.py).
    facts_to_her = {**facts, "to_walker": True}
    alerts.tell(tx, walk, "inside", facts_to_her, [walk.walker_id], event_id=event_id)


@dataclass(frozen=True)
class AlarmEnd:
    """An alarm ended with the walk (her right PIN saying she is inside or ending it, or
    whoever found her saying she is safe): her companions hear both in the walk's end, one
    message (two came in the same second, each with the note: an outside review)."""

    reached: list[int]  # her companions the alarm reached
    told: dict[str, Any]  # what its end says (`alarm_resolved`)
    event_id: int
    by: int  # who ended it

    def tell_the_end(
        self, tx: Tx, walk: Walk, kind: str, facts: dict[str, Any], event_id: int
    ) -> None:
        """The walk's end (`kind`, `facts`) to her companions now, saying the alarm is over
        to those it reached; the alarm's end alone to one it reached who follows her walks
        no more (a contact ended during it: he would go on looking for her); the walk's end
        alone to one who came since."""
        now = [p for p in alerts.companion_ids(tx.conn, walk.id) if p != self.by]
        over = [p for p in now if p in self.reached]
        alerts.tell(tx, walk, kind, {**facts, "alarm_over": True}, over, event_id=event_id)
        alerts.tell(tx, walk, kind, facts, [p for p in now if p not in over], event_id=event_id)
        gone = [p for p in self.reached if p not in now and p != self.by]
        alerts.tell(tx, walk, "alarm_resolved", self.told, gone, event_id=self.event_id)


def resolve_alarm(tx: Tx, walk: Walk, *, by: int, note: str | None) -> Walk:
    """The alarm is over. After a silent one, the walk becomes what her devices were shown:
    over if she was made to end it, going on otherwise (with the question they were asked,
    if one waits for her answer); an alarm they were shown is resolved for them too. Returns
    the walk as saved."""
    return _resolve(tx, walk, by=by, note=note, with_the_walk=False)[0]


def end_with_the_walk(tx: Tx, walk: Walk, *, by: int, note: str | None) -> tuple[Walk, AlarmEnd]:
    """The alarm is over, and the walk ends next: her guardians and the hook hear of the
    alarm now; her companions, with the walk's end (`AlarmEnd.tell_the_end`)."""
    return _resolve(tx, walk, by=by, note=note, with_the_walk=True)


def _resolve(
    tx: Tx, walk: Walk, *, by: int, note: str | None, with_the_walk: bool
) -> tuple[Walk, AlarmEnd]:
    # Read while the walk is in its alarm: a companion whose contact ended during it still
    # follows it until it is over (contacts.standing), so hears that it is.
    reached = who_it_reached(tx.conn, walk)
    looks.forget_what_the_cover_hid(tx, walk)
    reason = walk.judged.alarm_reason
    audience = audience_for(walk)
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
    stale = ("alarm",) if walk.judged.check_reason is not None else ("alarm", "check")
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
    # Everyone the alarm reached hears it is over, and who ended it (her, with her PIN, or
    # whoever found her): guardians and the operator's hook would otherwise go on looking
    # for someone who is home.
    # (Whether she ended it with her PIN, in the alerts only: not by names, which a companion
    # of hers may share; not on the event, which her devices see as her real PIN left it.)
    told = {**facts, "by_walker": by == walk.walker_id}
    end = AlarmEnd(reached.companions, told, event_id, by)
    if with_the_walk:
        reached = replace(reached, companions=[])  # (told with the walk's end: `end`)
    reached.tell(tx, walk, "alarm_resolved", told, event_id, but=by)
    return walk, end


@dataclass(frozen=True)
class Reached:
    """Everyone a walk's alarm has reached so far: those looking for her, who must hear what
    changes (she is at her door, the alarm is over)."""

    companions: list[int]
    guardians: list[int]  # if it climbed to them
    hook: bool  # if it climbed to the operator's hook

    def tell(
        self,
        tx: Tx,
        walk: Walk,
        kind: str,
        facts: dict[str, Any],
        event_id: int,
        *,
        but: int | None = None,
    ) -> None:
        """Tell them (`but` someone: whoever did it). Her companions get a link to the
        walk's page; her guardians and the hook don't follow her walks (that page would be
        a 404 to them), so theirs carries none (an empty `link_path`: notify/messages.py)."""
        companions = [p for p in self.companions if p != but]
        alerts.tell(tx, walk, kind, facts, companions, event_id=event_id)
        others = [p for p in self.guardians if p != but and p not in self.companions]
        if others or self.hook:
            no_page = {**facts, "link_path": ""}
            alerts.tell(tx, walk, kind, no_page, others, event_id=event_id, hook=self.hook)


def who_it_reached(conn: Connection, walk: Walk) -> Reached:
    """Everyone the walk's alarm has reached so far (`Reached`)."""
    rung = walk.judged.escalation_level or 0  # the highest rung the alarm reached
    guardians = (
        alerts.guardian_ids(
            conn, walk.walker_id, alarm_at=walk.alarm_since, walking_since=walk.walking_since
        )
        if rung >= LADDER.index("guardians")
        else []
    )
    return Reached(alerts.companion_ids(conn, walk.id), guardians, rung >= LADDER.index("hook"))


_COVER_CLEARED: dict[str, Any] = dict.fromkeys(COVER_COLUMNS)


def _after_alarm(walk: Walk, now_ms: int) -> dict[str, Any]:
    """What an alarm that ends leaves of the walk's rules: quiet for a while, the count of
    wrong PINs cleared. After a silent one whose cover her devices still see going on, the
    walk takes on the cover's rules as they stand (its check, its quiet time, the count): it
    becomes the walk her real PIN would have left, nothing in it resolved."""
    ended: dict[str, Any] = {**walk.quiet_after(now_ms, None), "wrong_pins": 0}
    cover = walk.cover
    if cover is None:
        return ended
    if cover.state is WalkState.ALARM:
        return {**ended, **_COVER_CLEARED}
    if not walk.walker_live:
        return {**ended, **_COVER_CLEARED, "ended_at": cover.ended_at}
    return {
        **_COVER_CLEARED,
        "check_reason": cover.judged.check_reason,
        "check_asked_at": cover.judged.check_asked_at,
        "quiet_until": cover.judged.quiet_until,
        "quiet_rules": cover.judged.quiet_rules,
    }
