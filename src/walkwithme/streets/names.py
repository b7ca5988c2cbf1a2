"""Where she was, in words: the named streets nearest a position.

Whoever acts on an alarm at night acts sooner on "near Fredrikinkatu and Bulevardi" than on
two coordinates (which the alerts still give, for the emergency services). Pavements and
footpaths are mostly mapped as ways of their own, without a name, beside the street they
follow: so what is looked for is the nearest *named* street in the open, not the nearest way,
and a second name when she is as near another street too (a corner, a crossing).
"""

from __future__ import annotations

from walkwithme.streets.graph import WalkingGraph
from walkwithme.streets.snap import StreetIndex

NEAR_M = 60.0  # a named street farther than this is not "near" her
CORNER_M = 30.0  # a second street this near: both names ("near X and Y")
CELL_M = 40.0  # the grid's cells: named streets are fewer than all the ways


class StreetNames:
    def __init__(self, walking: WalkingGraph) -> None:
        named = walking.named_outdoor_edges()
        self._names = [name for _edge, name in named]
        self._index = (
            StreetIndex(walking, CELL_M, [edge for edge, _name in named]) if named else None
        )

    def near(self, lat: float, lon: float, accuracy_m: float | None = None) -> list[str]:
        """The nearest named street within NEAR_M, and a second one if it is within CORNER_M
        too; nothing if no named street is near, or if the position is vaguer than NEAR_M
        (`accuracy_m`): a street's name would claim a precision the fix doesn't have."""
        if self._index is None or (accuracy_m is not None and accuracy_m > NEAR_M):
            return []
        nearest: dict[str, float] = {}
        for segment, metres in self._index.segments_within(lat, lon, NEAR_M).items():
            name = self._names[segment]
            if metres < nearest.get(name, NEAR_M + 1):
                nearest[name] = metres
        ranked = sorted(nearest, key=lambda name: (nearest[name], name))
        return ranked[:1] + [name for name in ranked[1:2] if nearest[name] <= CORNER_M]

    def other_near(self, lat: float, lon: float, name: str, within_m: float = 400.0) -> str | None:
        """The nearest named street of another name within `within_m`: which of a region's
        streets of one name it is ("Koulukatu, near Kirkkotie"), or None."""
        if self._index is None:
            return None
        nearest: dict[str, float] = {}
        for segment, metres in self._index.segments_within(lat, lon, within_m).items():
            other = self._names[segment]
            if other != name and metres < nearest.get(other, within_m + 1):
                nearest[other] = metres
        return min(nearest, key=lambda other: (nearest[other], other), default=None)
