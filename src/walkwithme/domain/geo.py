"""Geometry on the sphere: enough for walking distances."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# Streets are rarely straight: a walk is about this much longer than the crow flies.
DETOUR_FACTOR = 1.3
DEFAULT_PACE_MPS = 1.3  # about 4.7 km/h, an ordinary walking pace
MIN_WALK_MS = 2 * 60_000


def expected_duration_ms(straight_line_m: float, pace_mps: float) -> int:
    """How long a walk of this straight-line length should take at this pace."""
    if pace_mps <= 0:
        raise ValueError("pace must be positive")
    return max(MIN_WALK_MS, round(straight_line_m * DETOUR_FACTOR / pace_mps * 1000))


def walking_duration_ms(route_m: float, pace_mps: float) -> int:
    """How long a walk along a route of this length should take at this pace (the route's
    length is along the streets already: no detour to add)."""
    if pace_mps <= 0:
        raise ValueError("pace must be positive")
    return max(MIN_WALK_MS, round(route_m / pace_mps * 1000))
