"""Placing a position on the streets: the nearest point of the nearest street segment, found
with a grid of buckets (no scipy).

Why segments and not the nearest node: a node is only where a way bends or meets another, so
between two nodes of her street a walker is often nearer a node of some other way (across the
railway, on a bridge above, at the end of a platform) whose walk home is hundreds of metres
longer or shorter. Measured along central Helsinki, that made the distance left jump by up to
200 m between two fixes, and a walker keeping to the shortest route looked as if she was
walking away. The nearest segment is the street she is on.

Positions are projected onto a flat plane around the map's middle latitude (good to a fraction
of a percent across a city); each segment is dropped in every cell its bounding box touches.
A query looks at its own cell, then at rings of cells further out, and stops once no farther
ring can hold anything nearer than what it found.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from walkwithme.domain.geo import EARTH_RADIUS_M, distance_m
from walkwithme.streets.graph import WalkingGraph
from walkwithme.streets.osm import LatLon

METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180
# Small enough that the nine cells around a fix hold a few dozen segments in a city centre (40 m
# cells took four times as long in central Helsinki); a fix 20 m or less from a street is done
# after those nine.
CELL_M = 20.0


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a position meets the streets: at `point`, a fraction `t` of the way from node
    `u` to node `v` (the same node twice when the graph is a single point)."""

    u: int
    v: int
    t: float
    point: LatLon
    distance_m: float  # from the position to `point`, on the sphere


class StreetIndex:
    """The segments of the streets in the open (or those given: `segments`), by grid cell."""

    def __init__(
        self,
        walking: WalkingGraph,
        cell_m: float = CELL_M,
        segments: list[tuple[int, int]] | None = None,
    ) -> None:
        lats, lons = walking.lats, walking.lons
        middle = (min(lats) + max(lats)) / 2 if lats else 0.0
        self._ky = METRES_PER_DEGREE
        self._kx = METRES_PER_DEGREE * math.cos(math.radians(middle))
        self._cell = cell_m
        # East-west, a metre on the plane is less than a metre on the ground at the map's edge
        # nearer the pole: a search for `within_m` real metres goes out that much further.
        polar = min(89.0, max((abs(lat) for lat in lats), default=0.0))
        self._stretch = math.cos(math.radians(middle)) / math.cos(math.radians(polar))
        self._lats, self._lons = lats, lons
        self._xs = [lon * self._kx for lon in lons]
        self._ys = [lat * self._ky for lat in lats]
        # Only ways in the open: a fix on the street must not land in the tunnel beneath it.
        self._segments = (segments if segments is not None else walking.outdoor_edges()) or list(
            walking.graph.edges()
        )
        if not self._segments:
            self._segments = [(node, node) for node in range(walking.node_count)]
        buckets: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
        for i, (u, v) in enumerate(self._segments):
            x0, x1 = sorted((self._xs[u], self._xs[v]))
            y0, y1 = sorted((self._ys[u], self._ys[v]))
            (cx0, cy0), (cx1, cy1) = self._cell_of(x0, y0), self._cell_of(x1, y1)
            for cx in range(cx0, cx1 + 1):
                for cy in range(cy0, cy1 + 1):
                    buckets[(cx, cy)].append(i)
        self._buckets = dict(buckets)

    def _cell_of(self, x: float, y: float) -> tuple[int, int]:
        return (math.floor(x / self._cell), math.floor(y / self._cell))

    def nearest(self, lat: float, lon: float, within_m: float) -> Snap | None:
        """The nearest point of the streets to the position, if one is within `within_m`."""
        x, y = lon * self._kx, lat * self._ky
        cx, cy = self._cell_of(x, y)
        best, best_t, best_sq = -1, 0.0, math.inf
        rings = math.ceil(within_m * self._stretch / self._cell) + 1
        xs, ys, segments, buckets = self._xs, self._ys, self._segments, self._buckets
        for ring in range(rings + 1):
            for cell in _ring(cx, cy, ring):
                for segment in buckets.get(cell, ()):
                    # The point of the segment nearest (x, y), on the plane (inlined: this
                    # runs a few dozen times for every fix).
                    u, v = segments[segment]
                    ax, ay = xs[u], ys[u]
                    dx, dy = xs[v] - ax, ys[v] - ay
                    length_sq = dx * dx + dy * dy
                    t = 0.0 if length_sq == 0 else ((x - ax) * dx + (y - ay) * dy) / length_sq
                    t = 0.0 if t < 0 else 1.0 if t > 1 else t
                    ex, ey = ax + dx * t - x, ay + dy * t - y
                    squared = ex * ex + ey * ey
                    if squared < best_sq:
                        best, best_t, best_sq = segment, t, squared
            # Whatever lies beyond this ring is at least `ring` cells away.
            reach = ring * self._cell
            if best >= 0 and best_sq <= reach * reach:
                break
        if best < 0:
            return None
        u, v = self._segments[best]
        point = (
            self._lats[u] + (self._lats[v] - self._lats[u]) * best_t,
            self._lons[u] + (self._lons[v] - self._lons[u]) * best_t,
        )
        found = distance_m(lat, lon, *point)
        return Snap(u, v, best_t, point, found) if found <= within_m else None

    def segments_within(self, lat: float, lon: float, within_m: float) -> dict[int, float]:
        """Every segment that passes within `within_m` of the position (on the plane), by its
        number in `segments`, with its distance in metres."""
        x, y = lon * self._kx, lat * self._ky
        cx, cy = self._cell_of(x, y)
        found: dict[int, float] = {}
        rings = math.ceil(within_m * self._stretch / self._cell)
        for ring in range(rings + 1):
            for cell in _ring(cx, cy, ring):
                for segment in self._buckets.get(cell, ()):
                    if segment not in found:
                        found[segment] = self._distance(segment, x, y)
        return {segment: metres for segment, metres in found.items() if metres <= within_m}

    def _distance(self, segment: int, x: float, y: float) -> float:
        u, v = self._segments[segment]
        ax, ay = self._xs[u], self._ys[u]
        dx, dy = self._xs[v] - ax, self._ys[v] - ay
        length_sq = dx * dx + dy * dy
        t = 0.0 if length_sq == 0 else ((x - ax) * dx + (y - ay) * dy) / length_sq
        t = 0.0 if t < 0 else 1.0 if t > 1 else t
        return math.hypot(ax + dx * t - x, ay + dy * t - y)


def _ring(cx: int, cy: int, ring: int) -> list[tuple[int, int]]:
    """The cells exactly `ring` cells away (in the chessboard sense) from (cx, cy)."""
    if ring == 0:
        return [(cx, cy)]
    cells = []
    for dx in range(-ring, ring + 1):
        cells.append((cx + dx, cy - ring))
        cells.append((cx + dx, cy + ring))
    for dy in range(-ring + 1, ring):
        cells.append((cx - ring, cy + dy))
        cells.append((cx + ring, cy + dy))
    return cells
