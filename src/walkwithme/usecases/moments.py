"""The walker's PIN moments: "I'm OK" (to a check, or in an alarm), "I'm inside", ending the
walk and extending it. Each takes her PIN, or her duress PIN.

Her duress PIN answers exactly as her PIN would, in everything her own devices can see: the
response, her timeline (her own copy of each event, numbered without gaps), her notifications,
what her phone is told of its later fixes. Meanwhile the walk goes into a silent alarm that only
the people looking out for her see, and it stays live and shared with them whatever she is made
to do next, until a companion or a guardian resolves it: her own PINs, from then on, only move
what her devices are shown (the walk's `Cover`, usecases/walk_columns.py: its state, its end,
and the rules' facts it keeps of its own, its check and quiet time, which the watchdog's shadow
of the rules judges: `judging._judge_covert`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from walkwithme.domain.errors import TooSoon
from walkwithme.domain.rules import Reason
from walkwithme.domain.walks import WalkState, check_extension, check_message
from walkwithme.store.tx import Tx
from walkwithme.usecases import alarms, alerts, cover_channels, helping, next_walks, timeline
from walkwithme.usecases.offers import LocalTime
from walkwithme.usecases.timeline import FOR_COMPANIONS, FOR_WALKER
from walkwithme.usecases.walk_columns import judged_columns
from walkwithme.usecases.walk_record import Walk, shown_columns
from walkwithme.usecases.walk_store import get_walk, save
from walkwithme.usecases.walks import ended_for_her, own_live_walk, person_name

MINUTE_MS = 60_000


class Pin(StrEnum):
    """Which of her PINs she gave (a wrong one never gets this far)."""

    REAL = "real"
    DURESS = "duress"


# -- PIN attempts: counted, slowed, and refused alike while a wrong-PIN alarm lasts -----------

T = TypeVar("T")


class Refused(StrEnum):
    """Why a PIN attempt did nothing: what the walker's devices are told, once committed."""

    WRONG_PIN = "wrong PIN"
    # During an alarm that wrong PINs raised, every PIN gets this: whoever guessed wrong three
    # times may guess right the fourth, and the answer must not tell them.
    LOCKED = "this alarm was raised after wrong PINs: only a companion or a guardian can end it"


FREE_ATTEMPTS = 2  # attempts in a row after which the next needs no wait: three come at once
FIRST_WAIT_MS = 5_000
LONGEST_WAIT_MS = 15 * MINUTE_MS


def pin_wait_ms(attempts: int) -> int:
    """How long the next PIN attempt waits after `attempts` in a row without her right PIN:
    the first three are taken at once (fingers fumble in the cold; the third wrong one raises
    the alarm), the fourth waits 5 s, and each after doubles that, up to 15 minutes, so that
    guessing a 4-digit PIN would take months."""
    if attempts <= FREE_ATTEMPTS:
        return 0
    return min(FIRST_WAIT_MS << min(attempts - FREE_ATTEMPTS - 1, 20), LONGEST_WAIT_MS)


def claim_attempt(tx: Tx, walk_id: int, walker_id: int) -> None:
    """A PIN attempt on her walk is counted before the PIN is checked, as if it were wrong
    (her right PIN clears the count), so that guesses sent side by side can't slip past the
    wait between them. `TooSoon` if the wait after the last attempt isn't over."""
    walk = own_live_walk(tx, walk_id, walker_id)
    if walk.wrong_pins > 0 and walk.pin_retry_at is not None and tx.now_ms < walk.pin_retry_at:
        wait_s = math.ceil((walk.pin_retry_at - tx.now_ms) / 1000)
        raise TooSoon(f"too many PIN attempts: try again in {wait_s} seconds", retry_after_s=wait_s)
    attempts = walk.wrong_pins + 1
    save(tx, walk, wrong_pins=attempts, pin_retry_at=tx.now_ms + pin_wait_ms(attempts))


def pin_kept(tx: Tx, walk_id: int, walker_id: int, pin: Pin) -> None:
    """Her PIN, or her duress PIN, given with something refused (a next walk at no time
    there is: 422), after `take` took all of it back: what she asked for is not done, and yet
    the PIN was hers. Counted before it was checked as if wrong (`claim_attempt`), it left her
    right PIN counted among wrong ones: two typos, then her PIN with a misspelt day, and one
    typo more raised the alarm no PIN ends (an outside review). So the count starts again, as
    her PIN makes it; and her duress PIN raises its silent alarm all the same, her devices
    shown the walk as her real PIN's refusal leaves it (nothing else changed)."""
    walk = get_walk(tx.conn, walk_id)
    if walk is None or walk.walker_id != walker_id or not walk.walker_live:
        return  # over meanwhile: nothing to count
    if walk.walker_alarm_reason == Reason.WRONG_PINS.value:
        return  # `take` refuses every PIN then, before any moment: nothing was taken back
    if pin is Pin.REAL:
        save(tx, walk, wrong_pins=0)
        return
    shown = walk.walker_state
    reason = walk.walker_alarm_reason if shown is WalkState.ALARM else None
    _covered(tx, walk, pin, None, {}, shown=shown, reason=reason)


def take(
    tx: Tx,
    walk_id: int,
    walker_id: int,
    pin: Pin | None,
    action: str,
    moment: Callable[[Tx, Pin], T],
) -> T | Refused:
    """The PIN she gave (`None`: neither of hers), for `action`: the moment itself, or why
    it did nothing (recorded; the caller refuses it once the writer has committed)."""
    walk = own_live_walk(tx, walk_id, walker_id)
    if walk.walker_alarm_reason == Reason.WRONG_PINS.value:
        _locked(tx, walk, pin, action)
        return Refused.LOCKED
    if pin is None:
        alarms.refuse_pin(tx, walk, action)
        return Refused.WRONG_PIN
    return moment(tx, pin)


def _locked(tx: Tx, walk: Walk, pin: Pin | None, action: str) -> None:
    """A PIN during an alarm that wrong PINs raised (the one her devices are shown): it
    changes nothing they see, whichever PIN it is: the same refusal, the same event on her
    timeline, the same count towards the next wait. Those looking out for her hear which PIN
    it was; her duress PIN raises its silent alarm, as it does anywhere."""
    timeline.record(
        tx, walk.id, "pin_refused", audience=FOR_WALKER, actor_id=walk.walker_id, action=action
    )
    if pin is Pin.DURESS:
        shown = WalkState.ALARM
        reason = walk.walker_alarm_reason
        _covered(tx, walk, pin, None, {}, shown=shown, reason=reason, wrong_pins=walk.wrong_pins)
        return
    timeline.record(
        tx,
        walk.id,
        "pin_refused",
        audience=FOR_COMPANIONS,
        actor_id=walk.walker_id,
        action=action,
        right_pin=pin is Pin.REAL,
    )


def inside(
    tx: Tx,
    walk_id: int,
    walker_id: int,
    note: str | None,
    pin: Pin,
    next_walk: LocalTime | None = None,
) -> None:
    """She is inside: the walk is safe and over, with a last word for her companions and,
    if she gives one, the time of their next walk together (usecases/next_walks.py)."""
    walk = own_live_walk(tx, walk_id, walker_id)
    facts: dict[str, Any] = {
        "note": _note(note),
        # At her door (or there when an alarm, hers or one her devices are shown, began), or
        # last seen there.
        "at_door": walk.at_her_door,
    }
    next_at = next_walks.at_of(tx, walker_id, next_walk) if next_walk is not None else None
    if pin is Pin.DURESS or walk.covert:
        _covered(tx, walk, pin, "inside", facts, shown=WalkState.SAFE, ended=True)
        if next_at is not None:  # as her devices were told; the alarm is what they hear now
            companions = alerts.companion_ids(tx.conn, walk_id)
            next_walks.promise(tx, walker_id, companions, next_at, told=False)
        return
    walk, end = _alarm_over(tx, walk)
    save(tx, walk, WalkState.SAFE, ended_at=tx.now_ms)
    event_id = timeline.record(tx, walk_id, "inside", actor_id=walker_id, **facts)
    companions = alerts.companion_ids(tx.conn, walk_id)
    _tell_the_end(tx, walk, end, "inside", facts, companions, event_id)
    if next_at is not None:
        next_walks.promise(tx, walker_id, companions, next_at, told=True)


def end(tx: Tx, walk_id: int, walker_id: int, note: str | None, pin: Pin) -> None:
    walk = own_live_walk(tx, walk_id, walker_id)
    facts: dict[str, Any] = {"note": _note(note)}
    if walk.destination is not None and (walk.door_at is not None or walk.last.fix()):
        # Ended on the way, not at her door, is not "home": her companions are told which (a
        # review read "Mira ended the walk" as her having arrived). Where she was unknown
        # (no position yet), nothing is said of it.
        facts["at_door"] = walk.at_her_door
    if pin is Pin.DURESS or walk.covert:
        _covered(tx, walk, pin, "ended", facts, shown=WalkState.ENDED, ended=True)
        return
    walk, end = _alarm_over(tx, walk)
    save(tx, walk, WalkState.ENDED, ended_at=tx.now_ms)
    event_id = timeline.record(tx, walk_id, "ended", actor_id=walker_id, **facts)
    companions = alerts.companion_ids(tx.conn, walk_id)
    _tell_the_end(tx, walk, end, "ended", facts, companions, event_id)


def _alarm_over(tx: Tx, walk: Walk) -> tuple[Walk, helping.AlarmEnd | None]:
    """Her right PIN, saying she is inside or ending the walk during an alarm, ends the alarm
    first, as "I'm OK" would: everyone it reached (her guardians, the operator's hook) hears
    that it is over and that she ended it; her companions, in the walk's end (one message:
    two came in one second). What the end's alert says of the alarm is in the alert only:
    her devices see the event as her duress PIN's twin would show it."""
    if walk.state is not WalkState.ALARM:
        return walk, None
    return helping.end_with_the_walk(tx, walk, by=walk.walker_id, note=None)


def _tell_the_end(
    tx: Tx,
    walk: Walk,
    end: helping.AlarmEnd | None,
    kind: str,
    facts: dict[str, Any],
    companions: list[int],
    event_id: int,
) -> None:
    """Her walk's end to her companions, with the alarm's end if it ended it."""
    if end is None:
        alerts.tell(tx, walk, kind, facts, companions, event_id=event_id)
    else:
        end.tell_the_end(tx, walk, kind, facts, event_id)


def extend(tx: Tx, walk_id: int, walker_id: int, minutes: int, pin: Pin) -> int:
    """More time before she is expected; returns the new expected arrival."""
    check_extension(minutes)
    walk = own_live_walk(tx, walk_id, walker_id)
    expected_at = max(walk.expected_at, tx.now_ms) + minutes * MINUTE_MS
    facts: dict[str, Any] = {"minutes": minutes, "expected_at": expected_at}
    covered = pin is Pin.DURESS or walk.covert
    # Her right PIN is her answer to a question too: she is OK, only slower. And a stop she
    # announces (a shop, a friend's) is not a stall, for the minutes she asked.
    asked = walk.walker_judged.check_reason
    answered = _answered(
        walk, covered, Reason(asked) if asked else None, tx.now_ms, more_time_ms=minutes * MINUTE_MS
    )
    if asked is not None:
        facts["answered"] = asked
        alerts.supersede(tx, walk_id, ("check",), "she answered")
    if covered:
        shown = walk.walker_state
        _covered(tx, walk, pin, "extended", facts, shown=shown, expected_at=expected_at, **answered)
        return expected_at
    save(tx, walk, expected_at=expected_at, wrong_pins=0, **answered)
    timeline.record(tx, walk_id, "extended", actor_id=walker_id, **facts)
    return expected_at


def ok(tx: Tx, walk_id: int, walker_id: int, pin: Pin) -> str:
    """ "I'm OK": answers the check, or ends an alarm she is in. Returns what it answered:
    "check", "alarm" or "nothing". After her duress PIN, what she answers is what her devices
    are shown (the cover's check, or its alarm): her PINs move only the cover."""
    walk = own_live_walk(tx, walk_id, walker_id)
    covered = pin is Pin.DURESS or walk.covert
    if walk.walker_state is WalkState.ALARM:
        shown_reason = walk.walker_alarm_reason
        if covered:
            facts: dict[str, Any] = {
                "by": {"id": walker_id, "name": person_name(tx.conn, walker_id)},
                "note": None,
                "reason": shown_reason,
            }
            # As `helping.resolve_alarm` leaves a walk: quiet for a while, and a question to
            # her still waiting to be delivered is not sent.
            alerts.supersede(tx, walk_id, ("check",), "the alarm was resolved")
            quiet = walk.quiet_after(tx.now_ms, None, covered=True)
            _covered(tx, walk, pin, "alarm_resolved", facts, shown=walk.after_alarm, **quiet)
        else:
            helping.resolve_alarm(tx, walk, by=walker_id, note=None)
        return "alarm"
    asked = walk.walker_judged.check_reason
    if asked is None:
        if covered:
            # Nothing was asked; her duress PIN is a silent alarm all the same.
            _covered(tx, walk, pin, None, {}, shown=walk.walker_state)
        else:
            save(tx, walk, wrong_pins=0)
        return "nothing"
    reason = Reason(asked)
    alerts.supersede(tx, walk_id, ("check",), "she answered")
    answered = _answered(walk, covered, reason, tx.now_ms)
    if covered:
        facts = {"reason": reason.value}
        _covered(tx, walk, pin, "check_answered", facts, shown=walk.walker_state, **answered)
        return "check"
    save(tx, walk, wrong_pins=0, **answered)
    timeline.record(tx, walk_id, "check_answered", actor_id=walker_id, reason=reason.value)
    return "check"


def _answered(
    walk: Walk, covered: bool, reason: Reason | None, now_ms: int, more_time_ms: int = 0
) -> dict[str, Any]:
    """She vouched for herself with her PIN (`reason`: the question her devices were asked,
    if any, now answered): what was due then is not asked about again for a while."""
    return {
        **shown_columns(covered, check_reason=None, check_asked_at=None),
        **walk.quiet_after(now_ms, reason, covered=covered, more_time_ms=more_time_ms),
    }


def _covered(
    tx: Tx,
    walk: Walk,
    pin: Pin,
    kind: str | None,
    facts: dict[str, Any],
    *,
    shown: WalkState,
    ended: bool = False,
    reason: str | None = None,
    **values: Any,
) -> None:
    """A moment under cover: her devices are shown `shown` (and her copy of the event), as
    her real PIN would have left them; the walk itself stays, or goes, into the silent alarm.
    `reason`: the alarm her devices are shown, if `shown` is one. A right PIN of either kind
    clears the count of wrong ones, as her real PIN does. `values`: more of what her devices
    are shown (the cover's columns, or the walk's own that both share)."""
    if not walk.covert:
        cover_channels.begin(tx, walk)  # what her devices are told of who hears
    # What her real PIN would have told those looking out for her now, if anything: the end
    # of the walk, or of the alarm her devices were shown (cover_channels.silent_for).
    ended_shown = walk.walker_state is WalkState.ALARM and shown is not WalkState.ALARM
    stands_for = kind if kind in ("inside", "ended") else "alarm_resolved" if ended_shown else None
    cover: dict[str, Any] = {
        **_cover_from(walk, tx.now_ms),
        "cover_state": shown.value,
        "wrong_pins": 0,
        **values,
    }
    if shown is not WalkState.ALARM:
        cover.update(_NO_COVER_ALARM)
    elif reason is not None:
        cover["cover_alarm_reason"] = reason
    if ended:
        cover["cover_ended_at"] = tx.now_ms
        cover.update(ended_for_her(tx.conn, walk))  # where she is, for her devices, stops here
    if pin is Pin.DURESS and walk.state is not WalkState.ALARM:
        walk = alarms.raise_alarm(
            tx, walk, Reason.DURESS, silent=True, given_to=kind, stands_for=stands_for, **cover
        )
        alarmed = True
    else:
        if pin is Pin.DURESS:
            cover["alarm_reason"] = Reason.DURESS.value  # her own PIN can no longer end it
        walk = save(tx, walk, **cover)
        alarmed = False
    if kind is not None:
        timeline.record(tx, walk.id, kind, audience=FOR_WALKER, actor_id=walk.walker_id, **facts)
        # The people looking out for her see what she was made to do, marked as such, and
        # with which of her PINs.
        timeline.record(
            tx,
            walk.id,
            kind,
            audience=FOR_COMPANIONS,
            actor_id=walk.walker_id,
            cover=True,
            pin=pin.value,
            **facts,
        )
    if pin is Pin.DURESS and not alarmed:
        # Already in alarm: her duress PIN is said again to those looking out for her.
        alarms.tell_duress_again(tx, walk, said=kind, stands_for=stands_for)


_NO_COVER_ALARM = {
    "cover_alarm_reason": None,
    "cover_alarm_at": None,
    "cover_escalation_level": None,
    "cover_escalate_at": None,
}


def _cover_from(walk: Walk, now_ms: int) -> dict[str, Any]:
    """When her duress PIN first gives her devices a cover: the cover starts as the walk her
    devices see now (its question waiting, its quiet time, the alarm they are shown and its
    ladder), so the rules' shadow goes on from there as the rules would have."""
    if walk.covert:
        return {}
    # Before her duress PIN, her devices were shown the walk itself, and its alarm only if in one.
    judged = walk.judged if walk.state is WalkState.ALARM else walk.judged.without_alarm()
    return {"cover_since": now_ms, **shown_columns(True, **judged_columns(judged))}


def _note(note: str | None) -> str | None:
    return check_message(note) if note else None
