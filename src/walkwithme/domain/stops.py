"""Where she stood since her last progress, and whether she has clearly left it.

For someone who stands still, every noisy fix is a new chance to look nearer her door than
she has ever been, and two such fixes in a row happen, given a few minutes (an outside replay:
held at one place at night, her fixes 20 m off each way, two landed far enough ahead to count
as progress; her "Are you OK?" was taken back, the timeline said she had "waited a while, and
is on the way again", and her alarm came 6.7 minutes late). So after a stop, progress counts
only once she is clearly away from where she stood (`Stop.left`): the middle of her fixes
since her last progress, farther than GPS noise and than `SPREAD_FACTOR` times how far those
fixes stray from it, two fixes in a row. Where her fixes stray too little for noise to look
like progress (a good fix, a clear sky), the rules' two fixes nearer by more than noise are
hers, and nothing changes: a walker who waited at night, was asked "Are you OK?" and walked
on makes progress, and the question is taken back, within her minute to answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from walkwithme.domain.fixes import Fix
from walkwithme.domain.geo import distance_m
from walkwithme.domain.rules import noise_m
from walkwithme.domain.walks import Destination, WalkState

# Away from where she stood by more than this many times her fixes' spread there (and than
# GPS noise, up to `MOST_AWAY_M`), this many fixes in a row, and she has left it.
SPREAD_FACTOR = 3.0
MOST_AWAY_M = 100.0
AWAY_FIXES = 2
SPREAD_AFTER = 3  # fixes, for their spread to say anything
MEAN_OF = 60  # the middle is the mean of her fixes: a fix that joins many moves it little
JUDGED_ACCURACY_M = 100.0  # a fix vaguer than this says nothing of where she stands
# Asked about her stop, getting nearer only as the crow flies (a longer way round) is progress
# only farther than this from where she stood: fixes reflected off buildings land tens of
# metres off, several in a row, each claiming a good accuracy (usecases/track.py).
CROW_AWAY_M = 100.0
# Her fixes straying less than this from their middle (root mean square) are of someone
# standing there, GPS noise and a step or two included; a walker's, even at 0.9 m/s for the
# stalled rule's three minutes, stray 50 m along her way.
STOOD_SPREAD_M = 25.0
STOOD_FOR_MS = 60_000


@dataclass(frozen=True)
class Stop:
    """Where her fixes have gathered since her last progress (the place she stands, or last
    stood): their middle, how far they stray from it (root mean square), from when to when,
    and her run of fixes since clearly away from it."""

    lat: float
    lon: float
    fixes: int
    spread_m: float
    since: int  # the first fix there
    last_at: int  # the last fix there
    away_fixes: int = 0

    def away_m(self, accuracy_m: float | None) -> float | None:
        """How far from the middle a fix must be to be clearly away (None: noise here can't
        look like progress, or too few fixes to say)."""
        if self.fixes < SPREAD_AFTER:
            return None
        noise = noise_m(accuracy_m)
        if SPREAD_FACTOR * self.spread_m <= noise:
            return None
        return max(noise, min(MOST_AWAY_M, SPREAD_FACTOR * self.spread_m))

    def left(self, accuracy_m: float | None) -> bool:
        """Whether her last fixes are clearly away from where she stood (True: nothing here
        for noise to pass as progress)."""
        return self.away_m(accuracy_m) is None or self.away_fixes >= AWAY_FIXES

    def stood(self) -> bool:
        """Whether her fixes here are of someone standing: enough of them, for `STOOD_FOR_MS`,
        straying no more than `STOOD_SPREAD_M` (a walker's, however slow, spread along her
        way, or gather afresh each time she is clearly away: a slow walker's stop of a few
        fixes looked like standing, and a held-out walk was alarmed for it)."""
        lasted = self.last_at - self.since >= STOOD_FOR_MS
        return self.fixes >= SPREAD_AFTER and lasted and self.spread_m <= STOOD_SPREAD_M

    def waited_since(self, accuracy_m: float | None, pause_ms: int) -> int | None:
        """When she began to stand here, if her fixes gathered round it (strayed less than
        half GPS noise) for `pause_ms` at least; None: she walked, slowly or sideways, her
        fixes noisy, and no wait is given back."""
        gathered = self.fixes >= SPREAD_AFTER and 2 * self.spread_m <= noise_m(accuracy_m)
        return self.since if gathered and self.last_at - self.since >= pause_ms else None

    def stored(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "fixes": self.fixes,
            "spread_m": self.spread_m,
            "since": self.since,
            "last_at": self.last_at,
            "away_fixes": self.away_fixes,
        }

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> Stop:
        return cls(
            float(value["lat"]),
            float(value["lon"]),
            int(value["fixes"]),
            float(value["spread_m"]),
            int(value["since"]),
            int(value["last_at"]),
            int(value["away_fixes"]),
        )


def stop_after(
    previous: Stop | None, lat: float, lon: float, accuracy_m: float | None, t: int
) -> Stop:
    """Where her fixes gather, after this one (taken at `t`)."""
    if previous is None:
        return progress_from(lat, lon, t)
    if (accuracy_m or 0.0) > JUDGED_ACCURACY_M:
        return previous
    off = distance_m(previous.lat, previous.lon, lat, lon)
    # Judged against her fixes before this one: a fix doesn't widen the place it leaves.
    away = previous.away_m(accuracy_m)
    run = previous.away_fixes + 1 if away is None or off > away else 0
    if away is not None and off > away and run >= AWAY_FIXES:
        # Clearly away, twice in a row: she has moved; her fixes gather from here now.
        return Stop(lat, lon, 1, 0.0, t, t, run)
    if off > noise_m(accuracy_m) and previous.fixes >= SPREAD_AFTER:
        # Farther than noise: an outlier, or her leaving; neither is where she stands.
        return replace(previous, away_fixes=run)
    n = min(previous.fixes, MEAN_OF - 1)
    square = (previous.spread_m**2 * n + off**2) / (n + 1)
    return Stop(
        previous.lat + (lat - previous.lat) / (n + 1),
        previous.lon + (lon - previous.lon) / (n + 1),
        previous.fixes + 1,
        square**0.5,
        previous.since,
        t,
        run,
    )


def progress_from(lat: float, lon: float, t: int) -> Stop:
    """She made progress at this fix: her fixes gather from it."""
    return Stop(lat, lon, 1, 0.0, t, t)


def door_where_she_stands(
    was: WalkState,
    door: WalkState,
    stop: Stop | None,
    dest: Destination,
    fix: Fix,
    before: Fix | None,
) -> WalkState:
    """The door's verdict on a fix (`door`, from `was`: walks.door_after_fix), kept as it was
    while she stands where her fixes have gathered (`Stop.stood`): the middle of her fixes
    says which side of the door's edge she stands, not one of them. Held 10 m outside her
    door's circle, fixes 30 m off put her "at the door" and took her away again, each time
    starting the stalled rule's time and the lingering rule's afresh: her companions were
    told six times she was at the door, and her alarm came fourteen minutes late, or not at
    all (an outside review's held-out walks).

    So, standing outside the circle, she arrives only if her fix before this one (`before`)
    was away from where she stood already, farther than noise: a walker, slow enough for her
    fixes to seem gathered, walks on from there (the stalled rule watches the one who
    stands). Standing where she stood at the door, she leaves it only with two fixes in a row
    clearly away from there, as she would walking off, or driven (the lingering rule watches
    her till then)."""
    if door is was or stop is None or not stop.stood():
        return door
    if door is WalkState.AT_DOOR:
        inside = dest.distance_from(stop.lat, stop.lon) <= dest.radius_m
        walking = before is not None and _off(stop, before) > noise_m(before.accuracy_m)
        return door if inside or walking else was
    if before is None or not (_clear_of(stop, fix) and _clear_of(stop, before)):
        return was
    return door


def _off(stop: Stop, fix: Fix) -> float:
    return distance_m(stop.lat, stop.lon, fix.lat, fix.lon)


def _clear_of(stop: Stop, fix: Fix) -> bool:
    """Whether a fix is clearly away from where she stands: farther from its middle than
    noise, and than her fixes there stray."""
    away = stop.away_m(fix.accuracy_m)
    return _off(stop, fix) > (away if away is not None else noise_m(fix.accuracy_m))
