"""A walk's destination as a region on her phone (OwnTracks' waypoints): the app watches it
itself, and says when she enters or leaves it (a `transition`), beside the fixes.

OwnTracks names a region by its creation time (`tst`, repeated as `wtst` in transitions), so
a destination's region has a time of its own, the same every walk to the same place: a
second walk home updates the region the first one made instead of adding another.
"""

from __future__ import annotations

import zlib
from typing import Any

from walkwithme.domain.walks import Destination

_FROM = 1_000_000_000  # (2001-09-09: no region she made herself is this old)
_SPAN = 100_000_000


def region_tst(dest: Destination) -> int:
    """The destination's region's `tst`: the same for the same place, different elsewhere."""
    return _FROM + zlib.crc32(f"{dest.lat:.5f},{dest.lon:.5f}".encode()) % _SPAN


def region_name(dest: Destination) -> str:
    """The region's name in her app: the place's name and where it is, without a colon.
    OwnTracks iOS splits a region's `desc` at ":" (name, then beacon) and watches a region by
    its name, so "Walk With Me: home" and "Walk With Me: work" were one region there; where
    it is makes the name as unique as the region's `tst`."""
    name = (dest.name or "destination").replace(":", " ").strip() or "destination"
    return f"Walk With Me - {name} ({dest.lat:.5f}, {dest.lon:.5f})"


def set_region(dest: Destination) -> dict[str, Any]:
    """OwnTracks' command giving the app the destination as a region (`setWaypoints`)."""
    waypoint = {
        "_type": "waypoint",
        "desc": region_name(dest),
        "lat": dest.lat,
        "lon": dest.lon,
        "rad": round(dest.radius_m),
        "tst": region_tst(dest),
    }
    return {
        "_type": "cmd",
        "action": "setWaypoints",
        "waypoints": {"_type": "waypoints", "waypoints": [waypoint]},
    }
