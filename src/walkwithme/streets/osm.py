"""Reading an OpenStreetMap extract (`.osm.pbf`): the walkable ways, as chains of points.

Only this module knows osmium. It reads the file once, keeping the location of every node
(osmium's in-memory location index), and hands on plain Python values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from walkwithme.streets.foot import outdoors, walkable

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Chain:
    """A walkable way (or the part of it inside the extract): its OSM node ids, in order."""

    nodes: list[int]
    outdoors: bool  # see foot.outdoors
    name: str | None = None  # its `name` tag: how alerts say where she was (streets/names.py)


@dataclass(frozen=True)
class Ways:
    """The walkable ways of an extract, and where their nodes are."""

    chains: list[Chain]
    where: dict[int, LatLon]


def read_walkable_ways(path: Path) -> Ways:
    import osmium  # here, not at the top: a service without a street file never needs it

    chains: list[Chain] = []
    where: dict[int, LatLon] = {}
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        assert isinstance(way, osmium.osm.Way)
        tags = dict(way.tags)
        if not walkable(tags):
            continue
        open_air = outdoors(tags)
        name = tags.get("name") or None
        chain: list[int] = []
        for node in way.nodes:
            if not node.location.valid():
                # The extract cut this way: its nodes outside the file have no location.
                # Never join the pieces on either side of the gap with a straight line.
                if len(chain) > 1:
                    chains.append(Chain(chain, open_air, name))
                chain = []
                continue
            where[node.ref] = (node.location.lat, node.location.lon)
            chain.append(node.ref)
        if len(chain) > 1:
            chains.append(Chain(chain, open_air, name))
    return Ways(chains, where)
