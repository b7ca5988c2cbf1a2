"""Simulated walkers: positions along a line (a route on real streets), at a walking pace.

For the demo, the tests and the benchmarks: a walker who leaves at `start_ms` and walks the
line at `pace_mps` is somewhere every `every_s` seconds, and at its end when she gets there.
GPS noise, if asked for, comes from a seeded generator, so a noisy walk is the same walk each
time it is replayed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from walkwithme.domain.geo import distance_m
from walkwithme.streets.snap import METRES_PER_DEGREE

LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Position:
    t_ms: int
    lat: float
    lon: float


def walk_along(
    points: Sequence[LatLon],
    *,
    pace_mps: float,
    every_s: float,
    start_ms: int,
    noise_m: float = 0.0,
    seed: int = 0,
) -> Iterator[Position]:
    """Where the walker is at `start_ms`, every `every_s` seconds after, and at the end of the
    line. `noise_m`: the standard deviation of the GPS error, in metres, in each direction."""
    if pace_mps <= 0 or every_s <= 0:
        raise ValueError("pace and interval must be positive")
    if not points:
        return
    legs = [distance_m(*a, *b) for a, b in pairwise(points)]
    total = sum(legs)
    noise = random.Random(seed)  # noqa: S311 (made-up GPS error, not a secret)
    step_m = pace_mps * every_s
    count = math.floor(total / step_m)
    leg, leg_start = 0, 0.0  # the leg she is on, and how far along the line it begins
    for i in range(count + 1):
        walked = i * step_m
        while leg < len(legs) - 1 and walked > leg_start + legs[leg]:
            leg_start += legs[leg]
            leg += 1
        lat, lon = _between(points, legs, leg, walked - leg_start)
        yield _noisy(Position(start_ms + round(i * every_s * 1000), lat, lon), noise, noise_m)
    if count * step_m < total:
        end = round(total / pace_mps * 1000)
        yield _noisy(Position(start_ms + end, *points[-1]), noise, noise_m)


def _between(points: Sequence[LatLon], legs: list[float], leg: int, along_m: float) -> LatLon:
    """The point `along_m` metres into leg `leg` (the only point, if the line has one)."""
    if not legs:
        return points[0]
    a, b = points[leg], points[leg + 1]
    f = min(1.0, along_m / legs[leg]) if legs[leg] > 0 else 0.0
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


def _noisy(position: Position, noise: random.Random, noise_m: float) -> Position:
    if noise_m <= 0:
        return position
    north, east = noise.gauss(0, noise_m), noise.gauss(0, noise_m)
    per_degree_east = METRES_PER_DEGREE * math.cos(math.radians(position.lat))
    return Position(
        position.t_ms,
        position.lat + north / METRES_PER_DEGREE,
        position.lon + east / per_degree_east,
    )


def line_length_m(points: Sequence[LatLon]) -> float:
    return sum(distance_m(*a, *b) for a, b in pairwise(points))
