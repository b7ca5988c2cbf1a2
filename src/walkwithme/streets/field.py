"""A distance field: how far it is to walk to one destination, from everywhere on the streets.

One single-source Dijkstra from the destination (from the point of the street nearest to it),
run once per destination, answers every later question about that destination with a lookup:
how far a walker has left from wherever she is (not from where the server thought she would
walk: she may choose another street), and which way the shortest route goes.
"""

from __future__ import annotations

import heapq
from array import array

from walkwithme.domain.geo import distance_m
from walkwithme.streets.graph import WalkingGraph
from walkwithme.streets.osm import LatLon
from walkwithme.streets.route import Route
from walkwithme.streets.snap import Snap, StreetIndex

FROM_DESTINATION = -1  # in `_next`: reached straight from the destination's point
# How much faster than she moved the distance left may seem to fall (GPS error, and the way
# positions meet the streets): see `walking_distance_left`.
SHORTCUT_SLACK_M = 25.0


class DistanceField:
    def __init__(
        self,
        walking: WalkingGraph,
        neighbours: list[list[tuple[int, float]]],
        index: StreetIndex,
        destination: LatLon,
        at: Snap,
        snap_m: float,
    ) -> None:
        """`at`: where the destination meets the streets; `snap_m`: how far from a street a
        walker may be and still be placed on it."""
        self.destination = destination
        self._walking = walking
        self._index = index
        self._at = at
        self._snap_m = snap_m
        edge = walking.length(at.u, at.v)
        # The walk starts on the destination's street, part of the way along one of its edges.
        self._to_go, self._next = _dijkstra(
            neighbours, {at.u: at.t * edge, at.v: (1 - at.t) * edge}, walking.node_count
        )

    @property
    def destination_off_streets_m(self) -> float:
        """How far the destination is from the nearest street the map knows."""
        return self._at.distance_m

    def walking_distance_left(
        self, lat: float, lon: float, came_from: LatLon | None = None
    ) -> float:
        """Metres left to walk from this position to the destination (`walking_left`)."""
        return self.walking_left(lat, lon, came_from)[0]

    def walking_left(
        self, lat: float, lon: float, came_from: LatLon | None = None
    ) -> tuple[float, bool]:
        """Metres left to walk from this position to the destination: to the nearest street,
        along the streets, and from the street to the destination; and whether the position
        is on the map. A position beyond the map (no street within the snapping distance)
        gets the straight line: there are no streets there to judge by, and she is judged as
        without a map (a held-out walk started beyond its edge, walking sideways to her door,
        was asked "Are you OK?" and alarmed at night, where without a map nothing was asked).

        `came_from`: where she was at her previous fix. Walking, the distance left can't fall
        faster than she moves; but a fix a few metres off (GPS error) can land across a
        railway, a fence or a row of buildings from her, where the walk home is hundreds of
        metres shorter. Believed, that would become the best she has done so far, and her
        next, true fixes would look like walking away. So the fall is held to how far she
        moved, give or take the slack."""
        left, on_map = self._left(lat, lon)
        if came_from is None:
            return left, on_map
        before, _ = self._left(*came_from)
        moved = distance_m(*came_from, lat, lon)
        return max(left, before - moved - SHORTCUT_SLACK_M), on_map

    def _left(self, lat: float, lon: float) -> tuple[float, bool]:
        snap = self._index.nearest(lat, lon, self._snap_m)
        if snap is None:
            return distance_m(lat, lon, *self.destination), False
        return self._walk(lat, lon, snap)[0], True

    def route_from(self, lat: float, lon: float) -> Route | None:
        """The shortest walk from this position to the destination, or None from beyond the
        map."""
        snap = self._index.nearest(lat, lon, self._snap_m)
        if snap is None:
            return None
        length, via, across = self._walk(lat, lon, snap)
        if across:
            return Route([(lat, lon), self.destination], length)
        points: list[LatLon] = [(lat, lon), snap.point]
        node = via
        while node >= 0:
            points.append(self._walking.position(node))
            node = self._next[node]
        points += [self._at.point, self.destination]
        return Route(_without_repeats(points), length)

    def _walk(self, lat: float, lon: float, snap: Snap) -> tuple[float, int, bool]:
        """Metres from the position to the destination; the node her walk leaves her street
        by (FROM_DESTINATION: none, she is on the destination's own stretch of street); and
        whether she goes straight across to it."""
        along, via = self._along(snap)
        length = snap.distance_m + along + self._at.distance_m
        if via == FROM_DESTINATION:
            # Off the same stretch of street as the destination, she cuts across to it (from
            # the pavement to the door, across the yard), rather than to the street and back.
            straight = distance_m(lat, lon, *self.destination)
            if straight < length:
                return straight, via, True
        return length, via, False

    def _along(self, snap: Snap) -> tuple[float, int]:
        """Metres along the streets from a point on them to the destination's point, and the
        node the walk leaves her edge by (-1: she is on the destination's own edge, and walks
        straight along it)."""
        edge = self._walking.length(snap.u, snap.v)
        by_u = snap.t * edge + self._to_go[snap.u]
        by_v = (1 - snap.t) * edge + self._to_go[snap.v]
        best, via = (by_u, snap.u) if by_u <= by_v else (by_v, snap.v)
        at = self._at
        if {snap.u, snap.v} == {at.u, at.v}:
            t = at.t if snap.u == at.u else 1 - at.t  # the destination, measured from snap.u
            direct = abs(snap.t - t) * edge
            if direct <= best:
                return direct, FROM_DESTINATION
        return best, via


def _dijkstra(
    neighbours: list[list[tuple[int, float]]], sources: dict[int, float], count: int
) -> tuple[array[float], array[int]]:
    """Metres from the sources (each with its own start) to every node, and for each node the
    next one on a shortest walk back to the sources (FROM_DESTINATION for a source)."""
    left = array("d", [float("inf")]) * count
    toward = array("i", [FROM_DESTINATION]) * count
    done = bytearray(count)
    heap = [(metres, node, FROM_DESTINATION) for node, metres in sources.items()]
    heapq.heapify(heap)
    while heap:
        metres, node, via = heapq.heappop(heap)
        if done[node]:
            continue
        done[node] = 1
        toward[node] = via
        left[node] = metres
        for other, length in neighbours[node]:
            further = metres + length
            if not done[other] and further < left[other]:
                left[other] = further  # tentative: lets a worse way in the heap be skipped
                heapq.heappush(heap, (further, other, node))
    return left, toward


def _without_repeats(points: list[LatLon]) -> list[LatLon]:
    kept = points[:1]
    for point in points[1:]:
        if point != kept[-1]:
            kept.append(point)
    return kept
