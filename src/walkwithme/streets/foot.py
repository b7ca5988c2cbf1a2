"""Who may walk where: the OpenStreetMap tags of a way that a pedestrian may use.

A walk home goes along streets and paths people may legally walk. When in doubt we keep the
way: a graph with a street too many routes a little oddly; a graph with a street too few
can send a walker the long way round and judge her late for taking the short one.
"""

from __future__ import annotations

from collections.abc import Mapping

# Kinds of way a pedestrian may use unless a tag says otherwise. (Trunks and motorways are
# not here: they take a walker only where the tags say so, below.)
WALKABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
        "track",
        "cycleway",
        "bridleway",
        "platform",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
    }
)
# Roads for cars only, unless foot access is given explicitly.
CAR_ONLY_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})

FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
# `use_sidepath`: the sidewalk is mapped as a way of its own, which is the one to walk.
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})


def walkable(tags: Mapping[str, str]) -> bool:
    """May a pedestrian walk along a way with these tags?"""
    highway = tags.get("highway")
    foot = tags.get("foot")
    if foot in FOOT_FORBIDDEN:
        return False
    if highway in CAR_ONLY_HIGHWAYS:
        return foot in FOOT_ALLOWED
    if highway not in WALKABLE_HIGHWAYS:
        return False
    if _indoors(tags):
        # Inside a building (a mall, a station's concourse, a campus corridor): closed at night,
        # and out of reach of the fixes that follow a walk.
        return False
    if highway == "service" and _tunnel(tags) and foot not in FOOT_ALLOWED:
        # Delivery and maintenance tunnels (central Helsinki has kilometres of them, four
        # levels down) and car park ramps: not a way home.
        return False
    return not (tags.get("access") in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED)


def outdoors(tags: Mapping[str, str]) -> bool:
    """Is a walkable way in the open, where a phone's fix could put its walker? An underpass
    is walkable, but a fix is never taken to mean she is in it: it means the street above."""
    if _tunnel(tags):
        return False
    try:
        return int(tags.get("layer", "0")) >= 0
    except ValueError:
        return True


def _indoors(tags: Mapping[str, str]) -> bool:
    return tags.get("indoor") not in (None, "no") or tags.get("level") not in (None, "0")


def _tunnel(tags: Mapping[str, str]) -> bool:
    # A building passage is a street going under a building, in the open at both ends.
    return tags.get("tunnel") not in (None, "no", "building_passage")
