"""Her own pages speak to her: "You are on the way", not "Mira is on the way". The same
tables as words.py, in the second person, for the server's sentences and the page's script."""

from __future__ import annotations

from typing import Any

from walkwithme.notify.messages import a_timer_walk, said_reason
from walkwithme.usecases.walk_record import Walk
from walkwithme.web import words

STATES = {
    "active": "You are on the way",
    "active_timer": "You are out on a timed walk",
    "at_door": "You are at your door",
    "alarm": "ALARM: your companions are told",
    "safe": "You are home, inside",
    "safe_elsewhere": "You are inside",
    "safe_timer": "You are inside",
    "safe_by": "You are safe",
    "ended_resolved": "The alarm is over, and your walk with it",
    "ended": "You ended the walk",
    "ended_on_the_way": "You ended the walk on the way",
}

# The alarm's headline when none of her companions has alerts that work (set up, tested, not
# failing now): nobody is told, and she should know it.
UNHEARD_ALARM = "ALARM: none of your companions has alerts that work: call someone"
# On her walk page while it is calm, under SOS: before she needs it.
UNHEARD_WALK = (
    "Nobody would hear an alarm from this walk: none of your companions has alerts that work "
    "now. If you are in danger, call someone."
)


# During an alarm three wrong PINs raised, no PIN ends it (docs/alarms.md, "Guessing her
# PIN"): her pages ask for none, and say who can end it and what she can do meanwhile.
LOCKED_TITLE = "Only the people following your walk can end this alarm"
LOCKED_SAID = "That PIN was not taken: no PIN can end this alarm now."
LOCKED_WHY = (
    "After three wrong PINs no PIN can end it: someone else may have your phone. They end it "
    "when they find you. If you can, call one of them, or the emergency number."
)


def answer_by_ms(walk: Walk) -> int | None:
    """When her time to answer the question her devices were asked is up (None: none asked)."""
    asked_at = walk.walker_judged.check_asked_at
    if asked_at is None:
        return None
    return walk.answer_by(asked_at, walk.walker_judged.check_reason)


def answer_by(walk: Walk, tz: str) -> str | None:
    """When her time to answer the question her devices were asked is up, on her clock: her
    walk page and the check's page (api/answer.py) say it alike."""
    by = answer_by_ms(walk)
    return None if by is None else words.clock_time(by, tz)


def asked_title(answer_by: str | None) -> str:
    """Her tab's title while "Are you OK?" waits for her answer (walker_check.js: the same)."""
    return f"Are you OK? Answer by {answer_by}" if answer_by else "Are you OK?"


def sos_sent(heard: bool) -> str:
    """What her SOS met, said on her walk page where she pressed it: not "they are told" when
    no companion of hers has alerts that work (api/answer.py says the same in its own words)."""
    if heard:
        return "SOS sent: the people following your walk are told."
    return "SOS sent, but none of your companions has alerts that work: call someone now."


# A companion's quick reply that asks something of her now: her tab says it and her phone
# buzzes, as the service's own "Are you OK?" does (static/heard.js keeps the same list).
CALLS = ("Are you OK?", "Call me")


def heard(
    events: list[dict[str, Any]], me: int | None, tz: str, sender_id: int | None = None
) -> dict[str, Any] | None:
    """The newest message someone following her walk sent her, said under SOS on her page
    ("Noor: “Are you OK?”" at 23:31): in her timeline it was a line far down the page. `call`:
    it asks something of her and she has sent nothing since (her tab's title says it). From
    her own timeline only (the walker's projection): the same whichever PIN she gave.
    `sender_id`: only what that one sent (on his page, hers: "Mira: “Call me”")."""
    answered = False
    for event in reversed(events):
        if said_ok(event):
            answered = True  # her "I'm OK" to the service answers his "Are you OK?" too
            continue
        if event["kind"] != "message":
            continue
        sender = event.get("sender") or {}
        if me is not None and sender.get("id") == me:
            answered = True
            continue
        if sender_id is not None and sender.get("id") != sender_id:
            continue
        return {
            "text": event_sentence(event, me),
            "at": int(event["at"]),
            "clock": words.clock_time(int(event["at"]), tz),
            "call": not answered and event.get("text") in CALLS,
        }
    return None


def said_ok(event: dict[str, Any]) -> bool:
    """She answered "Are you OK?" with her PIN (with more time, too): heard.js says the same."""
    return event["kind"] == "check_answered" or (
        event["kind"] == "extended" and bool(event.get("answered"))
    )


def more_time_done(events: list[dict[str, Any]], tz: str) -> str | None:
    """What her page says once "I need more time" was taken, from her newest "extended"
    event: "Done: 15 more minutes. Expected by 20:36." (it said nothing)."""
    given = next((e for e in reversed(events) if e["kind"] == "extended"), None)
    if given is None or not given.get("minutes") or not given.get("expected_at"):
        return None
    by = words.clock_time(int(given["expected_at"]), tz)
    return f"Done: {given['minutes']} more minutes. Expected by {by}."


EVENTS = {
    "started": "You started the walk",
    "inside_by": "{by} said you are safe, and ended the walk",
    "arrived": "You are at the door",
    "left_door": "You left the door",
    "message": "{sender}: “{text}”",
    "extended": "You asked for more time",
    "extended_answer": "You answered “I'm OK”, and asked for more time",
    "pin_refused": "A wrong PIN was given",
    "check": "The service asked you “Are you OK?”",
    "check_answered": "You answered “I'm OK”",
    "check_withdrawn_silent": "Your phone is reporting again: “Are you OK?” is taken back",
    "check_withdrawn_stalled": "You are getting closer again: “Are you OK?” is taken back",
    "check_withdrawn_late": "You are at the door: “Are you OK?” is taken back",
    "alarm": "ALARM: {reason}",
    "alarm_escalated": "The alarm went on to {rung}",
    "alarm_escalated_again": "The alarm was said again to {rung}",
    "alarm_acknowledged": "{by} is on it",
    "alarm_resolved": "{by} ended the alarm",
    "sos": "You pressed SOS",
    "low_battery": "Your battery is low",
    "reporting_again": "Your phone is reporting again",
    "walking_on": "You are getting nearer again",
    "inside": "You are inside",
    "ended": "You ended the walk",
    "expected_later": "You are slower, but getting closer: more time",
    "waited": "You waited a while, and are on the way again: more time",
}


# Who the alarm's ladder told, said to her.
RUNGS = {
    "companions": "your companions",
    "guardians": "your guardians",
    # Not the emergency services: a companion read it as 112 called, and did not call (a review).
    "hook": "this service's own emergency contact (not the emergency services)",
}

SIGNALS = {
    "charging": "Your phone ({device}) is charging",
    "not_charging": "Your phone ({device}) is no longer charging",
    "offline": "Your phone ({device}) lost its connection",
    "mock_location": "Your phone ({device}) says its location may be faked",
    "entered_destination": "Your phone ({device}) says you reached the destination",
    "left_destination": "Your phone ({device}) says you left the destination",
    "tour_made": "Your phone ({device}) made a share link of this walk (an OwnTracks tour): "
    "take it back below if it wasn't you",
    # How often her phone reports (a `phone_reports` event, said as a signal: words.py).
    "reports_rarely": "Your phone ({device}) reports only now and then: what your companions "
    "see of you may be minutes old",
    "reports_often": "Your phone ({device}) reports often again",
    "reports_unknown": "Your phone ({device}) doesn't say how often it reports",
}


# Who looked at her walk, through which door (usecases/looks.py).
LOOKS = {
    "page": "{who} opened your walk's page",
    "live": "{who} followed your walk live",
    "api": "{who} looked at your walk from an app",
    "share_link": "Someone opened your share link {link}",
    "alarm_link": "Someone opened the alarm's link",
    "export": "You downloaded the walk",
}


def look_sentence(look: dict[str, object]) -> str:
    text = LOOKS.get(str(look["via"]), "Someone looked at your walk")
    return text.format(who=look.get("who", "Someone"), link=look.get("link", ""))


def state_sentence(state: str) -> str:
    return STATES.get(state, "Your walk: " + state)


def event_sentence(event: dict[str, object], me: int | None = None) -> str:
    """The event as her own page says it; `me`: her id (her own messages are "You: …")."""
    kind = str(event.get("kind"))
    if kind == "check_withdrawn":
        kind = f"check_withdrawn_{event.get('reason')}"
    if kind == "extended" and event.get("answered"):  # her answer to "Are you OK?" too
        kind = "extended_answer"
    if kind == "phone_reports":
        event, kind = words.as_signal(event), "phone_signal"
    if kind == "phone_signal" and str(event.get("signal")) in SIGNALS:
        return SIGNALS[str(event.get("signal"))].format(device=event.get("device") or "phone")
    by = event.get("by")
    if kind == "inside" and isinstance(by, dict):  # said by whoever found her, not by her
        return EVENTS["inside_by"].format(by=by.get("name", "Someone")) + words.closing(event)
    if kind not in EVENTS:
        return words.event_sentence(event, "You")
    if kind == "alarm_escalated" and event.get("again"):
        kind = "alarm_escalated_again"
    sender = event.get("sender")
    said = EVENTS[kind].format(
        rung=RUNGS.get(str(event.get("rung")), "the next people"),
        sender=words.person(sender, me),
        text=event.get("text", ""),
        by=words.person(by, me),
        reason=said_reason(
            event.get("reason") or "something is wrong",
            event.get("asked_because"),
            timer=a_timer_walk(event),
        ),
        note=event.get("note") or "marked safe",
    )
    return said + words.charging_word(event) + words.closing(event)


def tables() -> dict[str, dict[str, str]]:
    return {
        "states": dict(STATES),
        "events": dict(EVENTS),
        "reasons": words.tables()["reasons"],
        "timer_reasons": words.tables()["timer_reasons"],
        "signals": dict(SIGNALS),
        "looks": dict(LOOKS),
        "rungs": dict(RUNGS),
    }


# -- her share links, in words ------------------------------------------------------------

SHARE_CHOICES = (
    ("walk", "Until the walk is over"),
    ("1", "For 1 hour at most"),
    ("2", "For 2 hours at most"),
)


def until(expires_at: int | None, now: int, tz: str) -> str:
    if expires_at is None:
        return "works until your walk is over"
    return f"works until your walk is over, or until {words.clock_time(expires_at, tz)}"


def links_said(links: list[dict[str, Any]], now: int, tz: str) -> list[dict[str, Any]]:
    said = []
    for link in links:
        if link["revoked"]:
            state, works = "taken back: it shows nothing any more", False
        elif link["expired"]:
            state, works = "expired: it shows nothing any more", False
        else:
            state, works = until(link["expires_at"], now, tz), True
        said.append({"id": link["id"], "state": state, "works": works})
    return said
