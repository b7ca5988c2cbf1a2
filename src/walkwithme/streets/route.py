"""A route: the line a walk follows along the streets, and its length."""

from __future__ import annotations

from dataclasses import dataclass

from walkwithme.streets.osm import LatLon


@dataclass(frozen=True)
class Route:
    """From the start, along the streets, to the end. The first and last points are the start
    and the end themselves (when they are not street nodes), so the line reaches the door;
    every point between them is a node of the walking graph, each joined to the next by an
    edge. `length_m` is the length of that whole line."""

    points: list[LatLon]
    length_m: float

    def as_json(self) -> dict[str, object]:
        return {"points": [[lat, lon] for lat, lon in self.points], "length_m": self.length_m}
