"""What an alert says, in words, for channels that carry text (email, ntfy, chat)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from walkwithme import timewords
from walkwithme.domain.people import tel_uri
from walkwithme.notify import times

if TYPE_CHECKING:
    from walkwithme.streets import StreetMap

_WHAT = {
    "started": "{name} started a walk home and shared it with you.",
    "check": "Are you OK? Answer with your PIN.",
    "alarm": "ALARM: {name} may need help ({reason}).",
    "alarm_acknowledged": "{by} is on it.",
    "alarm_resolved": "The alarm about {name} is over.",
    "low_battery": "{name}'s phone battery is low ({battery:.0f}%).",
    "reporting_again": "{name}'s phone is reporting again.",
    "walking_on": "{name} is getting nearer again.",
    "arrived": "{name} is at the door.",
    "inside": "{name} is home, inside.",
    "ended": "{name} ended the walk.",
    "test": "A test from Walk With Me: this channel works.",
    "offer": "{by} offers to walk you home{when}.",
    "offer_declined": "{by} declined your offer of a walk home.",
    "offer_reminder": "Reminder: you planned to walk together with {by} ({when}).",
    "next_walk": "{by} would like to walk together again: {when}. You will both be reminded.",
    "offer_series_stopped": "{by} stopped a recurring offer to walk home.",
    "contact_ended": "One of your contacts left Walk With Me: that contact has ended.",
    "contact_asked": "{by} asks you to follow their walks home.",
    "message": "{name} says: “{text}”",
}

REASONS = {
    "late": "late to arrive",
    # Not "stopped moving": the rule is that she gets no nearer, and she may be walking (round
    # a block, across, or the wrong way after answering a check).
    "stalled": "not getting any closer to the destination",
    "moving_away": "moving away from the destination",
    "moving_away_fast": "moving away fast, as in a vehicle",
    "silent": "the phone went silent",
    # Not "without going in": her phone may have gone quiet inside, by the door, without her
    # saying so (a held-out replay); what is known is that she hasn't said it.
    "lingering": "at the door for a while without saying “I'm inside”",
    "sos": "SOS pressed",
    "no_answer": "no answer to “Are you OK?”",
    "wrong_pins": "wrong PIN three times",
    # Said first as what it is (a call for help), then how it came, in plain words.
    # (Not "and their own phone shows nothing of it": the page says what that means for him,
    # "Don't message or call Mira", and the reason alone filled a phone's first screen.)
    "duress": "a silent call for help: the duress PIN was given",
}

# Her duress PIN given again during its silent alarm (`said`: what it was given for).
DURESS_AGAIN = {
    "inside": " to say “I'm inside”",
    "ended": " to end the walk",
    "extended": " to ask for more time",
    "check_answered": " to answer “Are you OK?”",
    "alarm_resolved": " to end the alarm",
}

# An alarm's title by its reason, where "may need help (...)" said less than what happened (an
# outside review read the alerts as received): under her duress PIN, "do not call" was on the
# second line, past what a lock screen shows of it; "may need help (SOS pressed)".
_ALARM_TITLES = {
    "sos": "ALARM: {name} pressed SOS.",
    "duress": "ALARM: {name} needs help and can't say so. Do not call or message {name}.",
    "wrong_pins": "ALARM: a wrong PIN three times on {name}'s walk: someone else may have "
    "{name}'s phone.",
    "no_answer": "ALARM: {name} did not answer “Are you OK?”",
}

# A timer walk has no destination: it is not "home", and nothing is late to arrive.
_TIMER_WHAT = {
    "started": "{name} started a timed walk and shared it with you.",
    "inside": "{name} is inside: the walk is over.",
}
# "I'm inside" said away from where the walk was going (at a friend's, say): not "home".
_INSIDE_ELSEWHERE = "{name} is inside, not where the walk was going: the walk is over."
TIMER_REASONS = {
    # Not "without a word": she may have answered an earlier "Are you OK?" about it.
    "late": "the time set for the walk ran out",
}
# Her own "Are you OK?": why she is asked, and what else she can do about it.
_CHECK_WHY = {
    "late": "You are later than expected.",
    "stalled": "You have not got any closer to where you are going for a while.",
    "moving_away": "You seem to be walking away from where you are going.",
    "moving_away_fast": (
        "You seem to be moving away fast from where you are going, as in a vehicle."
    ),
    "silent": "Your phone stopped reporting.",
    "lingering": "You have been at the door for a while and have not said “I'm inside”.",
}
# When what the alert tells of happened, said under its title at send time, in the reader's
# zone: "Raised at 23:37 (3 min ago)." (an alarm: when it began, for every rung and repeat).
_WHEN_LEAD = {
    "alarm": "Raised at",
    "check": "Asked at",
    "alarm_acknowledged": "At",
    "alarm_resolved": "Ended at",
    "low_battery": "At",
    "reporting_again": "At",
    "walking_on": "At",
    "arrived": "At",
    "inside": "At",
    "ended": "At",
    "started": "Started at",
}
_TIMER_CHECK_WHY = "The time you set for this walk ran out: you can also add time, or end it."
# After her duress PIN, whoever is with her may hold her phone.
_DURESS_CAUTION = (
    "Do not call or message {name}: whoever is with them may see their phone. Go there, or {call}."
)


def _silent(payload: dict[str, Any]) -> bool:
    """An alarm under her duress PIN's silent alarm: not one to call or message her in. Also
    one her devices were shown under it (`cover`: her SOS, no answer to the question they
    were asked): "ALARM: Mira pressed SOS." said nothing of not calling her."""
    return (
        payload.get("reason") == "duress"
        or payload.get("said") in DURESS_AGAIN
        or bool(payload.get("cover"))
    )


def _call(payload: dict[str, Any]) -> str:
    """Whom to call: the operator's emergency number (`with_help`), if set."""
    number = payload.get("emergency_number")
    return f"call {number}" if number else "call the emergency number"


def why_asked(reason: str | None, *, timer: bool) -> str | None:
    """Why she is asked "Are you OK?", said to her ("Your phone stopped reporting.")."""
    return _TIMER_CHECK_WHY if timer and reason == "late" else _CHECK_WHY.get(str(reason))


def said_reason(code: object, asked_because: object = None, *, timer: bool = False) -> str:
    """Why, in words; an unanswered check says why she was asked it. `timer`: for a walk
    without a destination."""
    reasons = {**REASONS, **TIMER_REASONS} if timer else REASONS
    said = reasons.get(str(code), str(code))
    if asked_because:
        said += f", asked because: {reasons.get(str(asked_because), str(asked_because))}"
    return said


def a_timer_walk(payload: Mapping[str, object]) -> bool:
    """Whether an alert's or an event's facts are of a walk without a destination."""
    if "timer" in payload:
        return bool(payload["timer"])  # the start says so
    return "destination" in payload and payload["destination"] is None  # an alarm's facts


def render(payload: dict[str, Any]) -> tuple[str, str]:
    """A title and a body."""
    kind = payload.get("kind", "test")
    walker = payload.get("walker") or {}
    name = walker.get("name", "Someone")
    by = (payload.get("by") or {}).get("name", "Someone")
    timer = a_timer_walk(payload)
    reason = said_reason(payload.get("reason"), payload.get("asked_because"), timer=timer)
    what = {**_WHAT, **_TIMER_WHAT} if timer else _WHAT
    template = what.get(kind, kind)
    if kind == "inside" and not timer and payload.get("at_door") is False:
        template = _INSIDE_ELSEWHERE
    if kind == "inside" and payload.get("by"):  # said by whoever found her, wherever
        template = "{by} said you are safe." if payload.get("to_walker") else "{name} is safe."
    if kind == "alarm" and payload.get("reason") in _ALARM_TITLES:
        template = _ALARM_TITLES[str(payload["reason"])]
    if kind == "alarm" and payload.get("said") in DURESS_AGAIN:
        # Not the same alarm twice: what whoever holds the phone just made the walker do.
        template = "ALARM: {name} gave the duress PIN again" + DURESS_AGAIN[payload["said"]] + "."
    if kind == "alarm" and payload.get("during") and payload.get("again"):
        # Pressed again during the alarm: not word for word the alert of her first press (a
        # companion's review read it as the same mail twice).
        template = "ALARM: {name} pressed SOS again."
    if kind == "alarm_resolved" and payload.get("to_walker"):
        template = "{by} ended your alarm."
    if kind == "alarm" and payload.get("cover") and payload.get("reason") != "duress":
        # What a lock screen shows of it: not to call her, first (her duress PIN's alarm).
        ended = template if template.endswith((".", "?", "”")) else template + "."
        template = ended + " Do not call or message {name}."
    title = template.format(
        name=name,
        by=by,
        reason=reason,
        battery=float(payload.get("battery") or 0),
        when=payload.get("when") or "",
        text=_one_line(payload.get("text")),
    )
    if kind == "low_battery" and payload.get("charging"):
        title += " It is charging."  # her phone said so with the fix (usecases/phones.py)
    lines = [title, *_more(kind, payload, name, by, timer)]
    happened = times.time_of(payload, "alarm_at" if kind == "alarm" else "at")
    if happened is None and kind == "alarm":
        happened = times.time_of(payload, "at")
    pressed = times.time_of(payload, "at")
    if kind == "alarm" and payload.get("during") and payload.get("reason") == "sos" and pressed:
        lines.append(f"Pressed at {times.when(pressed, payload)}.")  # then when it was raised
    if kind in _WHEN_LEAD and happened is not None:
        hers = times.her_time(happened, payload, name) if kind == "alarm" else None
        lines.append(
            f"{_WHEN_LEAD[kind]} {times.when(happened, payload)}{f'; {hers}' if hers else ''}."
        )
    if kind == "offer_declined" and payload.get("when"):
        lines.append(f"Promised instead: {payload['when']}.")
    last = payload.get("last_position") or payload.get("position")
    lingered = "lingering" in (payload.get("reason"), payload.get("asked_because"))
    if kind == "alarm" and payload.get("at_door") and not lingered:  # (lingering says it)
        lines.append(f"{name} had reached the door, and has not said “I'm inside”.")
    if last:
        lines.append(_last_seen(last, payload))
        if last.get("battery") is not None:
            lines.append(f"Battery {last['battery']:.0f}%.")
        if last.get("bearing") is not None:
            lines.append(f"Heading {last['bearing']:.0f}°.")
    elif kind == "alarm":
        lines.append("No position yet.")
    destination = payload.get("destination")
    if isinstance(destination, dict) and destination.get("name"):
        lines.append(f"Going to: {destination['name']}.")
    if walker.get("phone") and kind == "alarm":
        lines.append(f"Phone: {walker['phone']}.")
    if payload.get("note"):
        # On one line: a note's own lines read as the service's ("Mira is SAFE at home, stand
        # down" under a companion's note: an outside review); any line break (U+2028 too).
        lines.append(f"Note: {_one_line(payload['note'])}")
    if kind == "alarm":
        lines += _what_to_do(payload, name)
    if payload.get("link"):
        lines.append(str(payload["link"]))
    return title, "\n".join(lines)


def _one_line(said: object) -> str:
    """Someone's words as one line of an alert, whatever line breaks they held: a second line
    would not be told from the service's own."""
    return " / ".join(str(said or "").splitlines())


def _what_to_do(payload: dict[str, Any], name: str) -> list[str]:
    """What whoever reads an alarm can do, as the pages offer it: open the link (to say they
    are on it, and see where she is now), and call the emergency number. Said last, before
    the link: an alarm's email said what happened and nothing of what to do."""
    said = []
    link = str(payload.get("link") or "")
    if "/api/share/" in link:
        # A guardian's link (a share link): it shows where she is to anyone who has it, and
        # "I'm on it" only once signed in there (it promised that without a word of it).
        said.append(
            f"Open the link to see where {name} is now (to say you are on it, sign in there)."
        )
    elif link:
        said.append(f"Open the link to say you are on it and to see where {name} is now.")
    if not _silent(payload):  # (under her duress PIN: said above, with the number)
        abroad = (
            f" (far from {name}, call your own emergency number and say where {name} is)"
            if payload.get("walker_timezone")
            else ""
        )
        said.append(f"If you think {name} is in danger, {_call(payload)}{abroad}.")
    return said


def _last_seen(last: dict[str, Any], payload: dict[str, Any]) -> str:
    """ "Last seen at 23:34 (3 min ago) near Bulevardi and Annankatu: 60.16520, 24.93950
    (±8 m).": when by the reader's clock and how long ago as the alert is sent (not as it was
    made: it may go out hours later), the streets, the coordinates and their accuracy."""
    taken = times.time_of(last, "t")
    seen = f"Last seen at {times.when(taken, payload)}" if taken is not None else "Last seen"
    near = f" near {' and '.join(last['streets'])}" if last.get("streets") else ""
    accuracy = f" (±{last['accuracy']:.0f} m)" if last.get("accuracy") is not None else ""
    return f"{seen}{near}: {last['lat']:.5f}, {last['lon']:.5f}{accuracy}."


def _more(kind: str, payload: dict[str, Any], name: str, by: str, timer: bool) -> list[str]:
    """What the title leaves out and whoever reads it needs: why she is asked, who ended an
    alarm, that an alarm is said again or who is on it, and, after her duress PIN, not to
    call her."""
    reason = str(payload.get("reason"))
    if kind == "started":
        return _expected(payload, name, timer)
    if kind == "contact_asked":
        if payload.get("role") == "guardian":
            what = f"As their guardian, you are told if {by} has an alarm nobody answers."
        else:
            what = f"As their companion, you see {by}'s walks live and hear their alarms."
        return [what, "Open Walk With Me to say yes or no."]
    if kind == "check":
        # By when, in the alert itself: for a walker whose phone's app reports her walk, the
        # alert is all she sees of the question (it said when she was asked, not until when).
        said = [why] if (why := why_asked(reason, timer=timer)) else []
        by_ms = times.time_of(payload, "answer_by")
        return said + ([times.answer_by(by_ms, payload)] if by_ms is not None else [])
    if kind == "inside" and payload.get("to_walker"):
        return ["The walk is over."]
    if kind == "inside" and payload.get("by"):
        if payload.get("alarm_over"):
            return [f"{by} said so, ending the alarm and the walk."]
        return [f"{by} said so, and ended the walk."]
    if kind == "ended" and payload.get("at_door") is False and not payload.get("to_walker"):
        on_the_way = f"On the way, not at the door: {name} may not be home."
        if payload.get("alarm_over"):
            return [on_the_way, f"The alarm is over: {name} ended it with the walk's PIN."]
        return [on_the_way]
    if kind in ("inside", "ended") and payload.get("alarm_over"):
        # One message for both, her right PIN having ended the alarm with the walk.
        return [f"The alarm is over: {name} ended it with the walk's PIN."]
    if kind == "alarm_resolved" and payload.get("to_walker"):
        # Her SOS ended by someone else while her phone is in her pocket: she must not go on
        # thinking help is coming (an outside review: she was told nothing).
        return ["Your walk goes on. If you need help, press SOS."]
    if kind == "alarm_resolved":
        by_her = _by_her(payload, name)
        return [f"{name} ended it with the walk's PIN." if by_her else f"{by} ended it."]
    if kind == "walking_on":
        to_go = _to_go(payload.get("left_m"))
        return [(f"{to_go}. " if to_go else "") + "The alarm goes on until someone ends it."]
    if kind == "reporting_again":
        silent = int(payload.get("silent_ms") or 0)
        return [
            f"It had said nothing for {timewords.span(silent)}.",
            "The alarm goes on until someone ends it.",
        ]
    if kind != "alarm":
        return []
    more = []
    if payload.get("again"):
        more.append("Said again: the alarm is still going on.")
    if reason == "no_answer" and payload.get("asked_because"):
        reasons = {**REASONS, **TIMER_REASONS} if timer else REASONS
        because = str(payload["asked_because"])
        more.append(f"Asked because: {reasons.get(because, because)}.")
    before = payload.get("ended_before")
    if isinstance(before, dict) and (at := times.time_of(before, "at")) is not None:
        ender = (before.get("by") or {}).get("name", "Someone")
        ended = (
            f"You marked {name} safe"
            if before.get("you")
            else f"{name} ended an alarm with the walk's PIN"
            if _by_her(before, name)
            else f"{ender} marked {name} safe"
        )
        more.append(
            f"{ended} at {times.when(at, payload)}, and the walk went on: this is a new alarm."
        )
    nearer = payload.get("walking_on")
    if isinstance(nearer, dict) and (at := times.time_of(nearer, "at")) is not None:
        to_go = _to_go(nearer.get("left_m"))
        since = times.when(at, payload) + (f", {to_go}" if to_go else "")
        more.append(f"Since then {name} has been getting nearer ({since}).")
    on_it = payload.get("on_it")
    if on_it:
        more.append(f"{on_it} said they are on it, and has not ended the alarm yet.")
    elif payload.get("rung") in ("guardians", "hook") or payload.get("again"):
        more.append("Nobody has said they are on it yet.")
    if reason == "duress" and payload.get("said") not in DURESS_AGAIN:
        given = DURESS_AGAIN.get(str(payload.get("given_to")), "")
        more.append(
            f"{name} entered their duress PIN{given}: the PIN that says they are not free to "
            f"say so. Whoever is with them may see their phone: go there, or {_call(payload)}."
        )
    elif _silent(payload):
        more.append(_DURESS_CAUTION.format(name=name, call=_call(payload)))
    return more


def _expected(payload: dict[str, Any], name: str, timer: bool) -> list[str]:
    """When to start worrying, in the start's alert: it said only when she set out (the
    webhook had `expected_at`; an outside review)."""
    due = times.time_of(payload, "expected_at")
    if due is None:
        return []
    now = times.time_of(payload, "sent_at") or times.time_of(payload, "at") or due
    at = times.clock(due, now, payload.get("timezone"))
    if timer:
        return [f"{name} asked to be checked on at {at}: you are told if {name} does not answer."]
    return [f"Expected by {at}: you are told if {name} is late, or something seems wrong."]


def _to_go(left_m: object) -> str:
    """ "700 m to go", or nothing when how far is not known."""
    return f"{timewords.distance(float(left_m))} to go" if isinstance(left_m, int | float) else ""


def _by_her(said: Mapping[str, Any], name: str) -> bool:
    """An alarm ended by the walker herself, with her PIN (`by_walker`: not by comparing
    names, which a companion of her name would share; only for an alert queued before the
    service said so)."""
    if "by_walker" in said:
        return bool(said["by_walker"])
    return bool((said.get("by") or {}).get("name") == name)


def with_help(payload: dict[str, Any], emergency_number: str) -> dict[str, Any]:
    """An alarm with the emergency number the operator set (`WWM_EMERGENCY_NUMBER`), for its
    words to say whom to call, as the pages do."""
    if payload.get("kind") != "alarm" or not emergency_number:
        return payload
    return {**payload, "emergency_number": emergency_number}


def with_link(payload: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The page the alert's recipient may open: the one its use case named (`link_path`: the
    "Are you OK?" page, an alarm's link for guardians), else, for any alert about a walk, the
    walk's page, which shows each person signed in only what they may see (404 to anyone
    else, so the link reveals nothing to whoever forwards it). An empty `link_path`: no page
    to open (her guardians and the hook don't follow her walks: helping.Reached)."""
    path = payload.get("link_path")
    if path is None and payload.get("walk_id") is not None:
        path = f"/walks/{payload['walk_id']}"
    return {**payload, "link": base_url + str(path)} if path else payload


def with_streets(payload: dict[str, Any], streets: StreetMap | None) -> dict[str, Any]:
    """The names of the streets nearest her last position (`streets` in it: the nearest, and
    a second at a corner), when the service has a street map and one is near: words whoever
    acts on the alert knows the city by, beside the coordinates. Added as the alert is sent:
    the outbox keeps where she was, the map says what that place is called."""
    key = "last_position" if payload.get("last_position") else "position"
    last = payload.get(key)
    if streets is None or not isinstance(last, dict) or "streets" in last:
        return payload
    try:
        accuracy = last.get("accuracy")
        near = streets.streets_near(
            float(last["lat"]), float(last["lon"]), None if accuracy is None else float(accuracy)
        )
    except (KeyError, TypeError, ValueError):
        return payload
    return {**payload, key: {**last, "streets": near}} if near else payload


def render_html(payload: dict[str, Any]) -> str:
    """The same words as `render`, as the HTML part of an email, its link a link, and her
    phone number one a phone dials with a tap (read on the phone that is to call her)."""
    _title, text = render(payload)
    link = payload.get("link")
    phone = (payload.get("walker") or {}).get("phone")
    lines = [html.escape(line) for line in text.split("\n") if line != link]
    if phone:
        said = html.escape(f"Phone: {phone}.")
        call = f'Phone: <a href="{html.escape(tel_uri(str(phone)))}">{html.escape(str(phone))}</a>.'
        lines = [call if line == said else line for line in lines]
    number = payload.get("emergency_number")
    if number:
        # "call 112" a tap too, as her number is (it was plain text: an outside review).
        said = html.escape(f"call {number}")
        call = f'<a href="{html.escape(tel_uri(str(number)))}">{said}</a>'
        lines = [line.replace(said, call) for line in lines]
    if link:
        href = html.escape(str(link))
        lines.append(f'<a href="{href}">{href}</a>')
    return "<p>" + "<br>\n".join(lines) + "</p>"
