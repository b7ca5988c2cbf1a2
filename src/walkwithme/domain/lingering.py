"""Lingering at the door: not moving near it, judged over several fixes.

Arriving puts a walk "at the door" with hysteresis (domain/walks.py `door_after_fix`), so one
noisy fix inside the radius can put her there while she is still walking: a loop round the
block, the other side of the street. Then only the lingering rule watches her, and if it
counted from her arrival she would be asked "Are you OK?" while walking home. So the rule
counts from the last time she *stopped moving* near the door.

Movement is judged against where she has been standing (`Stillness`): the mean of her fixes
since she stopped, which GPS noise averages away (a single noisy fix is judged against that
mean, never against the fix before it, whose own error would double it). She has moved when
two fixes in a row are farther from it than noise can explain; one far fix alone is an
outlier. Then she stands still wherever she now is, from now. A fix too vague to judge by
changes nothing.

Moving near the door puts the question off, not forever: someone who keeps circling near her
door without going in is asked at last, `NEAR_DOOR_LIMIT` lingering times after she arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walkwithme.domain.geo import distance_m

# Farther from where she has been standing than this (or than `ACCURACY_FACTOR` times the
# fix's own accuracy, if that is more), twice in a row, and she has moved.
MOVED_M = 40.0
ACCURACY_FACTOR = 3.0
# A fix vaguer than this says nothing of whether she moves (the door's own limit).
JUDGED_ACCURACY_M = 100.0
# Where she stands is the mean of at most this many fixes: enough to average noise away,
# few enough to follow a slow drift of the GPS while she stands.
MEAN_OF = 10
# Moving near the door puts the lingering question off by at most this many lingering times
# after she arrived.
NEAR_DOOR_LIMIT = 4


@dataclass(frozen=True)
class Stillness:
    """Where she has been standing near the door, and since when."""

    lat: float
    lon: float
    since: int  # when she stopped moving (or arrived)
    fixes: int = 1  # how many fixes the position is the mean of
    far: bool = False  # the last fix was farther than noise: one more, and she has moved

    def stored(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "since": self.since,
            "fixes": self.fixes,
            "far": self.far,
        }

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> Stillness:
        return cls(
            float(value["lat"]),
            float(value["lon"]),
            int(value["since"]),
            int(value["fixes"]),
            bool(value["far"]),
        )


def still_after(
    previous: Stillness | None, lat: float, lon: float, accuracy_m: float | None, t: int
) -> Stillness:
    """Where she stands after a trusted fix taken at `t` while she is at the door."""
    if previous is None:
        return Stillness(lat, lon, t)
    beyond = moved_beyond_m(accuracy_m)
    if beyond is None:
        return previous
    if distance_m(previous.lat, previous.lon, lat, lon) > beyond:
        if previous.far:
            return Stillness(lat, lon, t)  # moved: she stands still from here, from now
        return Stillness(previous.lat, previous.lon, previous.since, previous.fixes, far=True)
    n = min(previous.fixes, MEAN_OF - 1)
    return Stillness(
        (previous.lat * n + lat) / (n + 1),
        (previous.lon * n + lon) / (n + 1),
        previous.since,
        n + 1,
    )


def moved_beyond_m(accuracy_m: float | None) -> float | None:
    """How far from where she was a fix must be, twice in a row, to say she has moved (None:
    a fix too vague to say)."""
    accuracy = accuracy_m or 0.0
    if accuracy > JUDGED_ACCURACY_M:
        return None
    return max(MOVED_M, ACCURACY_FACTOR * accuracy)


def lingering_due(door_at: int, still_since: int | None, lingering_ms: int) -> int:
    """When she has lingered at the door too long: `lingering_ms` after she last stopped
    moving near it, and no later than `NEAR_DOOR_LIMIT` times that after she arrived."""
    stopped = max(door_at, still_since) if still_since is not None else door_at
    return min(stopped + lingering_ms, door_at + NEAR_DOOR_LIMIT * lingering_ms)
