"""Her own pages speak to her: "You are on the way", not "Mira is on the way". The same
tables as words.py, in the second person, for the server's sentences and the page's script."""

from __future__ import annotations

from walkwithme.notify.messages import a_timer_walk, said_reason
from walkwithme.web import words

STATES = {
    "active": "You are on the way",
    "at_door": "You are at your door",
    "alarm": "ALARM: your companions are told",
    "safe": "You are home, inside",
    "ended": "You ended the walk",
}

# The alarm's headline when none of her companions has alerts that work (set up, tested, not
# failing now): nobody is told, and she should know it.
UNHEARD_ALARM = "ALARM: none of your companions has alerts that work: call someone"


# During an alarm three wrong PINs raised, no PIN ends it (docs/alarms.md, "Guessing her
# PIN"): her pages ask for none, and say who can end it and what she can do meanwhile.
LOCKED_TITLE = "Only the people following your walk can end this alarm"
LOCKED_SAID = "That PIN was not taken: no PIN can end this alarm now."
LOCKED_WHY = (
    "After three wrong PINs no PIN can end it: someone else may have your phone. They end it "
    "when they find you. If you can, call one of them, or the emergency number."
)


def sos_sent(heard: bool) -> str:
    """What her SOS met, said on her walk page where she pressed it: not "they are told" when
    no companion of hers has alerts that work (api/answer.py says the same in its own words)."""
    if heard:
        return "SOS sent: the people following your walk are told."
    return "SOS sent, but none of your companions has alerts that work: call someone now."


EVENTS = {
    "started": "You started the walk",
    "inside_by": "{by} said you are home, inside",
    "arrived": "You are at the door",
    "left_door": "You left the door",
    "message": "{sender}: “{text}”",
    "extended": "You asked for more time",
    "pin_refused": "A wrong PIN was given",
    "check": "The service asked you “Are you OK?”",
    "check_answered": "You answered “I'm OK”",
    "check_withdrawn_silent": "Your phone is reporting again: “Are you OK?” is taken back",
    "check_withdrawn_stalled": "You are getting closer again: “Are you OK?” is taken back",
    "alarm": "ALARM: {reason}",
    "alarm_escalated": "The alarm went on to {rung}",
    "alarm_escalated_again": "The alarm was said again to {rung}",
    "alarm_acknowledged": "{by} is on it",
    "alarm_resolved": "{by} ended the alarm",
    "sos": "You pressed SOS",
    "low_battery": "Your battery is low",
    "inside": "You are inside",
    "ended": "You ended the walk",
    "expected_later": "You are slower, but getting closer: more time",
}


# Who the alarm's ladder told, said to her.
RUNGS = {
    "companions": "your companions",
    "guardians": "your guardians",
    "hook": "the service's emergency contact",
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
