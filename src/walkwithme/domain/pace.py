"""Her pace, measured along the way she walks, and the more time a slower walker is given.

Her pace is how far she walks along her own track, not how fast the distance left falls: a
way home seldom starts straight at the door (out of a station, round a block, along a road
that runs sideways to it for a while). Judged by the distance left as the crow flies, a walker
at her planned pace, or faster, seemed slow for her first minutes, and her companions were
told "slower: more time" while her late alarm was put off.

`Walked` counts her steps as the lingering rule judges movement near her door
(domain/lingering.py): a fix farther than noise can explain (40 m, or three times the
accuracy it claims) from where she has been (the mean of her fixes there), twice in a row
and the two agreeing, is a step (one far fix alone may be an outlier, and a stray fix that
comes back is no walk). The steps are judged so strictly because, without streets, they hold
off the stalled rule for a while (`Walked.holds_off_stalled`): the GPS of a phone lying still
must not take steps. It also keeps where her pace is measured from: her first fix, or where
she set off again after a pause; and how far she had walked when she last got nearer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from walkwithme.domain.driven import Rise
from walkwithme.domain.geo import DETOUR_FACTOR, distance_m
from walkwithme.domain.lingering import MEAN_OF, moved_beyond_m
from walkwithme.domain.profiles import MINUTE
from walkwithme.domain.stops import Stop

ADAPT_AFTER_MS = 2 * MINUTE  # her pace is judged over at least this long...
ADAPT_AFTER_M = 100.0  # ...and this far
# ...and along her track (where the way left is a guess), this long: the first minutes of a
# walk (out of a station, across a street and back) are a zigzag her steps cut short.
GUESSED_AFTER_MS = 4 * MINUTE
ADAPT_STEP_MS = MINUTE  # more time is given (and said) in steps of a minute or more
MAX_WALK_MS = 240 * MINUTE  # no walk is expected to last longer than this from its start
# A stop this long (and longer than a few of her phone's intervals) is a pause, not her pace:
# her pace is measured again from where she sets off.
PAUSE_MS = 90_000
PAUSE_INTERVALS = 3
# Before the last quarter of her time, only a walker slower than this share of her planned
# pace (along her track) is given more time (`guess_now`). Counted in steps, her track is a
# little shorter than she walked (each a straight line): at her planned pace she is not
# slower. A walker a little slower than planned is within the late rule's grace (a quarter
# of her time, or more).
SLOWER_THAN = 0.8


# A fix that doesn't say how accurate it is is taken as this vague, for her steps: a phone
# lying still must not take steps (they hold off the stalled rule, without streets).
UNKNOWN_ACCURACY_M = 20.0
# Without streets, walking on holds off the stalled rule for at most this share of the way
# left as the crow flies since she last got nearer (the plan's own allowance for streets not
# being straight), at least `HOLD_LEAST_M` and at most `HOLD_MOST_M`: a way that runs
# sideways for a while is walked, but walking to and fro without getting nearer is not
# getting home, and the stalled rule asks her.
HOLD_SHARE = DETOUR_FACTOR - 1
HOLD_LEAST_M = 100.0
HOLD_MOST_M = 400.0


@dataclass(frozen=True)
class Walked:
    """How far she has walked along her track, and where her pace is measured from."""

    metres: float  # the sum of her steps since her first fix
    lat: float  # where her last step ended (her first fix, until she takes one)
    lon: float
    at: int  # and when
    # Where she has been since (the mean of her fixes there, as `Stillness` keeps one near
    # the door: a noisy fix is judged against it, never against the fix before it), and of
    # how many.
    here: tuple[float, float] = (0.0, 0.0)
    fixes: int = 1
    # Her last fix, if it was farther than noise from there: one more that agrees with it,
    # and she took a step (along the way through this one, so that a corner is not cut).
    far: tuple[float, float] | None = None
    # Where her last step started: a step back to it is no step (a phone whose fixes flip
    # between two places, two devices of hers, or Wi-Fi and GPS, walks nowhere).
    back: tuple[float, float] | None = None
    mark_m: float = 0.0  # `metres` when her pace began to be measured
    mark_at: int = 0  # and when (the time of that fix)
    mark_left_m: float | None = None  # and how far she had left then
    nearer_m: float = 0.0  # `metres` when she last got nearer (her progress)
    # Her pace along her track before her last pause, until it is measured again after it.
    pace_before: float | None = None
    # Her fixes since her last progress: where she stood (domain/stops.py).
    stop: Stop | None = None
    # How her distance left rises, fast or not (domain/driven.py).
    rise: Rise | None = None
    # Where she stood when she was asked about her stop, and when she was asked: fixed, where
    # her stop's middle moves with her once she is clearly away (usecases/track.py); no
    # place (None, None) if she was not standing then.
    asked_where: tuple[float | None, float | None, int] | None = None

    @property
    def went_nearer(self) -> bool:
        """She has made progress on this walk (`got_nearer`)."""
        return self.nearer_m > 0.0

    def stored(self) -> dict[str, Any]:
        return {
            "m": self.metres,
            "lat": self.lat,
            "lon": self.lon,
            "at": self.at,
            "here": list(self.here),
            "fixes": self.fixes,
            "far": list(self.far) if self.far is not None else None,
            "back": list(self.back) if self.back is not None else None,
            "mark_m": self.mark_m,
            "mark_at": self.mark_at,
            "mark_left_m": self.mark_left_m,
            "nearer_m": self.nearer_m,
            "pace_before": self.pace_before,
            "stop": self.stop.stored() if self.stop is not None else None,
            "rise": self.rise.stored() if self.rise is not None else None,
            "asked_where": list(self.asked_where) if self.asked_where is not None else None,
        }

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> Walked:
        far, here, back = value["far"], value["here"], value["back"]
        return cls(
            float(value["m"]),
            float(value["lat"]),
            float(value["lon"]),
            int(value["at"]),
            (float(here[0]), float(here[1])),
            int(value["fixes"]),
            (float(far[0]), float(far[1])) if far else None,
            (float(back[0]), float(back[1])) if back else None,
            float(value["mark_m"]),
            int(value["mark_at"]),
            None if value["mark_left_m"] is None else float(value["mark_left_m"]),
            float(value["nearer_m"]),
            None if value.get("pace_before") is None else float(value["pace_before"]),
            Stop.from_stored(value["stop"]) if value.get("stop") else None,
            Rise.from_stored(value["rise"]) if value.get("rise") else None,
            _asked_where(value.get("asked_where")),
        )

    def marked(self, left_m: float, t: int) -> Walked:
        """Her pace measured from here (`left_m` to go, at `t`): where she set off again
        after a pause. Her pace before it stands until it is measured again: a short walk's
        late time may come before four minutes more of walking."""
        return replace(
            self,
            mark_m=self.metres,
            mark_at=t,
            mark_left_m=max(0.0, left_m),
            pace_before=self.track_mps,
        )

    def got_nearer(self) -> Walked:
        """She made progress (got nearer her door) with her last fix."""
        return replace(self, nearer_m=self.metres)

    def holds_off_stalled(self, straight_m: float) -> bool:
        """Without streets, whether her walking since she last got nearer (`straight_m` left
        as the crow flies) is still within what a way home's bends allow (`HOLD_SHARE`)."""
        allowed = min(HOLD_MOST_M, max(HOLD_LEAST_M, HOLD_SHARE * straight_m))
        return self.metres - self.nearer_m <= allowed

    @property
    def track_mps(self) -> float | None:
        """Her pace along her track since the mark, or before her last pause until then
        (None: not yet measured long or far enough to say: `GUESSED_AFTER_MS`, as it is used
        where the way left is a guess)."""
        now = _pace(self.metres - self.mark_m, self.at - self.mark_at, GUESSED_AFTER_MS)
        return now if now is not None else self.pace_before

    def pace_along_streets(self, left_m: float, t: int) -> float | None:
        """Her pace toward her door along the streets since the mark: how fast what she has
        left to walk falls, whichever street she takes (`left_m` now, at `t`)."""
        if self.mark_left_m is None:
            return None
        return _pace(self.mark_left_m - left_m, t - self.mark_at, ADAPT_AFTER_MS)

    def way_left(self, straight_m: float) -> float | None:
        """Without streets, how far she has still to walk, from `straight_m` as the crow
        flies: the straight line, longer by as much as her own way has been since the mark
        (her steps against how much nearer they took her), up to the allowance her plan
        made for streets not being straight. A walker who goes straight home is not given
        time for streets she doesn't walk; one whose way runs sideways to her door for a
        while is not given more than streets need. None: she has not got nearer enough
        since the mark to say (walking to and fro is no way home, and earns no time)."""
        if self.mark_left_m is None or self.mark_left_m - straight_m < ADAPT_AFTER_M:
            return None
        ratio = (self.metres - self.mark_m) / (self.mark_left_m - straight_m)
        return max(0.0, straight_m) * min(DETOUR_FACTOR, max(1.0, ratio))


def _pace(metres: float, elapsed_ms: int, after_ms: int) -> float | None:
    if elapsed_ms < after_ms or metres < ADAPT_AFTER_M:
        return None
    return metres / (elapsed_ms / 1000)


def walked_after(
    previous: Walked | None,
    lat: float,
    lon: float,
    accuracy_m: float | None,
    t: int,
    left_m: float,
) -> tuple[Walked, bool]:
    """Her track after a trusted fix taken at `t`, and whether the fix was a step: farther
    than noise can explain (`moved_beyond_m`) from where she has been, twice in a row, the
    two fixes agreeing (two strays seldom do). A fix too vague to say is no step, and
    changes nothing. `left_m`: how far she has left to walk (her first fix is where her pace
    is measured from)."""
    if previous is None:
        return Walked(0.0, lat, lon, t, (lat, lon), mark_at=t, mark_left_m=max(0.0, left_m)), False
    beyond = moved_beyond_m(UNKNOWN_ACCURACY_M if accuracy_m is None else accuracy_m)
    if beyond is None:
        return previous, False
    if distance_m(*previous.here, lat, lon) <= beyond:
        n = min(previous.fixes, MEAN_OF - 1)
        mean = (
            (previous.here[0] * n + lat) / (n + 1),
            (previous.here[1] * n + lon) / (n + 1),
        )
        return replace(previous, here=mean, fixes=n + 1, far=None), False
    far = previous.far
    if far is None or not _agree(previous.here, far, (lat, lon), beyond):
        return replace(previous, far=(lat, lon)), False  # one more, agreeing, is a step
    start = (previous.lat, previous.lon)
    # Back where her last step started, she walked nowhere: she is here, and that is all.
    back = previous.back is not None and distance_m(*previous.back, lat, lon) <= beyond
    step = 0.0 if back else distance_m(*start, *far) + distance_m(*far, lat, lon)
    here = replace(
        previous,
        metres=previous.metres + step,
        lat=lat,
        lon=lon,
        at=t,
        here=(lat, lon),
        fixes=1,
        far=None,
        back=start,
    )
    return here, not back


def _agree(
    here: tuple[float, float], far: tuple[float, float], then: tuple[float, float], beyond: float
) -> bool:
    """Whether two far fixes in a row say the same: near each other, or the second farther on
    the same way (a phone that reports seldom moves more than noise between fixes); two
    strays seldom do."""
    if distance_m(*far, *then) <= beyond:
        return True
    if distance_m(*here, *then) < distance_m(*here, *far):
        return False  # coming back
    # The same way from where she has been: the angle between the two is under 90 degrees.
    squeeze = math.cos(math.radians(here[0]))
    north = (far[0] - here[0]) * (then[0] - here[0])
    east = (far[1] - here[1]) * (then[1] - here[1]) * squeeze * squeeze
    return north + east > 0


def paused_before(since_progress_ms: int, since_fix_ms: int, *, first: bool = False) -> bool:
    """Whether the progress a fix made is her first after a pause: her last progress was
    `since_progress_ms` ago, her fix before `since_fix_ms` ago (a phone that reports every few
    minutes makes progress that seldom, walking). `first`: she has made none yet this walk,
    which takes a fix more to see (her first two fixes settle where she sets off, then two
    nearer in a row: `rules.progress_after`): a steady walker whose phone reported every 30 s
    was taken to have paused before her first progress could be seen, held there, and asked
    "Are you OK?" at night for one stray fix (held-out walks)."""
    intervals = PAUSE_INTERVALS + 1 if first else PAUSE_INTERVALS
    return since_progress_ms > max(PAUSE_MS, intervals * since_fix_ms)


def guess_now(
    pace_mps: float | None, planned_mps: float, t: int, started_at: int, expected_at: int
) -> bool:
    """Whether to judge now if she needs more time: she walks slower than she planned along
    her track (`pace_mps`; `SLOWER_THAN`), or, walking at her pace, she is in the last quarter
    of her time, when how long her way really is has shown (a detour round a park). Earlier,
    a way that starts sideways to her door looks like a long one (without streets), and fixes
    a little off the map's street read a longer way left than there is (along them): a walker
    on time would be given time she doesn't need, putting off her alarm."""
    if pace_mps is None:
        return False
    return pace_mps < SLOWER_THAN * planned_mps or 4 * (expected_at - t) <= expected_at - started_at


# A wait she sets off from (a red light, a goodbye at the start) is time she needs on top of
# her walking: it is given back to her, up to this much a wait (a longer stop is the stalled
# rule's to ask about, and her answer brings quiet time of its own).
MOST_CREDITED_WAIT_MS = 5 * MINUTE


def after_a_wait(expected_at: int, started_at: int, waited_ms: int) -> int | None:
    """Her expected arrival once she sets off again after a pause of `waited_ms` (measured
    from her last progress): later by the wait, up to `MOST_CREDITED_WAIT_MS`, never beyond
    `MAX_WALK_MS` from the start; None: no change (less than a minute's worth). Three waits
    of two minutes at red lights on an 18-minute walk, at her planned pace, were six minutes
    the late rule's grace (three at night) did not cover: asked "Are you OK?", and with no
    answer in a minute the alarm went out, at her door."""
    later = min(expected_at + min(waited_ms, MOST_CREDITED_WAIT_MS), started_at + MAX_WALK_MS)
    return later if later >= expected_at + ADAPT_STEP_MS else None


def adapted_arrival(
    expected_at: int, started_at: int, pace_mps: float | None, left_m: float, t: int
) -> int | None:
    """A walker who keeps making progress, slower than planned, gets the time her own pace says
    she needs, as a companion watching her would give it; None: no change. Call it only for a
    fix that made progress: one who stops is given nothing (the stalled rule watches her).
    `pace_mps`: toward her door along the streets, or along her track; `left_m`: to walk to
    the door."""
    if pace_mps is None or pace_mps <= 0:
        return None
    # (In floats until capped: a pace near nothing needs more time than an int can hold.)
    needed = int(min(t + max(0.0, left_m) / pace_mps * 1000, started_at + MAX_WALK_MS))
    # At most half as long again as she was given, at a time (from now, if she is due
    # already): her pace, measured over a few minutes, is no promise, and a late walk is the
    # alarm of last resort. Never a time already past: that would only say "late" again.
    most = max(expected_at, t) + max(ADAPT_STEP_MS, (expected_at - started_at) // 2)
    needed = min(needed, most)
    return needed if needed >= expected_at + ADAPT_STEP_MS and needed > t else None


def _asked_where(stored: Any) -> tuple[float | None, float | None, int] | None:
    if not stored:
        return None
    lat, lon, at = stored
    if lat is None or lon is None:
        return None, None, int(at)
    return float(lat), float(lon), int(at)
