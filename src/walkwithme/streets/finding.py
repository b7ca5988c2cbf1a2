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

from walkwithme.domain.geo import distance_m
from walkwithme.streets.graph import WalkingGraph
from walkwithme.streets.names import StreetNames
from walkwithme.streets.osm import LatLon

MOST_FOUND = 8
# Pieces of a name this near are one street; farther, streets of one name in other places.
SAME_STREET_M = 1_000.0


# Letters that are no letter and an accent, as a phone's keyboard types them plainly.
_PLAIN = str.maketrans(
    {"ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "\u0131": "i", "þ": "th"}
)


def _folded(text: str) -> str:
    """Lower case, without accents: "Töölöntori" is found by "toolo", "Søndre" by "sondre",
    as typed on a phone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class StreetFinder:
    def __init__(self, walking: WalkingGraph, names: StreetNames) -> None:
        # A name's stretches in pieces that meet: a region's file has many a "Koulukatu", one
        # a town, each a street of its own (a review: they were one, found in one town only).
        pieces: dict[str, _Pieces] = defaultdict(_Pieces)
        for (u, v), name in walking.named_outdoor_edges():
            (lat1, lon1), (lat2, lon2) = walking.position(u), walking.position(v)
            pieces[name].add(u, v, ((lat1 + lat2) / 2, (lon1 + lon2) / 2))
        found: list[tuple[str, str, LatLon]] = []
        for name, of_name in pieces.items():
            middles = [_middle(points) for points in of_name.groups()]
            for where in middles:
                # Which of them, said by the street nearest it of another name.
                other = names.other_near(where[0], where[1], name) if len(middles) > 1 else None
                said = f"{name}, near {other}" if other else name
                found.append((_folded(name), said, where))
        self._streets = sorted(found, key=lambda street: street[1])

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


class _Pieces:
    """A name's stretches, in the pieces that meet (a union-find over their ends)."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}
        self._middles: list[tuple[int, LatLon]] = []

    def _root(self, node: int) -> int:
        self._parent.setdefault(node, node)
        while self._parent[node] != node:
            self._parent[node] = self._parent[self._parent[node]]
            node = self._parent[node]
        return node

    def add(self, u: int, v: int, middle: LatLon) -> None:
        self._parent[self._root(u)] = self._root(v)
        self._middles.append((u, middle))

    def groups(self) -> list[list[LatLon]]:
        """Its pieces; those within `SAME_STREET_M` of each other are one street, broken by a
        crossing or a square mapped without its name (Kaivokatu is, by the station)."""
        grouped: dict[int, list[LatLon]] = defaultdict(list)
        for node, middle in self._middles:
            grouped[self._root(node)].append(middle)
        streets: list[list[LatLon]] = []
        for piece in grouped.values():
            near = [s for s in streets if _within(s, piece, SAME_STREET_M)]
            for street in near:
                streets.remove(street)
            streets.append([p for street in near for p in street] + piece)
        return streets


def _within(one: list[LatLon], other: list[LatLon], metres: float) -> bool:
    """Whether the boxes round them are this near (cheap, for a whole region's file)."""
    (south1, west1, north1, east1), (south2, west2, north2, east2) = _box(one), _box(other)
    lat = max(0.0, south1 - north2, south2 - north1)
    lon = max(0.0, west1 - east2, west2 - east1)
    middle = (south1 + north1) / 2
    return distance_m(middle, 0.0, middle + lat, lon) <= metres


def _box(points: list[LatLon]) -> tuple[float, float, float, float]:
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return min(lats), min(lons), max(lats), max(lons)


def _matches(word: str, folded: str, parts: list[str]) -> bool:
    return any(part.startswith(word) for part in parts) or (len(word) >= 4 and word in folded)


def _middle(points: list[LatLon]) -> LatLon:
    """The stretch of the street nearest the middle of all of them: on the street itself,
    where the average of a bending street's stretches may be in a block beside it."""
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return min(points, key=lambda p: (p[0] - lat) ** 2 + (p[1] - lon) ** 2)
