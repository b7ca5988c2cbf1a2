"""The page a companion gets for a walk that is over: that it is over, and how (home and
inside, ended by her, or the alarm resolved by someone), with no map and nothing of where she
was, which is shown only during the walk. Who gets it is walks.over_for_companion's: anyone
else keeps the same 404 as for a walk that never existed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.usecases import offer_views, walks
from walkwithme.usecases.timeline import Audience, events_after
from walkwithme.web import words
from walkwithme.web.manage_common import next_walks_said

CLOSING = ("inside", "ended", "alarm_resolved")


@dataclass(frozen=True)
class Over:
    """An ended walk as its companion may still see it: words, never a position."""

    name: str
    state: str
    started_at: int
    events: list[dict[str, Any]]
    ahead: list[dict[str, Any]]  # the next walks she offered him (offer_views.next_walks)
    timer: bool = False  # no destination: "home" is not where it was going


def over_for(conn: Connection, walk_id: int, person_id: int) -> Over | None:
    walk = walks.over_for_companion(conn, walk_id, person_id)
    if walk is None:
        return None
    # His side of the timeline (after her duress PIN, what her companions were shown).
    events = events_after(conn, walk_id, 0, Audience.COMPANION, limit=1000)
    name = walks.person_name(conn, walk.walker_id)
    ahead = [
        n
        for n in offer_views.next_walks(conn, person_id)
        if not n["made_by_me"] and n["with"]["id"] == walk.walker_id
    ]
    timer = walk.destination is None
    return Over(name, walk.state.value, walk.started_at, events, ahead, timer)


def _by(event: dict[str, Any], me: int | None = None) -> str:
    """Who did it, by name; "You" to whoever reads it (Noor read "Noor ended it")."""
    return words.person(event.get("by"), me)


def _mid(by: str) -> str:
    """Who did it, within a sentence."""
    return by.lower() if by in ("You", "Someone") else by


def _whose(by: str) -> str:
    return "Your" if by == "You" else f"{by}'s"


def _note(event: dict[str, Any]) -> str:
    return f": “{event['note']}”" if event.get("note") else ""


def how_it_ended(
    over: Over, now: int, tz: str | None, me: int | None = None
) -> tuple[str, str | None]:
    """ "Mira got home: inside since today at 23:12.", and the last word that came with it
    ("Mira's last word: “Thank you!”"), if any."""
    name = over.name
    last = next((e for e in reversed(over.events) if e["kind"] in CLOSING), None)
    if last is None:
        return f"{words.state_sentence(over.state, name)}.", None
    at = words.day_time(int(last["at"]), now, tz)
    note = f"“{last['note']}”" if last.get("note") else None
    # (Safe too when her duress PIN said "I'm inside": resolved, the walk became what her
    # devices were shown. Whoever ended the alarm did not say she got home.)
    if last["kind"] == "alarm_resolved":
        by = _by(last, me)
        return (
            f"{by} resolved the alarm {at}, and the walk is over.",
            f"{_whose(by)} note: {note}" if note else None,
        )
    if over.state == "safe" and last.get("by"):  # said by whoever found her
        by = _by(last, me)
        return (
            f"{name} is safe: {_mid(by)} said so {at}, and ended the walk.",
            f"{_whose(by)} note: {note}" if note else None,
        )
    if over.state == "safe" and (last.get("at_door") is False or over.timer):
        # As her companions' alert says it (notify/messages.py): not seen at her door.
        elsewhere = "" if over.timer else ", not where the walk was going"
        said = f"{name} is inside{elsewhere}: since {at}."
    elif over.state == "safe":
        said = f"{name} got home: inside since {at}."
    elif last.get("at_door") is False:
        # Ended on the way, not at her door: not home (a review read it as her arrival).
        said = f"{name} ended the walk {at}, on the way, not at home."
    else:
        said = f"{name} ended the walk {at}."
    return said, f"{name}'s last word: {note}" if note else None


def alarms_in_it(over: Over, now: int, tz: str | None, me: int | None = None) -> list[str]:
    """Each alarm of the walk, what came during it, and who ended it: "There was an alarm
    today at 22:58 (SOS pressed, then the duress PIN was given: a silent call for help); you
    ended it today at 23:05: “All well”." What her devices were shown after her duress PIN
    (`cover`: "Mira ended it" with it) is not how the alarm went: the silent one went on."""
    said: list[str] = []
    raised: dict[str, Any] | None = None
    then: list[str] = []
    for event in over.events:
        if event.get("cover"):
            continue
        if raised is not None and words.came_during_alarm(event):
            then.append(str(event.get("reason") or event["kind"]))
        elif event["kind"] in ("alarm", "sos") and raised is None:
            raised, then = event, []
        elif event["kind"] == "alarm_resolved" and raised is not None:
            why = words.alarm_why([str(raised.get("reason") or raised["kind"]), *then])
            said.append(
                words.full_stop(
                    f"There was an alarm {words.day_time(int(raised['at']), now, tz)} ({why}); "
                    f"{_mid(_by(event, me))} ended it "
                    f"{words.day_time(int(event['at']), now, tz)}{_note(event)}"
                )
            )
            raised = None
    return said


def context(over: Over, now: int, tz: str | None, me: int | None = None) -> dict[str, Any]:
    """`me`: who reads it (what they did is said "you")."""
    how = how_it_ended(over, now, tz, me)
    return {
        "name": over.name,
        "state": over.state,
        "how": how[0],
        "last_word": how[1],
        "alarms": alarms_in_it(over, now, tz, me),
        "started": words.day_time(over.started_at, now, tz),
        "next_walks": next_walks_said(over.ahead, now, tz),
    }
