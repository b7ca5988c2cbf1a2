"""A city's streets, loaded once at start: routes, and how far a walker has left to walk.

The service builds one `StreetMap` from the operator's `.osm.pbf` (WWM_STREETS) and hands it
to the use cases that need it. Distance fields are kept for the destinations asked about most
recently: a walk's field is made when the walk starts, and every fix of that walk then costs a
snap to the nearest street and a lookup.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from walkwithme.streets.field import DistanceField
from walkwithme.streets.finding import StreetFinder
from walkwithme.streets.graph import WalkingGraph, build_walking_graph
from walkwithme.streets.names import StreetNames
from walkwithme.streets.osm import LatLon, read_walkable_ways
from walkwithme.streets.route import Route
from walkwithme.streets.snap import Snap, StreetIndex

# A place farther than this from every street is beyond the map: there is nothing to
# route it by. (Nearer than this, the gap is walked in a straight line: a door is often some
# way from the nearest mapped path, and the streets of an extract stop at its edge.)
MAX_SNAP_M = 500.0
# Fields kept: each costs 12 bytes a node (68 KiB for central Helsinki, a few MB for a whole
# city); a destination whose field was dropped gets a new one at its next fix.
FIELDS_KEPT = 128


class StreetMapError(Exception):
    pass


class StreetMap:
    def __init__(
        self, walking: WalkingGraph, *, max_snap_m: float = MAX_SNAP_M, kept: int = FIELDS_KEPT
    ) -> None:
        if walking.node_count == 0:
            raise StreetMapError("no walkable streets in it")
        self.walking = walking
        self.max_snap_m = max_snap_m
        self._index = StreetIndex(walking)
        self._names = StreetNames(walking)
        self._finder = StreetFinder(walking, self._names)
        self._neighbours = walking.neighbours()
        self._kept = kept
        # None: that destination is beyond the map (remembered too: its walk asks at each fix).
        self._fields: OrderedDict[LatLon, DistanceField | None] = OrderedDict()
        # Fixes (the writer's thread) and route requests (worker threads) share the fields.
        self._lock = threading.Lock()

    def snap(self, lat: float, lon: float) -> Snap | None:
        """Where the position meets the nearest street, unless it is beyond the map."""
        return self._index.nearest(lat, lon, self.max_snap_m)

    def streets_near(self, lat: float, lon: float, accuracy_m: float | None = None) -> list[str]:
        """The names of the street she is nearest (and of a second at a corner), or none (a
        position vaguer than the names could say: streets/names.py)."""
        return self._names.near(lat, lon, accuracy_m)

    def find_streets(self, typed: str) -> list[tuple[str, LatLon]]:
        """Streets found by the words typed, and where each is (streets/finding.py)."""
        return self._finder.find(typed)

    def field_to(self, lat: float, lon: float, *, keep: bool = True) -> DistanceField | None:
        """The distance field of this destination (None: it is beyond the map). `keep=False`
        for a one-off (the route of a walk that is over): it doesn't push out the fields of
        live walks. A field is built outside the lock, so fixes of other walks don't wait."""
        key = (lat, lon)
        with self._lock:
            if key in self._fields:
                self._fields.move_to_end(key)
                return self._fields[key]
        at = self.snap(lat, lon)
        found = (
            DistanceField(self.walking, self._neighbours, self._index, key, at, self.max_snap_m)
            if at is not None
            else None
        )
        if keep:
            with self._lock:
                self._fields[key] = found
                self._fields.move_to_end(key)
                if len(self._fields) > self._kept:
                    self._fields.popitem(last=False)
        return found

    def cached_fields(self) -> int:
        with self._lock:
            return len(self._fields)

    def forget_fields(self) -> None:
        with self._lock:
            self._fields.clear()

    def route(self, start: LatLon, end: LatLon, *, keep: bool = True) -> Route | None:
        """The shortest walk along the streets, or None if either end is beyond the map."""
        field = self.field_to(*end, keep=keep)
        return field.route_from(*start) if field is not None else None

    def walking_distance(self, start: LatLon, end: LatLon) -> float | None:
        """Metres along the streets (what `route` would measure), or None if either end is
        beyond the map."""
        field = self.field_to(*end)
        if field is None or self.snap(*start) is None:
            return None
        return field.walking_distance_left(*start)


def load_street_map(path: Path) -> StreetMap:
    """Read an `.osm.pbf` into a street map; StreetMapError if it can't be read or has no
    walkable streets."""
    try:
        ways = read_walkable_ways(path)
    except (OSError, RuntimeError) as exc:
        raise StreetMapError(f"can't read {path}: {exc}") from exc
    return StreetMap(build_walking_graph(ways))
