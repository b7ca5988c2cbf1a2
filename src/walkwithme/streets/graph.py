"""The walking graph: street crossings and bends as nodes, the bits of street between them as
undirected edges weighted by their length in metres.

Nodes are numbered 0..n-1 so that everything built on the graph (the snapping grid, the
distance fields) can keep plain arrays indexed by node instead of dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from walkwithme.domain.geo import distance_m
from walkwithme.streets.osm import LatLon, Ways

if TYPE_CHECKING:  # imported when a map is built: a service without streets never needs it
    import networkx as nx

LENGTH = "length"  # the edge attribute: metres along the street
OUTDOORS = "outdoors"  # the edge attribute: in the open, where a fix can place a walker
NAME = "name"  # the edge attribute: the street's name, or None (most footways have none)


@dataclass(frozen=True)
class WalkingGraph:
    graph: nx.Graph[int]
    lats: list[float]  # by node
    lons: list[float]

    @property
    def node_count(self) -> int:
        return len(self.lats)

    def position(self, node: int) -> LatLon:
        return (self.lats[node], self.lons[node])

    def length(self, u: int, v: int) -> float:
        """Metres along the edge from u to v (0 from a node to itself)."""
        return 0.0 if u == v else float(self.graph[u][v][LENGTH])

    def outdoor_edges(self) -> list[tuple[int, int]]:
        return [(u, v) for u, v, edge in self.graph.edges(data=True) if edge[OUTDOORS]]

    def named_outdoor_edges(self) -> list[tuple[tuple[int, int], str]]:
        """The edges in the open that belong to a named street, and its name."""
        return [
            ((u, v), str(edge[NAME]))
            for u, v, edge in self.graph.edges(data=True)
            if edge[OUTDOORS] and edge.get(NAME)
        ]

    def neighbours(self) -> list[list[tuple[int, float]]]:
        """Each node's neighbours and the metres to them, as plain lists: what a Dijkstra run
        reads millions of times, without networkx's views in the way."""
        return [
            [(other, float(edge[LENGTH])) for other, edge in self.graph.adj[node].items()]
            for node in range(self.node_count)
        ]


def build_walking_graph(ways: Ways) -> WalkingGraph:
    """The largest connected piece of the ways: the rest (a courtyard path, a stub the
    extract cut off from everything) can't take anyone home and would only catch snaps."""
    import networkx as nx

    full: nx.Graph[int] = nx.Graph()
    where = ways.where
    for chain in ways.chains:
        for a, b in pairwise(chain.nodes):
            if a == b:
                continue
            # Two ways can share two consecutive nodes: one link, in the open if either is.
            known = full.get_edge_data(a, b)
            open_air: bool = chain.outdoors or bool(known and known[OUTDOORS])
            name = chain.name or (known[NAME] if known else None)
            full.add_edge(
                a, b, **{LENGTH: distance_m(*where[a], *where[b]), OUTDOORS: open_air, NAME: name}
            )
    if full.number_of_nodes() == 0:
        return WalkingGraph(nx.Graph(), [], [])
    largest = max(nx.connected_components(full), key=len)
    osm_ids = sorted(largest)
    number = {osm_id: i for i, osm_id in enumerate(osm_ids)}
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(range(len(osm_ids)))
    for a, b in full.subgraph(largest).edges():
        graph.add_edge(number[a], number[b], **full[a][b])
    return WalkingGraph(
        graph, [where[osm_id][0] for osm_id in osm_ids], [where[osm_id][1] for osm_id in osm_ids]
    )
