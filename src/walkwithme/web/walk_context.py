"""What a walk page shows, from the same projections the API serves (views.py, timeline).

One function builds the context for every audience: the companion signed in, and anyone
holding a share link or an alarm's link. It decides nothing about who may see what: the
projection it is given already did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from walkwithme.domain.people import tel_uri
from walkwithme.domain.walks import QUICK_REPLIES
from walkwithme.streets import StreetMap
from walkwithme.usecases.walks import Reach
from walkwithme.web import words
from walkwithme.web.mapdata import distance_left
from walkwithme.web.walker_words import heard


@dataclass(frozen=True)
class Seen:
    """A walk as one audience sees it: its view, its timeline and its track."""

    view: dict[str, Any]
    events: list[dict[str, Any]]
    fixes: list[dict[str, Any]]
    reach: Reach | None = None  # how to call her, for those who may (walks.reach_walker)


def _alarm_event(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The alarm the walk is in: the last "alarm" (or "sos") event on this side's timeline.
    What the companions see of the alarm her devices are shown after her duress PIN (events
    marked `cover`) is not the walk's own alarm: the silent one goes on through it. What came
    during the alarm adds its reason (`then`, in order, each once), not its time: wrong PINs
    (`during`), and her duress PIN given during it (a `duress` event: her SOS she was made to
    end is now a silent alarm, and was said "SOS pressed" until the page was closed)."""
    then: list[str] = []
    for event in reversed(events):
        if event.get("cover"):
            continue
        if words.came_during_alarm(event):
            then.insert(0, str(event.get("reason") or event["kind"]))
            continue
        if event["kind"] in ("alarm", "sos"):
            first = str(event.get("reason") or event["kind"])
            later = [r for i, r in enumerate(then) if r != first and r not in then[:i]]
            found: dict[str, Any] = {**event, "then": later} if later else event
            return found
        if event["kind"] == "alarm_resolved":
            return None
    return None


def sos_during(events: list[dict[str, Any]], alarm: dict[str, Any] | None) -> int | None:
    """When she last pressed SOS during the alarm (an `sos` event since it began), if she did:
    said apart from its reason, which says each kind of thing once ("SOS pressed"). A press
    again read as nothing new on his open page (a companion's review)."""
    if alarm is None:
        return None
    pressed = [
        int(e["at"])
        for e in events
        if e["kind"] == "sos" and not e.get("cover") and int(e["at"]) >= int(alarm["at"])
    ]
    return max(pressed, default=None)


def waiting(events: list[dict[str, Any]], state: str) -> dict[str, Any] | None:
    """ "Are you OK?" asked and not answered yet, if it is: the newest question, with nothing
    after it that ends the wait (words.ENDS_A_QUESTION). His page said nothing of it on its
    first screen until the alarm, a minute on (an outside review). Not in an alarm, and not
    what her devices are shown after her duress PIN (`cover`): the silent alarm is said."""
    if state not in ("active", "at_door"):
        return None
    for event in reversed(events):
        if event.get("cover"):
            continue
        if event["kind"] == "check":
            question: dict[str, Any] = event
            return question
        if event["kind"] in words.ENDS_A_QUESTION:
            return None
    return None


def again_said(ended: dict[str, Any], me: int | None, tz: str | None) -> str:
    """ "A new alarm: Noor ended the last one at 23:10, and the walk went on." (again.js
    says it the same way, live)."""
    who = words.person(ended.get("by"), me)
    # (No time without the reader's zone, through a link: UTC would say the wrong hour.)
    at = f" at {words.clock_time(int(ended['at']), tz)}" if tz else ""
    by = "you" if who == "You" else who
    return f"A new alarm: {by} ended the last one{at}, and the walk went on."


def _ended_before(events: list[dict[str, Any]], alarm: dict[str, Any]) -> dict[str, Any] | None:
    """The alarm ended last before this one, the walk going on, if one was: the alerts
    said so, his page did not, and Sam, told the first was over, took the new one for it
    (an outside review)."""
    before = None
    for event in events:
        if event.get("id") == alarm.get("id"):
            break
        if event["kind"] == "alarm_resolved" and not event.get("cover"):
            before = event
    return before


def alarm_reasons(alarm: dict[str, Any]) -> list[str]:
    """Why, as codes: why it began, then what came during it (`_alarm_event`)."""
    return [str(alarm.get("reason") or alarm["kind"]), *alarm.get("then", [])]


def _alarm_reason(alarm: dict[str, Any]) -> str:
    """Why, in words: an SOS during the alarm has no reason of its own and is said as what it
    is; what came during it is said after it ("SOS pressed, then wrong PIN three times";
    "SOS pressed, then the duress PIN was given: a silent call for help")."""
    return words.alarm_why(alarm_reasons(alarm), words.alarm_began(alarm))


def acknowledged_by(events: list[dict[str, Any]], me: int | None) -> list[str]:
    """Who said "I'm on it" during the alarm, each once ("You" for the reader). Her SOS
    during the alarm is the same alarm: who is on it still is (it said "Nobody has said they
    are on it yet" to her, seconds after Noor had); so are wrong PINs during it (`during`)."""
    names: list[str] = []
    for event in events:
        if event["kind"] == "alarm" and not event.get("during"):
            names = []
        elif event["kind"] == "alarm_acknowledged":
            said = words.person(event.get("by"), me)
            if said not in names:
                names.append(said)
    return names


def ending(
    events: list[dict[str, Any]], now: int, tz: str | None, walker: str, me: int | None = None
) -> str:
    """When the walk ended, and the note it ended with, said under the headline that says how
    ("Mira is home, inside"), not again: "At 23:38, 2 min ago. Mira said: “Thanks!”".
    `walker`: her name on this page ("You" on hers); `me`: who reads it (said "You")."""
    last = next((e for e in reversed(events) if e["kind"] in ("inside", "ended")), None)
    if last is None:
        return ""  # (the page says the walk is over below it)
    said = f"At {words.when(int(last['at']), now, tz)}."
    if last.get("note"):
        by = last.get("by")  # who found her and said she is inside, not she
        who = words.person(by, me) if isinstance(by, dict) else walker
        said += " " + words.full_stop(f"{who} said: “{last['note']}”")
    return said


async def measure_left(seen: Seen, streets: StreetMap | None) -> float | None:
    """The distance left, off the event loop (along the streets it may walk a distance
    field); none once the walk is over: the page shows nothing more of where she was."""
    if not seen.view["live"]:
        return None
    return await anyio.to_thread.run_sync(distance_left, seen.view, streets)


def streets_near_last(seen: Seen, streets: StreetMap | None) -> list[str]:
    """The named streets nearest her last position as this page shows it (none without a
    street map, or once the walk is over)."""
    last = seen.view.get("last_position") if seen.view["live"] else None
    if streets is None or not last:
        return []
    accuracy = last.get("accuracy")
    return streets.streets_near(
        float(last["lat"]), float(last["lon"]), None if accuracy is None else float(accuracy)
    )


def near_last(seen: Seen, streets: StreetMap | None) -> dict[str, Any]:
    """The streets named near her last position as this viewer sees it, for the page's script
    to keep them up as she moves (`GET /api/walks/{id}/near`): `near` in words ("Mikonkatu and
    Ateneuminkuja", the page's own words) or None, and the position it is said of."""
    last = seen.view.get("last_position") if seen.view["live"] else None
    names = streets_near_last(seen, streets)
    return {
        "near": " and ".join(names) or None,
        "t": last["t"] if last else None,
        "lat": last["lat"] if last else None,
        "lon": last["lon"] if last else None,
        # ...and how far she has left from there, along the streets, as the page says it when
        # served: the script's own measure along the drawn route said 800 m where a reload
        # said 1.0 km (an outside review).
        "left_m": distance_left(seen.view, streets) if last else None,
    }


def walk_context(
    seen: Seen,
    *,
    now: int,
    tz: str | None,
    can_act: bool,
    urls: dict[str, str],
    left_m: float | None = None,
    near: list[str] | None = None,
    me: int | None = None,
) -> dict[str, Any]:
    """What a walk's page shows; `me`: the person reading it (signed in), whose own doings
    it says "You" ("You are on it")."""
    view = seen.view
    name = str(view["walker"]["name"])
    state = str(view["state"])
    live = bool(view["live"])
    alarm = _alarm_event(seen.events) if state == "alarm" else None
    last = view.get("last_position") if live else None
    on_it = acknowledged_by(seen.events, me) if alarm else []
    # After her duress PIN, for the rest of the walk: whoever made her give it may hold her
    # phone still, whoever ended its alarm (his page went silent live, and a reload brought
    # her number and the quick replies back: an outside review).
    silent = (
        bool(view.get("duress"))
        or (alarm is not None and alarm.get("reason") == "duress")
        or any(words.given_under_duress(e) for e in seen.events)
    )
    question = waiting(seen.events, state) if live else None
    # The sentence after the event's own fields: a message's `text` is its words, the
    # sentence says who sent them.
    said = words.timeline(seen.events, name, me)
    timeline = [
        {**e, "when": words.when(int(e["at"]), now, tz), "text": text}
        for e, text in reversed(list(zip(seen.events, said, strict=True)))
    ]
    return {
        "name": name,
        "state": state,
        "live": live,
        "headline": words.state_sentence(
            words.headline_state(state, seen.events, view["kind"] == "timer"), name
        ),
        "ending": None if live else ending(seen.events, now, tz, name, me),
        "waiting_answer": words.asked(question, name, tz) if question else None,
        # Her newest words, on his first screen ("Mira: “Call me”"): only in the timeline,
        # they were some 3,000 px down his page (an outside review).
        # (Not after her duress PIN: whoever holds her phone could make him call her; not
        # through a link, which says nothing of her number.)
        "her_words": (her_words := live and not silent and "id" in view["walker"]),
        "her_said": heard(seen.events, me, tz or "UTC", int(view["walker"]["id"]))
        if her_words
        else None,
        "alarm": alarm,
        "alarm_reason": _alarm_reason(alarm) if alarm else None,
        "alarm_since": words.when(int(alarm["at"]), now, tz) if alarm else None,
        "alarm_sos": (lambda at: {"at": at, "said": words.when(at, now, tz)} if at else None)(
            sos_during(seen.events, alarm)
        ),
        "alarm_new": again_said(ended, me, tz)
        if alarm and (ended := _ended_before(seen.events, alarm))
        else None,
        "on_it": words.on_it(on_it),
        "said_on_it": "You" in on_it,  # its button says so (and says it again if pressed)
        "last": last,
        # Where she is, for a map app and in words to read out (while her position is shown).
        "where": (
            {
                "geo": words.geo_uri(float(last["lat"]), float(last["lon"])),
                "coords": words.coordinates(float(last["lat"]), float(last["lon"])),
            }
            if last
            else None
        ),
        "last_seen": words.when(int(last["t"]), now, tz) if last else None,
        # The streets she was last seen near, in words (the page hides them once she moves on).
        "near": " and ".join(near) if near and last else None,
        "destination": view.get("destination"),
        "way_there": words.way_there(view.get("destination")),  # the map legend's route
        "left": words.metres(left_m) if left_m is not None else "unknown",
        "expected": words.clock_time(int(view["expected_at"]), tz),
        "late": words.late_by(view, now),
        "badge": words.position_badge(last["t"] if last else None, now, words.silent_s(view)),
        "timeline": timeline,
        # After her duress PIN, a message would show on the phone someone else may hold.
        "silent": silent,
        "phone_in_doubt": alarm is not None and "wrong_pins" in alarm_reasons(alarm),
        # His note may show on a phone someone else holds: after her duress PIN, or three
        # wrong PINs (whoever guessed may hold it).
        # (Not once her duress PIN ended the walk for her devices: it reaches none of them.)
        "note_warned": (silent and not view.get("over_for_her"))
        or (alarm is not None and alarm.get("reason") == "wrong_pins"),
        # Her duress PIN ended the walk for her devices: marking her safe ends it too.
        "over_for_her": bool(view.get("over_for_her")),
        "quick_replies": QUICK_REPLIES if can_act and live and not silent else (),
        # Her number, with a link that dials it, for those who may call her (or None).
        "reach": seen.reach if live and not silent else None,
        "tel": (
            tel_uri(seen.reach.phone)
            if live and not silent and seen.reach and seen.reach.phone
            else None
        ),
        "can_act": can_act,
        # Everything the page's script needs to go on live from here, without a second read.
        "data": {
            "view": view if live else {**view, "last_position": None},
            "fixes": seen.fixes if live else [],
            "last_event": seen.events[-1]["id"] if seen.events else 0,
            # Why the alarm is, as codes: the banner says what comes during it after them.
            "alarm_reasons": alarm_reasons(alarm) if alarm else [],
            # The alarm ended last, for a new one to say so (again.js): who, and when.
            "last_resolved": next(
                (
                    {"by": e.get("by"), "at": e["at"]}
                    for e in reversed(seen.events)
                    if e["kind"] == "alarm_resolved" and not e.get("cover")
                ),
                None,
            ),
            "alarm_began": words.alarm_began(alarm) if alarm else None,
            # Whether her duress PIN was given: the next is said "again" (words.timeline).
            "duress_before": any(words.duress_given(e) for e in seen.events),
            "now": now,
            "tz": tz,
            "me": me,
            "on_it": on_it,  # so that the next "I'm on it" is said with those before it
            "words": words.tables(),
            **urls,
        },
    }
