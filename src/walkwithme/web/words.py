"""Words, not codes: times in the viewer's zone, distances in metres, states as sentences.

The pages say "21:18, 3 min ago", never an epoch; the same sentences are rendered by the
server (what the page says before its script runs) and by static/words.js (live updates).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from walkwithme import timewords
from walkwithme.notify.messages import (
    DURESS_AGAIN,
    REASONS,
    TIMER_REASONS,
    a_timer_walk,
    said_reason,
)
from walkwithme.timewords import ago as ago
from walkwithme.timewords import span as duration
from walkwithme.timewords import zone as zone

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def clock_time(at_ms: int, tz: str | None) -> str:
    """ "21:18", in the viewer's zone."""
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone(tz)).strftime("%H:%M")


def when(at_ms: int | None, now_ms: int, tz: str | None) -> str:
    """ "21:18, 3 min ago"; a time to come: "21:40, in 12 min", or "tomorrow at 08:00" (it
    said "just now" of a track kept until next month, or an offer for tomorrow)."""
    if at_ms is None:
        return "not yet"
    ahead_ms = at_ms - now_ms
    if ahead_ms >= HOUR_MS:
        return day_time(at_ms, now_ms, tz)
    if ahead_ms >= MINUTE_MS:
        return f"{clock_time(at_ms, tz)}, in {ahead_ms // MINUTE_MS} min"
    return f"{clock_time(at_ms, tz)}, {ago(at_ms, now_ms)}"


def day_time(at_ms: int | None, now_ms: int, tz: str | None) -> str:
    """ "today at 21:00", "tomorrow at 08:00", "Fri 5 Dec at 21:00", in the viewer's zone."""
    if at_ms is None:
        return "now"
    where = zone(tz)
    at = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(where)
    today = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(where).date()
    named = {today: "today", today + timedelta(days=1): "tomorrow"}
    named[today - timedelta(days=1)] = "yesterday"
    day = named.get(at.date()) or f"{at:%a} {at.day} {at:%b}"
    return f"{day} at {at:%H:%M}"


# -- whether her positions are arriving, and whether she is late (static/words.js the same) --


def silent_s(view: dict[str, Any]) -> float:
    """The walk's silence threshold, the stricter of day and night (seconds)."""
    shown = view.get("thresholds") or {}
    values = [float(p["silent"]) for p in (shown.get("day"), shown.get("night")) if p]
    return min(values) if values else 180.0


def fresh_s(silent: float) -> float:
    """A position younger than this is fresh: "Live"; older, the page says how old (amber)."""
    return min(60.0, silent / 2)


def age_class(last_at: int, now_ms: int, silent: float) -> str:
    """ "" (fresh), "amber" (not fresh), "red" (past the silence threshold)."""
    age_s = (now_ms - last_at) / 1000
    if age_s <= fresh_s(silent):
        return ""
    return "red" if age_s > silent else "amber"


def position_badge(last_at: int | None, now_ms: int, silent: float) -> tuple[str, str]:
    """What the page's badge says before its script runs (and without it): the script says
    "Live" once it is connected and her last position is fresh."""
    if last_at is None:
        return "No position yet", "amber"
    shade = age_class(last_at, now_ms, silent)
    if not shade:
        return "Not live yet", ""
    return f"No position for {duration(now_ms - last_at)}", shade


LATE_STATES = ("active", "alarm")  # on the way: at the door she has arrived


def late_by(view: dict[str, Any], now_ms: int) -> str | None:
    """ "12 min late" once the expected time has passed and she hasn't arrived."""
    expected = view.get("expected_at")
    if not view.get("live") or view.get("state") not in LATE_STATES or expected is None:
        return None
    if now_ms <= int(expected):
        return None
    return f"{duration(now_ms - int(expected))} late"


def metres(distance: float | None) -> str:
    return "unknown" if distance is None else timewords.distance(distance)


def at_most(accuracy: float) -> str:
    """A position's accuracy, rounded up, never down: "within 10 m" for ±12 m said she was
    found more surely than her phone said (an operator's review). To 5 m below 100 m, to 10 m
    below a kilometre (static/words.js the same)."""
    if accuracy >= 1000:
        return f"{math.ceil(accuracy / 100) / 10:.1f} km"
    step = 5 if accuracy < 100 else 10
    return f"{max(step, math.ceil(accuracy / step) * step)} m"


def coordinates(lat: float, lon: float) -> str:
    """ "60.16110, 24.94470": where she is, to read out on the phone (to 112) or to type into
    any map app; five decimals, about a metre (static/walk.js the same)."""
    return f"{lat:.5f}, {lon:.5f}"


def geo_uri(lat: float, lon: float) -> str:
    """A `geo:` link that opens her position in the phone's own map app, with a pin there
    (`q`: Android's map apps drop one; without it they only centre the map)."""
    at = f"{lat:.5f},{lon:.5f}"
    return f"geo:{at}?q={at}"


def way_there(destination: dict[str, Any] | None) -> str | None:
    """What the map's route is called: "the way home", "the way to Aino's", "the way there"
    (a walk to a place that is not home said "the way home"); none on a timer walk."""
    if not destination:
        return None
    name = str(destination.get("name") or "").strip()
    if not name:
        return "the way there"
    return "the way home" if name.casefold() == "home" else f"the way to {name}"


def reason(code: str | None) -> str:
    return REASONS.get(code or "", code or "something is wrong")


# An offer's state, as the person who made it reads it (his home page, his offers page).
OFFER_STATES = {
    "pending": "waiting for an answer",
    "accepted": "accepted: the walk started",
    "declined": "declined",
    "expired": "not answered in time",
    "withdrawn": "withdrawn",
    "closed": "no longer open: you no longer follow {name}'s walks",
}


def offer_state(state: str, name: str) -> str:
    """An offer he made to `name`, in words."""
    return OFFER_STATES.get(state, state).format(name=name)


# What came during an alarm, said after why it began ("SOS pressed, then ..."): her duress PIN
# given during it first says that it was, then what it is.
THEN = {"duress": "the duress PIN was given: a silent call for help"}


def then_reason(code: str) -> str:
    return THEN.get(code) or reason(code)


# "Are you OK?" waiting for her answer, on his page's first screen (walk_context.waiting).
ASKED = (
    "{name} was asked “Are you OK?”: {reason}. If {name} doesn't answer by {by}, the alarm is "
    "raised."
)
# What ends the wait: answered, taken back, turned into an alarm, or the walk over.
ENDS_A_QUESTION = frozenset(
    {"check_answered", "check_withdrawn", "extended", "alarm", "sos", "duress", "inside", "ended"}
)


def asked(event: dict[str, object], name: str, tz: str | None) -> str:
    """The question she has not answered yet, as his page says it (words.js `asked`)."""
    why = said_reason(event.get("reason") or "something is wrong", timer=a_timer_walk(event))
    by = event.get("answer_by")
    return ASKED.format(
        name=name, reason=why, by=clock_time(by, tz) if isinstance(by, int) else "its time"
    )


def alarm_why(codes: list[str], began: str | None = None) -> str:
    """Why an alarm is, from why it began and what came during it, each said once: "SOS
    pressed, then wrong PIN three times". `began`: why it began, in words, if said otherwise
    than by its code (with why she was asked: `alarm_began`)."""
    first, *later = codes
    once = [c for i, c in enumerate(later) if c != first and c not in later[:i]]
    return ", then ".join([began or reason(first), *map(then_reason, once)])


def alarm_began(alarm: dict[str, object]) -> str:
    """Why the alarm began, in words: an unanswered "Are you OK?" with why she was asked
    ("no answer to “Are you OK?”, asked because: the phone went silent": whether to call her
    or go where she was seen hangs on it), a timer walk's in its own words."""
    code = alarm.get("reason") or alarm.get("kind")
    return said_reason(code, alarm.get("asked_because"), timer=a_timer_walk(alarm))


_STATES = {
    "active": "{name} is on the way",
    # A timer walk has no way to be on: she is out, with a time set to check on her.
    "active_timer": "{name} is out on a timed walk",
    "at_door": "{name} is at the door",
    "alarm": "ALARM: {name} may need help",
    "safe": "{name} is home, inside",
    # Her "I'm inside" neither at her door nor last seen there (`headline_state`)...
    "safe_elsewhere": "{name} is inside, not where the walk was going",
    # ...or on a timer walk, which has no home to be at...
    "safe_timer": "{name} is inside",
    # ...or ended by whoever found her, safe wherever that was (`helping.resolve`'s `home`).
    "safe_by": "{name} is safe",
    "ended": "{name} ended the walk",
    # ...on the way, not at her door (nor last seen there): not home (`headline_state`)...
    "ended_on_the_way": "{name} ended the walk on the way, not at home",
    # ...not by her: the alarm her duress PIN raised as she was made to end it was ended.
    "ended_resolved": "The alarm is over, and {name}'s walk with it",
}


def state_sentence(state: str, name: str) -> str:
    return _STATES.get(state, "{name}'s walk: " + state).format(name=name)


CLOSING_KINDS = ("inside", "ended", "alarm_resolved")


def headline_state(state: str, events: list[dict[str, Any]], timer: bool) -> str:
    """The state a walk's headline says: a safe walk is "home, inside" only where her "I'm
    inside" came at her door or last seen there (moments.inside's `at_door`); "safe" by the
    word of whoever found her, as her companions' alert says it (notify/messages.py); static/
    words.js's `headlineState` says the same live."""
    closing = next((e for e in reversed(events) if e["kind"] in CLOSING_KINDS), None)
    if state in ("ended", "safe") and closing and closing["kind"] == "alarm_resolved":
        # Over by whoever ended the alarm her duress PIN made her end it under ("I'm inside"
        # as much as "End the walk"): not the story her phone was made to tell.
        return "ended_resolved"
    if state == "ended":
        if closing and closing.get("at_door") is False:
            return "ended_on_the_way"
        return state
    if state == "active" and timer:
        return "active_timer"
    if state != "safe":
        return state
    inside = next((e for e in reversed(events) if e["kind"] == "inside"), None)
    if inside is None:
        return state
    if inside.get("by"):
        return "safe_by"
    if timer:
        return "safe_timer"
    return "safe_elsewhere" if inside.get("at_door") is False else state


_EVENTS = {
    "started": "{name} started the walk",
    "arrived": "{name} is at the door",
    "left_door": "{name} left the door",
    "message": "{sender}: “{text}”",
    "extended": "{name} asked for more time",
    "extended_answer": "{name} answered “I'm OK”, and asked for more time",
    "pin_refused": "A wrong PIN was given",
    # Her own PIN during an alarm three wrong ones raised: refused (no PIN ends it), and said
    # to those looking out for her as hers, not as one more wrong PIN (a companion's review).
    "pin_refused_right": "{name}'s own PIN was given, and refused: after three wrong PINs, "
    "only someone following the walk can end this alarm",
    "check": "The service asked {name} “Are you OK?”",
    "check_answered": "{name} answered “I'm OK”",
    # "Are you OK?" taken back by her fixes (usecases/track.py), by what it was asked for.
    "check_withdrawn_silent": "{name}'s phone is reporting again: “Are you OK?” is taken back",
    "check_withdrawn_stalled": "{name} is getting closer again: “Are you OK?” is taken back",
    "check_withdrawn_late": "{name} is at the door: “Are you OK?” is taken back",
    "alarm": "ALARM: {reason}",
    "alarm_escalated": "The alarm went on to {rung}",
    "alarm_escalated_again": "The alarm was said again to {rung}",
    "alarm_acknowledged": "{by} is on it",
    "alarm_acknowledged_by_you": "You are on it",
    "alarm_resolved": "{by} ended the alarm",
    "sos": "{name} pressed SOS",
    "low_battery": "{name}'s battery is low",
    # Heard again during an alarm, after a silence (usecases/heard_again.py).
    "reporting_again": "{name}'s phone is reporting again",
    # Nearer again during an alarm about her progress (usecases/walking_on.py).
    "walking_on": "{name} is getting nearer again",
    "inside": "{name} is inside",
    "inside_by": "{by} said {name} is safe, and ended the walk",
    "ended": "{name} ended the walk",
    "expected_later": "{name} is slower, but getting closer: more time",
    "waited": "{name} waited a while, and is on the way again: more time",
    # Her duress PIN given during an alarm (`said`: what for): the first time, the alarm it
    # makes silent ("alarm", its reason `duress`); after that, again.
    "duress": "ALARM: {name} gave the duress PIN again",
}


# What her phone's app said of the phone (a `phone_signal` event's `signal`).
# Who the alarm's ladder told (`alarm_escalated`'s rung), in words.
RUNGS = {
    "companions": "{name}'s companions",
    "guardians": "{name}'s guardians",
    # Not the emergency services: a companion read it as 112 called, and did not call (a review).
    "hook": "this service's own emergency contact (not the emergency services)",
}

SIGNALS = {
    "charging": "{name}'s phone ({device}) is charging",
    "not_charging": "{name}'s phone ({device}) is no longer charging",
    "offline": "{name}'s phone ({device}) lost its connection",
    "mock_location": "{name}'s phone ({device}) says its location may be faked",
    "entered_destination": "{name}'s phone ({device}) says {name} reached the destination",
    "left_destination": "{name}'s phone ({device}) says {name} left the destination",
    "tour_made": "{name}'s phone ({device}) made a share link of this walk (an OwnTracks tour)",
    # How often her phone reports (a `phone_reports` event, said as a signal: as_signal).
    "reports_rarely": "{name}'s phone ({device}) reports only now and then: where {name} is "
    "seen may be minutes old",
    "reports_often": "{name}'s phone ({device}) reports often again",
    "reports_unknown": "{name}'s phone ({device}) doesn't say how often it reports",
}


def as_signal(event: dict[str, object]) -> dict[str, object]:
    """A `phone_reports` event (her phone reports seldom, or often again) as the signal its
    sentence is kept under, `reports_<how often>` (words.js does the same). It was said
    "phone reports", the event's own name."""
    return {**event, "kind": "phone_signal", "signal": f"reports_{event.get('reports')}"}


# Events that may carry a note, quoted after them: her closing note ("Mira is inside: “Would
# you like to come in?”"), and what whoever ended an alarm said of it.
CLOSING_WORD = ("inside", "ended", "alarm_resolved")


def closing(event: dict[str, object]) -> str:
    """The event's note (her closing note, what ended an alarm), quoted after it."""
    note = event.get("note")
    return f": “{note}”" if event.get("kind") in CLOSING_WORD and note else ""


def charging_word(event: dict[str, object]) -> str:
    """A low-battery notice from a phone that said it is charging says so."""
    return ", but charging" if event.get("kind") == "low_battery" and event.get("charging") else ""


def full_stop(sentence: str) -> str:
    """The sentence with its full stop, unless what it quotes ends it already: “Would you like
    to come in?” takes none after it."""
    return sentence if sentence.rstrip("”\"'").endswith((".", "!", "?", "…")) else sentence + "."


def came_during_alarm(event: dict[str, Any]) -> bool:
    """What an alarm's event says of the alarm it came during, not a new one: wrong PINs
    (`during`), her duress PIN given during it, or her SOS pressed during it (an `sos` event:
    one that raises an alarm is said as the "alarm" it raised) (walk_context, walk_over)."""
    return bool(event["kind"] == "alarm" and event.get("during")) or event["kind"] in (
        "duress",
        "sos",
    )


def person(said: object, me: int | None) -> str:
    """Who did something (an event's `by` or `sender`), in words: "You" on their own page."""
    if not isinstance(said, dict):
        return "Someone"
    if me is not None and said.get("id") == me:
        return "You"
    return str(said.get("name", "Someone"))


def on_it(names: list[str]) -> str:
    """Who said "I'm on it" during this alarm (each once, in the order they said it)."""
    if not names:
        return "Nobody has said they are on it yet."
    # "You" reads "you" after others: "Gus and you are on it."
    said = [names[0]] + ["you" if n == "You" else n for n in names[1:]]
    listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
    verb = "is" if len(names) == 1 and names[0] != "You" else "are"
    return f"{listed} {verb} on it."


def duress_given(event: dict[str, object]) -> bool:
    """Whether the event says her duress PIN was given (those looking out for her see it)."""
    kind = event.get("kind")
    return kind == "duress" or (kind == "alarm" and event.get("reason") == "duress")


def given_under_duress(event: dict[str, object]) -> bool:
    """Whether the event says her duress PIN was given, or is what it made her phone say
    (`cover`): static/alarm_banner.js's `givenUnderDuress`."""
    return duress_given(event) or bool(event.get("cover") and event.get("pin") == "duress")


def timeline(events: list[dict[str, Any]], name: str, me: int | None = None) -> list[str]:
    """Each event's sentence, in order: her duress PIN is said "again" only once it was given
    before (an SOS she was made to end with it read "Mira gave the duress PIN again")."""
    said: list[str] = []
    before = False
    for event in events:
        said.append(event_sentence(event, name, me, duress_before=before))
        before = before or duress_given(event)
    return said


def event_sentence(
    event: dict[str, object], name: str, me: int | None = None, *, duress_before: bool = False
) -> str:
    """The event as this side's timeline says it; `me`: the person reading it, whose own
    doings are said "You"; `duress_before`: her duress PIN was given earlier in the walk."""
    kind = str(event.get("kind"))
    if kind == "duress" and not duress_before:
        kind = "alarm"  # the first time: the silent alarm it is
    elif kind == "duress":
        return _EVENTS["duress"].format(name=name) + DURESS_AGAIN.get(str(event.get("said")), "")
    if event.get("cover") and event.get("pin") == "duress":
        # What she was made to do, as those looking out for her must read it: not "Mira
        # answered “I'm OK”" above the silent alarm it raised.
        return f"{name} gave the duress PIN{DURESS_AGAIN.get(kind, '')}" + closing(event)
    by = event.get("by")
    if kind == "inside" and isinstance(by, dict):  # said by whoever found her, not by her
        return _EVENTS["inside_by"].format(name=name, by=person(by, me)) + closing(event)
    if kind == "phone_reports":
        event, kind = as_signal(event), "phone_signal"
    if kind == "phone_signal" and str(event.get("signal")) in SIGNALS:
        device = event.get("device") or "phone"
        return SIGNALS[str(event.get("signal"))].format(name=name, device=device)
    if kind == "alarm_escalated" and event.get("again"):
        kind = "alarm_escalated_again"
    if kind == "check_withdrawn":
        kind = f"check_withdrawn_{event.get('reason')}"
    if kind == "pin_refused" and event.get("right_pin"):
        kind = "pin_refused_right"
    if kind == "extended" and event.get("answered"):  # her answer to "Are you OK?" too
        kind = "extended_answer"
    if kind == "alarm_acknowledged" and person(by, me) == "You":
        kind = "alarm_acknowledged_by_you"
    template = _EVENTS.get(kind, kind.replace("_", " "))
    said = template.format(
        name=name,
        rung=RUNGS.get(str(event.get("rung")), "the next people").format(name=name),
        sender=person(event.get("sender"), me),
        text=event.get("text", ""),
        by=person(by, me),
        reason=said_reason(
            event.get("reason") or "something is wrong",
            event.get("asked_because"),
            timer=a_timer_walk(event),
        ),
        note=event.get("note") or "marked safe",
    )
    return said + charging_word(event) + closing(event)


def tables() -> dict[str, dict[str, str]]:
    """The sentences, for the pages' script (static/words.js) to say the same things live."""
    return {
        "states": dict(_STATES),
        "events": dict(_EVENTS),
        "reasons": dict(REASONS),
        "timer_reasons": dict(TIMER_REASONS),
        "signals": dict(SIGNALS),
        "duress": dict(DURESS_AGAIN),
        "then": dict(THEN),
        "rungs": dict(RUNGS),
        "notices": {"asked": ASKED, "ends_a_question": " ".join(sorted(ENDS_A_QUESTION))},
    }
