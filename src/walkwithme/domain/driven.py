"""Moving away fast, as in a vehicle: the sign of a walker driven away.

The moving-away rule gives a walker 90 s to 2 minutes (and a fix to confirm it) before it asks
"Are you OK?": a way home may wind. A car does not wind back: an outside replay's walker,
grabbed 700 m into her walk and driven back the way she came at 14 m/s, was asked 2 minutes
later and alarmed 3 to 4 minutes later, 2 to 3 km away. So her distance left (the measure the
moving-away rule uses: along the streets with a street map, else as the crow flies) rising
faster than anyone walks or runs, confirmed, asks her at once (`rules.Reason.MOVING_AWAY_FAST`).

A step is measured from the last fix a step ended at (the anchor) to the first fix whose
distance left differs from it by more than noise: a phone that reports every second still
takes steps a car makes fast, and a phone lying still takes none. A step is fast when her
distance left rose faster than `FAST_RISE_MPS`, by more than twice the accuracy either fix
claims (at least `MIN_STEP_M`), each fix claiming better than `DECENT_ACCURACY_M` (a vaguer one
says nothing, and is passed over, unless her phone says with it that it moves at a vehicle's
speed and it claims better than `VAGUE_IN_A_VEHICLE_M`). The sign is confirmed by a second
fast step in a row that her next fix holds (`pending`: one back where the run began is a
stray's step back; two steps `CLEARLY_DRIVEN_M` long need none), or by her phone saying, with
both fixes of the step, that it moves faster than `VEHICLE_MPS` (its own speed, from
Doppler, is seldom wrong by that much); either way,
only once her distance left has risen `MIN_RUN_M` since the run of fast steps began. What
does not ask: a tram or bus toward home (her distance left falls), one stray fix (the step
back to her true fixes is a fall; from one toward her door, a rise that follows a fall faster
than anyone walks, which is not counted: `fell_fast`), a vehicle whose way dips away for less
than the confirming step, a walker running (slower than `FAST_RISE_MPS`). Getting nearer again ends
the sign (a question already asked stands: only her PIN answers it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

# Faster than anyone walks, or runs for long, away from her door.
FAST_RISE_MPS = 5.0
# A phone's own speed above this, with both fixes of a fast step, is a vehicle's.
VEHICLE_MPS = 6.0
# A fix claiming to be vaguer than this says nothing of how fast she moves...
DECENT_ACCURACY_M = 50.0
# ...unless her phone says, with it, that it moves at a vehicle's speed: then one up to this
# vague still measures a step (twice its accuracy, as any), for a car leaves that behind in
# seconds. A vague phone driven away was asked 95 s later than a precise one (outside
# review); a vague phone lying still says no such speed, and stays passed over.
VAGUE_IN_A_VEHICLE_M = 100.0
# A step is a change of the distance left by more than this, and twice each fix's accuracy.
MIN_STEP_M = 25.0
# The run of fast steps must have taken her this much farther: a street's dip is not a ride.
MIN_RUN_M = 100.0
# Two fast steps that took her this much farther are a ride at once, without waiting for her
# next fix to hold them (`Rise.pending`): farther than the strays of a phone between tall
# houses (50 to 300 m), and a car's two steps with a phone that reports every 15 s or less
# often (a 60 s phone, waiting, was asked by the slower moving-away rule first: a diff review).
CLEARLY_DRIVEN_M = 400.0


@dataclass(frozen=True)
class Rise:
    """How her distance left has risen: the anchor of her next step, her run of fast steps,
    and the sign (`since`), once confirmed."""

    left_m: float  # the anchor: her distance left at the fix her last step ended at
    at: int  # and its time
    crow_m: float  # and her distance to the door as the crow flies
    accuracy_m: float
    speed_mps: float | None
    run_m: float | None = None  # her last step was fast: the distance left her run began at
    run_steps: int = 0  # how many fast steps in a row
    since: int | None = None  # moving away fast: since when (confirmed)
    # Her last step was a sudden fall faster than anyone walks, after one that was not (a
    # stray fix toward her door): a fast rise right after is the step back from it, no sign
    # of being driven away, unless her phone says it drives (it was one, and a second stray
    # then confirmed a ride: a held-out replay). Falls fast in a row are a ride toward her
    # door (`IN_A_RUN`): one that turns away is seen as fast as ever.
    fell_fast: int = 0
    # Her run's second fast step came, and the sign waits for her next fix to hold it: one
    # that falls back (a stray fix, the confirming step's way back) is no ride. A noise step
    # of 35 m, then one stray 285 m off, confirmed a ride on an ordinary walk between tall
    # houses, her phone reporting every 5 s (an outside review's held-out walks).
    pending: bool = False

    SUDDEN: ClassVar[int] = 1
    IN_A_RUN: ClassVar[int] = 2

    def stored(self) -> dict[str, Any]:
        return {
            "left_m": self.left_m,
            "at": self.at,
            "crow_m": self.crow_m,
            "accuracy_m": self.accuracy_m,
            "speed_mps": self.speed_mps,
            "run_m": self.run_m,
            "run_steps": self.run_steps,
            "since": self.since,
            "fell_fast": self.fell_fast,
            "pending": self.pending,
        }

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> Rise:
        speed, run, since = value["speed_mps"], value["run_m"], value["since"]
        return cls(
            float(value["left_m"]),
            int(value["at"]),
            float(value["crow_m"]),
            float(value["accuracy_m"]),
            None if speed is None else float(speed),
            None if run is None else float(run),
            int(value["run_steps"]),
            None if since is None else int(since),
            int(value.get("fell_fast", 0)),  # (kept before it was: none)
            bool(value.get("pending", False)),
        )


def rise_after(
    previous: Rise | None,
    left_m: float,
    crow_m: float,
    t: int,
    accuracy_m: float | None,
    speed_mps: float | None,
    nearer: bool,
) -> Rise | None:
    """After a trusted fix (`left_m` to go, `crow_m` to the door as the crow flies, at `t`;
    `nearer`: it made progress). Along the streets, a step is fast only if it is fast as the
    crow flies too: a noisy fix snapped to a street across a railway has a longer way home
    than where she stands, but is no farther from her door (the moving-away rule, too, asks
    whoever turns back to be farther both ways)."""
    if previous is not None and nearer and (previous.since is not None or previous.pending):
        previous = _ended(previous)
    if accuracy_m is None or (
        accuracy_m >= DECENT_ACCURACY_M
        and not (accuracy_m < VAGUE_IN_A_VEHICLE_M and _vehicle(speed_mps))
    ):
        return previous  # too vague to measure a step by: passed over
    if previous is None:
        return Rise(left_m, t, crow_m, accuracy_m, speed_mps)
    if previous.pending:
        back = max(MIN_STEP_M, 2 * previous.accuracy_m, 2 * accuracy_m)
        began = previous.run_m if previous.run_m is not None else previous.left_m
        if left_m - began <= back:
            # Back where her run of fast steps began (or nearer): the step that would have
            # confirmed it was a stray's, no ride. (Falling back less, a car turning or a
            # noisy fix as it stops, holds it: a diff review.)
            return Rise(left_m, t, crow_m, accuracy_m, speed_mps, since=previous.since)
        held = previous.since if previous.since is not None else t
        previous = replace(previous, pending=False, since=held)
    change = left_m - previous.left_m
    beyond = max(MIN_STEP_M, 2 * previous.accuracy_m, 2 * accuracy_m)
    if abs(change) <= beyond or t <= previous.at:
        return previous  # no step yet: within noise of where her last step ended
    fastest = FAST_RISE_MPS * (t - previous.at) / 1000
    rise = min(change, crow_m - previous.crow_m)
    fell = max(change, crow_m - previous.crow_m)
    vehicle = _vehicle(previous.speed_mps) and _vehicle(speed_mps)
    fast = rise > beyond and rise > fastest and (vehicle or previous.fell_fast != Rise.SUDDEN)
    fell_fast = -fell > beyond and -fell > fastest
    anchor = Rise(
        left_m,
        t,
        crow_m,
        accuracy_m,
        speed_mps,
        since=previous.since,
        fell_fast=(Rise.IN_A_RUN if previous.fell_fast else Rise.SUDDEN) if fell_fast else 0,
    )
    if not fast:
        return anchor
    run_m = previous.run_m if previous.run_m is not None else previous.left_m
    steps = previous.run_steps + 1
    far = left_m - run_m >= MIN_RUN_M
    clearly = left_m - run_m >= CLEARLY_DRIVEN_M
    if previous.since is None and far and steps >= 2 and not (vehicle or clearly):
        # Held by her next fix, or not (`pending`).
        return Rise(left_m, t, crow_m, accuracy_m, speed_mps, run_m, steps, pending=True)
    confirmed = (steps >= 2 or vehicle) and far
    since = previous.since if previous.since is not None else t if confirmed else None
    return Rise(left_m, t, crow_m, accuracy_m, speed_mps, run_m, steps, since)


def _vehicle(speed_mps: float | None) -> bool:
    return speed_mps is not None and speed_mps > VEHICLE_MPS


def _ended(rise: Rise) -> Rise:
    return Rise(rise.left_m, rise.at, rise.crow_m, rise.accuracy_m, rise.speed_mps)
