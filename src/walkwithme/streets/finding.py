"""A street found by its name, typed: where a walker new to the service says where home is.

Her first walk offered a map of unnamed outlines to tap, or coordinates to type (an outside
review: "a frightened new user at night will struggle"). She types a few letters of her
street; the streets whose name has a word beginning so are offered, and the one she picks
brings the map there, for her to tap her door. Nothing is asked of any other site: the names
are the operator's street file's own, and a street is found at the middle of its stretches.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict

from walkwithme.streets.graph import WalkingGraph
from walkwithme.streets.osm import LatLon

MOST_FOUND = 8


def _folded(text: str) -> str:
    """Lower case, without accents: "Töölöntori" is found by "toolo", as typed on a phone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class StreetFinder:
    def __init__(self, walking: WalkingGraph) -> None:
        stretches: dict[str, list[LatLon]] = defaultdict(list)
        for (u, v), name in walking.named_outdoor_edges():
            (lat1, lon1), (lat2, lon2) = walking.position(u), walking.position(v)
            stretches[name].append(((lat1 + lat2) / 2, (lon1 + lon2) / 2))
        self._streets = sorted(
            ((_folded(name), name, _middle(points)) for name, points in stretches.items()),
            key=lambda street: street[1],
        )

    def find(self, typed: str) -> list[tuple[str, LatLon]]:
        """The streets each word typed begins a word of (or is in, for a word of four letters
        or more: "katu" finds every "...katu"), those whose name begins so first."""
        words = _folded(typed).split()
        if not words:
            return []
        found: list[tuple[bool, str, LatLon]] = []
        for folded, name, where in self._streets:
            parts = folded.replace("-", " ").split()
            if all(_matches(word, folded, parts) for word in words):
                found.append((not folded.startswith(words[0]), name, where))
        found.sort(key=lambda street: (street[0], len(street[1]), street[1]))
        return [(name, where) for _later, name, where in found[:MOST_FOUND]]


def _matches(word: str, folded: str, parts: list[str]) -> bool:
    return any(part.startswith(word) for part in parts) or (len(word) >= 4 and word in folded)


def _middle(points: list[LatLon]) -> LatLon:
    """The stretch of the street nearest the middle of all of them: on the street itself,
    where the average of a bending street's stretches may be in a block beside it."""
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return min(points, key=lambda p: (p[0] - lat) ** 2 + (p[1] - lon) ** 2)
