"""Her expected arrival as a trusted fix moves it: her pace, measured along her own track or
the streets, and the time a wait is given back to her. Folded by `track.Track` after each fix
that tells how far she has left; pure (it returns what changed, and the event to tell).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from walkwithme.domain.pace import Walked, adapted_arrival, after_a_wait, guess_now
from walkwithme.domain.walks import WalkState
from walkwithme.usecases.walk_record import Walk


class Arrival(NamedTuple):
    walked: Walked  # her track, marked again where she set off after a wait
    expected_at: int
    said: tuple[str, dict[str, Any]] | None  # "expected_later" or "waited", if it moved


class After(NamedTuple):
    """What a fix told of her way: how far she has left (`left_m`, along the streets if
    `along_streets`, else as the crow flies), at `t`; `waited`: this fix's progress is her
    first since she stood still this long (0: a pause she walked through; None: no pause);
    `nearer`: this fix got her nearer, and is exact enough to measure her pace by;
    `progressed`: it is her progress (the rules' `progress_at` is `t`); `at_door`: she is at
    her door."""

    left_m: float
    t: int
    waited: int | None
    nearer: bool
    progressed: bool
    at_door: bool
    along_streets: bool


def after_fix(walk: Walk, walked: Walked, expected_at: int, fix: After) -> Arrival:
    """Her pace is measured from her first fix, or from where she set off again after a
    pause (a wait at the start or at a light is not her walking pace, and is given back to
    her as time, `after_a_wait`); while she keeps getting nearer, a slower pace than planned
    moves her expected arrival (and the timeline says so)."""
    unchanged = Arrival(walked, expected_at, None)
    # Only after a wait (`waited` > 0): a pause in her progress she walked through (0) is her
    # pace, and measuring it again from there left a slow walker whose noisy fixes paused her
    # progress every few minutes never measured, never given the time her pace needs, and
    # alarmed "late" minutes before her door (an outside review).
    if fix.waited and fix.progressed:
        marked = walked.marked(fix.left_m, fix.t)
        return _after_a_wait(walk, Arrival(marked, expected_at, None), fix.waited, fix.at_door)
    if not fix.nearer:
        return unchanged  # no nearer with this fix (walking on, or still): no more time
    if fix.at_door:
        return unchanged  # she needs no more time to get there (the door rules watch)
    if not walk.walker_live:
        return unchanged  # over, for her devices (her duress PIN): what they show doesn't move
    # Only a walker slower than planned along her own track, or, at her pace, one in the
    # last quarter of her time, may need more (`guess_now`): early on, how fast her way left
    # seems to fall is a poor measure (a street running sideways to her door; fixes off the
    # street the map has, whose way left reads longer than it is).
    if not guess_now(walked.track_mps, walk.pace_mps, fix.t, walk.started_at, expected_at):
        return unchanged
    left_m = fix.left_m
    pace: float | None
    if fix.along_streets:
        # Along the streets, how fast her way left shrinks is her pace toward the door.
        pace = walked.pace_along_streets(left_m, fix.t)
    else:
        # As the crow flies, her pace is along her track, and the way left a guess
        # (`Walked.way_left`).
        pace = walked.track_mps
        guessed = walked.way_left(left_m)
        if guessed is None:
            return unchanged
        left_m = guessed
    later = adapted_arrival(expected_at, walk.started_at, pace, left_m, fix.t)
    if later is None:
        return unchanged
    return Arrival(walked, later, ("expected_later", {"expected_at": later}))


def _after_a_wait(walk: Walk, now: Arrival, waited: int, at_door: bool) -> Arrival:
    """She sets off again, nearer, after a wait: her expected arrival moves by it. Not at her
    door, nor once the walk is over for her devices; nor in an alarm (its late rule is not
    what watches her then, and GPS noise round a phone lying still can look like setting
    off)."""
    if at_door or not walk.walker_live or walk.walker_state is WalkState.ALARM:
        return now
    later = after_a_wait(now.expected_at, walk.started_at, waited)
    if later is None:
        return now
    return now._replace(
        expected_at=later, said=("waited", {"expected_at": later, "waited_ms": waited})
    )
