"""A walk's states, its legal transitions, and arrival at the door.

A walk is *live* while it is active, at the door or in alarm: only then do its companions see
it. It is over when the walker confirms she is inside (`safe`) or ends it early (`ended`); both
take her PIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from walkwithme.domain.errors import IllegalTransition, Invalid
from walkwithme.domain.fixes import Fix
from walkwithme.domain.geo import distance_m
from walkwithme.domain.text import check_text


class WalkState(StrEnum):
    ACTIVE = "active"
    AT_DOOR = "at_door"
    ALARM = "alarm"  # raised by the watchdog; cleared by the walker's PIN or a companion
    SAFE = "safe"
    ENDED = "ended"


LIVE_STATES = frozenset({WalkState.ACTIVE, WalkState.AT_DOOR, WalkState.ALARM})
# As stored, for queries: sorted, so a statement built with it is always the same statement.
LIVE_VALUES = tuple(sorted(s.value for s in LIVE_STATES))

_EDGES: dict[WalkState, frozenset[WalkState]] = {
    WalkState.ACTIVE: frozenset(
        {WalkState.AT_DOOR, WalkState.SAFE, WalkState.ENDED, WalkState.ALARM}
    ),
    WalkState.AT_DOOR: frozenset(
        {WalkState.ACTIVE, WalkState.SAFE, WalkState.ENDED, WalkState.ALARM}
    ),
    WalkState.ALARM: frozenset(
        {WalkState.ACTIVE, WalkState.AT_DOOR, WalkState.SAFE, WalkState.ENDED}
    ),
    WalkState.SAFE: frozenset(),
    WalkState.ENDED: frozenset(),
}


def transition(current: WalkState, target: WalkState) -> WalkState:
    """The new state, or `IllegalTransition` if there is no edge from `current` to `target`."""
    if target not in _EDGES[current]:
        raise IllegalTransition(f"a walk that is {current.value} can't become {target.value}")
    return target


@dataclass(frozen=True, slots=True)
class Destination:
    lat: float
    lon: float
    radius_m: float
    name: str | None = None

    def __post_init__(self) -> None:
        if not -90 <= self.lat <= 90:
            raise Invalid("lat must be between -90 and 90", field="lat")
        if not -180 <= self.lon <= 180:
            raise Invalid("lon must be between -180 and 180", field="lon")
        if not MIN_RADIUS_M <= self.radius_m <= MAX_RADIUS_M:
            raise Invalid(
                f"radius must be between {MIN_RADIUS_M:g} and {MAX_RADIUS_M:g} metres",
                field="radius",
            )

    def distance_from(self, lat: float, lon: float) -> float:
        return distance_m(lat, lon, self.lat, self.lon)


MIN_RADIUS_M = 10.0
MAX_RADIUS_M = 1000.0
# A fix vaguer than this can't put her at the door (but can still take her away from it).
MAX_DOOR_ACCURACY_M = 100.0


def seen_at_door(dest: Destination | None, last: Fix | None) -> bool:
    """Whether her last trusted fix put her at her door: inside its radius, precise enough to
    say so. Not her arrival (`door_after_fix` wants it reached as well), but where she was
    last seen: her walk page asleep in her pocket until she opened it on her doorstep sends
    one fix there, too far from her last to count as arriving, and her "I'm inside" then told
    her companions she was inside "not where the walk was going" (an outside review)."""
    if dest is None or last is None:
        return False
    accuracy = last.accuracy_m or 0.0
    if accuracy > MAX_DOOR_ACCURACY_M:
        return False
    return dest.distance_from(last.lat, last.lon) <= dest.radius_m + accuracy


def leave_margin_m(radius_m: float) -> float:
    """How far beyond the radius she must be before the door lets go of her."""
    return max(25.0, radius_m / 2)


def door_after_fix(
    state: WalkState,
    dest: Destination,
    fix: Fix,
    distance: float | None = None,
    came_from: Fix | None = None,
) -> WalkState:
    """The state a trusted fix puts a live walk in, with hysteresis.

    Arriving needs the fix inside the radius, precise enough to say so, and reached: from her
    fix before (`came_from`) at no more than ARRIVAL_SPEED_MPS, or that fix at the door too;
    and her phone not saying she moves faster than a run as it is taken (`MOVING_MPS`). One
    stray fix by her door while she is streets away (a reflection between tall buildings)
    would tell her companions she is there, and put off every rule that watches a walk on its
    way; so would a car driving her past it. Her next fix, if she really came that fast (a
    car to her door, stopped), confirms it. Leaving needs the whole accuracy circle outside
    the radius plus a margin, so GPS drift at the edge of the radius never flaps the walk
    between `active` and `at_door`; and, counted at twice the accuracy the fix claims (GPS
    noise, as the rules count it: a phone's accuracy is about one standard deviation of its
    error), outside the radius itself: between tall houses, fixes 40 m off claiming 40 to 65 m
    put her 114 m from her door (±47 m) while she stood at it, and her companions read "left
    the door", then "at the door" again. And a fix she could have walked to from her fix
    before (`came_from`), or a second one clear of the door: indoors, one stray fix 85 m off
    every two minutes took her from her door each time, and her lingering question never came
    (an outside review). In a car she leaves with her second fix. `distance`: the fix's
    straight-line distance to the door, if the caller has it already.
    """
    accuracy = fix.accuracy_m or 0.0
    distance = dest.distance_from(fix.lat, fix.lon) if distance is None else distance
    if state is WalkState.ACTIVE:
        if (
            distance <= dest.radius_m
            and accuracy <= max(MAX_DOOR_ACCURACY_M, dest.radius_m)
            and (fix.speed_mps is None or fix.speed_mps <= MOVING_MPS)
            and (came_from is None or _came_to_the_door(dest, came_from, fix))
        ):
            return WalkState.AT_DOOR
    elif (
        state is WalkState.AT_DOOR
        and _left_the_door(dest, distance, accuracy)
        and (came_from is None or _went_from_the_door(dest, came_from, fix))
    ):
        return WalkState.ACTIVE
    return state


def _went_from_the_door(dest: Destination, before: Fix, fix: Fix) -> bool:
    """Whether a fix clear of the door follows from the one before it: that one was clear of
    it too, or she could have walked from there since (no faster than `MOVING_MPS`, give or
    take both fixes' accuracy). A stray fix indoors jumps farther than she walks."""
    if _left_the_door(dest, dest.distance_from(before.lat, before.lon), before.accuracy_m or 0.0):
        return True
    apart = distance_m(before.lat, before.lon, fix.lat, fix.lon)
    slack = (before.accuracy_m or 0.0) + (fix.accuracy_m or 0.0)
    seconds = max(1.0, (fix.t_ms - before.t_ms) / 1000)
    return apart - slack <= MOVING_MPS * seconds


def _left_the_door(dest: Destination, distance: float, accuracy: float) -> bool:
    beyond_margin = distance - accuracy > dest.radius_m + leave_margin_m(dest.radius_m)
    return beyond_margin and distance - LEAVING_NOISE_FACTOR * accuracy > dest.radius_m


# Leaving: twice the accuracy a fix claims may be noise (`rules.ACCURACY_NOISE_FACTOR`).
LEAVING_NOISE_FACTOR = 2.0


# How fast she may have come to her door from her fix before (a car or a tram to the door;
# a jump faster than this is a stray fix until the next one agrees).
ARRIVAL_SPEED_MPS = 15.0
# Faster than a run, by the speed her phone reports as the fix is taken, she is not at her
# door but passing it: in a car, whose fixes by her door come at a car's pace (an outside
# replay had her companions told she was home while she was driven past it, at 10 m/s).
MOVING_MPS = 4.0


def _came_to_the_door(dest: Destination, before: Fix, fix: Fix) -> bool:
    """Whether a fix at the door follows from the one before it: that one was at the door
    too, or she could have come from there since, give or take both fixes' accuracy."""
    if dest.distance_from(before.lat, before.lon) <= dest.radius_m + leave_margin_m(dest.radius_m):
        return True
    apart = distance_m(before.lat, before.lon, fix.lat, fix.lon)
    slack = (before.accuracy_m or 0.0) + (fix.accuracy_m or 0.0)
    seconds = max(1.0, (fix.t_ms - before.t_ms) / 1000)
    return apart - slack <= ARRIVAL_SPEED_MPS * seconds


_PIN = re.compile(r"[0-9]{4,8}")


def check_pin_format(pin: str, field: str = "pin") -> None:
    if not _PIN.fullmatch(pin):
        raise Invalid(f"{field} must be 4 to 8 digits", field=field)


MAX_EXTENSION_MIN = 240


def check_extension(minutes: int) -> None:
    if not 1 <= minutes <= MAX_EXTENSION_MIN:
        raise Invalid(f"minutes must be between 1 and {MAX_EXTENSION_MIN}", field="minutes")


MAX_MESSAGE_CHARS = 500
QUICK_REPLIES = ("On my way", "All good", "Almost there", "Call me", "Are you OK?", "I'm here")


_BLANK_LINES = re.compile(r"\n[ \t\r]*(?:\n[ \t\r]*)+\n")


def check_message(text: str) -> str:
    """A message's or a note's text (tabs and line breaks are fine in it)."""
    # Blank lines in a row are one: a message of 499 line breaks and a word took a screen.
    cleaned = _BLANK_LINES.sub("\n\n", check_text(text, "text", prose=True).strip())
    if not cleaned:
        raise Invalid("text must not be empty", field="text")
    if len(cleaned) > MAX_MESSAGE_CHARS:
        raise Invalid(f"text must be at most {MAX_MESSAGE_CHARS} characters", field="text")
    return cleaned
