"""Streets: a walking graph from OpenStreetMap data, routes along it, and how far a walker has
left to walk from wherever she is.

`load_street_map` reads an `.osm.pbf` (osmium) into an undirected networkx graph of the ways a
pedestrian may use, keeps its largest connected piece, and indexes its streets for snapping.
"""

from walkwithme.streets.field import DistanceField
from walkwithme.streets.osm import LatLon
from walkwithme.streets.route import Route
from walkwithme.streets.shipped import shipped_helsinki
from walkwithme.streets.streetmap import MAX_SNAP_M, StreetMap, StreetMapError, load_street_map

__all__ = [
    "MAX_SNAP_M",
    "DistanceField",
    "LatLon",
    "Route",
    "StreetMap",
    "StreetMapError",
    "load_street_map",
    "shipped_helsinki",
]
