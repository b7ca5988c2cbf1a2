"""Streets: which ways a walker may use, the walking graph, routes along central Helsinki, the
distance left from wherever she is, and simulated walkers.

The Helsinki tests use the real OpenStreetMap extract that ships with the project (loaded once
for the session: see conftest.helsinki).
"""

from __future__ import annotations

import math
import random
from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest

from tests.people import KAISANIEMI, KAMPPI
from walkwithme.config import ConfigError, load_config
from walkwithme.domain.geo import distance_m
from walkwithme.services import build_services
from walkwithme.sim import line_length_m, walk_along
from walkwithme.streets import StreetMap, StreetMapError, load_street_map, shipped_helsinki
from walkwithme.streets.foot import outdoors, walkable
from walkwithme.streets.graph import NAME

# Tampere: nowhere near the map.
TAMPERE = (61.4981, 23.7608)


# -- which ways --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "may"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "primary_link"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "cycleway"}, True),
        ({"highway": "cycleway", "foot": "no"}, False),
        ({"highway": "secondary", "foot": "use_sidepath"}, False),
        ({"highway": "motorway"}, False),
        ({"highway": "trunk_link"}, False),
        ({"highway": "trunk", "foot": "yes"}, True),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "no", "foot": "yes"}, True),
        ({"highway": "track", "access": "permissive"}, True),
        ({"highway": "service", "tunnel": "yes", "layer": "-4"}, False),  # a service tunnel
        ({"highway": "service", "tunnel": "building_passage"}, True),
        ({"highway": "footway", "tunnel": "yes", "layer": "-1"}, True),  # an underpass
        ({"highway": "footway", "indoor": "yes"}, False),
        ({"highway": "footway", "level": "2"}, False),
        ({"highway": "corridor"}, False),
        ({"highway": "construction"}, False),
        ({"railway": "rail"}, False),
    ],
)
def test_a_walker_may_use_the_ways_a_pedestrian_may(tags: dict[str, str], may: bool) -> None:
    assert walkable(tags) is may


def test_a_fix_is_never_taken_to_be_in_a_tunnel() -> None:
    assert outdoors({"highway": "footway"})
    assert outdoors({"highway": "footway", "bridge": "yes", "layer": "1"})
    assert outdoors({"highway": "footway", "tunnel": "building_passage"})
    assert not outdoors({"highway": "footway", "tunnel": "yes"})
    assert not outdoors({"highway": "footway", "layer": "-1"})


# -- the graph, from a small file --------------------------------------------------------------

# A street running east along the 60th parallel (nodes 1, 2, 3, 6, 7), and around it what must
# stay out: a motorway, a way closed to walkers, a service tunnel, a corridor indoors, an island,
# and the far side (8) of a way the extract cut (its node 99 isn't in the file).
NODES = {
    1: (60.0, 25.000),
    2: (60.0, 25.001),
    3: (60.0, 25.002),
    4: (60.001, 25.002),
    5: (59.999, 25.002),
    6: (60.0, 25.003),
    7: (60.0, 25.004),
    8: (60.0, 25.006),
    9: (60.001, 25.001),
    10: (59.999, 25.000),
    11: (59.999, 25.001),
    20: (60.01, 25.01),
    21: (60.01, 25.011),
}
WAYS: list[tuple[list[int], dict[str, str]]] = [
    ([1, 2, 3], {"highway": "footway"}),
    ([3, 4], {"highway": "motorway"}),
    ([3, 5], {"highway": "footway", "foot": "no"}),
    ([3, 6], {"highway": "residential"}),
    ([6, 7, 99, 8], {"highway": "residential"}),
    ([2, 9], {"highway": "service", "tunnel": "yes", "layer": "-4"}),
    ([1, 10], {"highway": "footway", "tunnel": "yes", "layer": "-1"}),
    ([10, 11], {"highway": "footway", "indoor": "yes"}),
    ([20, 21], {"highway": "footway"}),
]


def write_osm(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node, (lat, lon) in NODES.items():
        lines.append(f'<node id="{node}" version="1" lat="{lat}" lon="{lon}"/>')
    for way_id, (refs, tags) in enumerate(WAYS, start=100):
        lines.append(f'<way id="{way_id}" version="1">')
        lines += [f'<nd ref="{ref}"/>' for ref in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def test_the_graph_keeps_the_walkable_ways_largest_piece_weighted_by_length(
    tmp_path: Path,
) -> None:
    streets = load_street_map(write_osm(tmp_path / "toy.osm"))
    walking = streets.walking
    where = {walking.position(node): node for node in walking.graph}
    kept = {osm_id for osm_id, at in NODES.items() if at in where}
    assert kept == {1, 2, 3, 6, 7, 10}
    graph = walking.graph
    assert not graph.is_directed()
    assert graph.number_of_edges() == 5  # 1-2, 2-3, 3-6, 6-7 and the underpass 1-10
    assert not graph.has_edge(where[NODES[7]], where.get(NODES[8], -1))
    for u, v in graph.edges():
        metres = graph[u][v]["length"]
        assert metres == pytest.approx(distance_m(*walking.position(u), *walking.position(v)))


def test_a_position_over_an_underpass_is_placed_on_the_street_not_in_it(tmp_path: Path) -> None:
    streets = load_street_map(write_osm(tmp_path / "toy.osm"))
    above_the_underpass = (59.9995, 25.0)  # halfway along 1-10, 55 m from the street at 1
    snap = streets.snap(*above_the_underpass)
    assert snap is not None
    assert snap.point == pytest.approx(NODES[1])
    assert snap.distance_m == pytest.approx(distance_m(*above_the_underpass, *NODES[1]))


def test_a_file_without_walkable_streets_or_not_a_street_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    with pytest.raises(StreetMapError, match="no walkable streets"):
        load_street_map(empty)
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"this is not a protobuf")
    with pytest.raises(StreetMapError, match="can't read"):
        load_street_map(garbage)


def test_a_street_file_that_cant_be_used_stops_start_up_naming_the_setting(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="WWM_STREETS"):
        load_config({"WWM_STREETS": str(tmp_path / "missing.osm.pbf")})
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"this is not a protobuf")
    config = load_config({"WWM_STREETS": str(garbage), "WWM_DATA": str(tmp_path)})
    with pytest.raises(ConfigError, match="WWM_STREETS"):
        build_services(config)
    assert load_config({"WWM_STREETS": ""}).streets is None


def test_the_shipped_street_file_is_central_helsinki(helsinki: StreetMap) -> None:
    assert shipped_helsinki().name == "helsinki.osm.pbf"
    assert (shipped_helsinki().parent / "ATTRIBUTION.md").read_text().count("OpenStreetMap") >= 2
    assert helsinki.walking.node_count > 5000
    assert nx.is_connected(helsinki.walking.graph)


# -- snapping ----------------------------------------------------------------------------------


def _nearest_by_brute_force(streets: StreetMap, lat: float, lon: float) -> float:
    """The distance to the nearest street in the open, trying every edge (to check the grid
    against), on a flat plane around the position."""
    walking = streets.walking
    ky = 111_195.0
    kx = ky * math.cos(math.radians(lat))
    best = math.inf
    for u, v, edge in walking.graph.edges(data=True):
        if not edge["outdoors"]:
            continue
        (ay, ax), (by, bx) = walking.position(u), walking.position(v)
        ax, ay, bx, by = (ax - lon) * kx, (ay - lat) * ky, (bx - lon) * kx, (by - lat) * ky
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy or 1.0)))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def test_the_grid_finds_the_nearest_street(helsinki: StreetMap) -> None:
    noise = random.Random(3)
    for _ in range(20):
        lat, lon = 60.165 + noise.random() * 0.013, 24.936 + noise.random() * 0.016
        snap = helsinki.snap(lat, lon)
        assert snap is not None
        nearest = _nearest_by_brute_force(helsinki, lat, lon)
        assert snap.distance_m == pytest.approx(nearest, abs=0.5)
        assert helsinki.walking.graph[snap.u][snap.v]["outdoors"]


def test_a_place_far_from_every_street_is_beyond_the_map(helsinki: StreetMap) -> None:
    assert helsinki.snap(*TAMPERE) is None
    assert helsinki.field_to(*TAMPERE) is None
    assert helsinki.route(KAMPPI, TAMPERE) is None
    assert helsinki.route(TAMPERE, KAMPPI) is None
    assert helsinki.walking_distance(TAMPERE, KAMPPI) is None


# -- routes ------------------------------------------------------------------------------------


def test_where_she_is_is_said_by_the_named_streets_nearest(helsinki: StreetMap) -> None:
    # At a corner, both streets, the nearer first.
    assert helsinki.streets_near(60.1652, 24.9395) == ["Bulevardi", "Annankatu"]
    # On a pavement mapped as a way of its own, without a name: the street it runs beside.
    pavement = helsinki.snap(60.16744, 24.9451)
    assert pavement is not None
    assert pavement.distance_m < 5
    assert helsinki.walking.graph[pavement.u][pavement.v][NAME] is None
    assert helsinki.streets_near(60.16744, 24.9451) == ["Pohjoisesplanadi"]
    # Mid-block: the one street.
    assert helsinki.streets_near(60.1686, 24.9414) == ["Aleksanterinkatu"]
    # Nowhere near a named street (the middle of a square, off the map): no name at all.
    assert helsinki.streets_near(60.1718, 24.9414) == []
    assert helsinki.streets_near(60.16, 24.90) == []
    # A fix vaguer than 60 m: no street named, which would claim a
    # precision it doesn't have (the coordinates and their accuracy say it).
    assert helsinki.streets_near(60.1686, 24.9414, accuracy_m=40) == ["Aleksanterinkatu"]
    assert helsinki.streets_near(60.1686, 24.9414, accuracy_m=340) == []


def test_a_route_across_central_helsinki_follows_the_streets(helsinki: StreetMap) -> None:
    route = helsinki.route(KAMPPI, KAISANIEMI)
    assert route is not None
    points = route.points
    assert points[0] == KAMPPI
    assert points[-1] == KAISANIEMI
    # Between the two ends: the point where she meets the street, graph nodes joined by
    # edges, and the point where the street is nearest the destination.
    walking = helsinki.walking
    node_at = {walking.position(node): node for node in walking.graph}
    nodes = [node_at[p] for p in points[2:-2]]
    assert len(nodes) > 10
    assert all(walking.graph.has_edge(a, b) for a, b in pairwise(nodes))
    for end, joined in ((KAMPPI, points[1]), (KAISANIEMI, points[-2])):
        snap = helsinki.snap(*end)
        assert snap is not None
        assert snap.point == pytest.approx(joined)
        assert snap.distance_m < 20
    straight = distance_m(*KAMPPI, *KAISANIEMI)
    assert route.length_m == pytest.approx(line_length_m(points), rel=1e-3)
    assert straight * 1.05 < route.length_m < straight * 1.8
    assert helsinki.walking_distance(KAMPPI, KAISANIEMI) == pytest.approx(route.length_m)


def test_the_way_back_is_as_long_as_the_way_there(helsinki: StreetMap) -> None:
    there = helsinki.route(KAMPPI, KAISANIEMI)
    back = helsinki.route(KAISANIEMI, KAMPPI)
    assert there is not None
    assert back is not None
    assert back.length_m == pytest.approx(there.length_m, abs=0.5)


def test_the_distance_left_falls_all_along_the_route(helsinki: StreetMap) -> None:
    route = helsinki.route(KAMPPI, KAISANIEMI)
    field = helsinki.field_to(*KAISANIEMI)
    assert route is not None
    assert field is not None
    # Where the route dips into an underpass, a fix means the street above (a phone has no
    # fix down there anyway): judged in the open, the distance left only ever falls.
    walking = helsinki.walking
    node_at = {walking.position(node): node for node in walking.graph}
    underground = {
        p
        for p, node in node_at.items()
        if not any(edge["outdoors"] for edge in walking.graph.adj[node].values())
    }
    in_the_open = [p for p in route.points if p not in underground]
    assert len(underground & set(route.points)) < len(route.points) / 5
    left = [field.walking_distance_left(*p) for p in in_the_open]
    assert left[0] == pytest.approx(route.length_m)
    assert all(b <= a + 0.01 for a, b in pairwise(left)), left
    assert left[-1] == pytest.approx(0, abs=0.01)
    # The rest of the route is the rest of the way: from a point along it, the route from
    # there is as long as the distance left.
    halfway = route.points[len(route.points) // 2]
    rest = field.route_from(*halfway)
    assert rest is not None
    assert rest.length_m == pytest.approx(field.walking_distance_left(*halfway))


def test_a_fix_that_lands_across_the_tracks_cant_make_her_closer_than_she_walked(
    helsinki: StreetMap,
) -> None:
    field = helsinki.field_to(*KAISANIEMI)
    assert field is not None
    here = KAMPPI
    # A position 30 m away whose walk home is far shorter than from here (it exists: the
    # station and its tracks are in the way).
    lat0, lon0 = here
    near = [
        (lat0 + dy * 1e-4, lon0 + dx * 2e-4)
        for dy in range(-3, 4)
        for dx in range(-3, 4)
        if distance_m(*here, lat0 + dy * 1e-4, lon0 + dx * 2e-4) < 40
    ]
    from_here = field.walking_distance_left(*here)
    for there in near:
        moved = distance_m(*here, *there)
        believed = field.walking_distance_left(*there, came_from=here)
        assert believed >= from_here - moved - 25.0 - 1e-6
        assert believed >= field.walking_distance_left(*there)


def test_fields_are_kept_for_the_latest_destinations(tmp_path: Path) -> None:
    toy = load_street_map(write_osm(tmp_path / "toy.osm"))
    few = StreetMap(toy.walking, kept=2)
    first = few.field_to(*NODES[1])
    assert first is not None
    assert few.field_to(*NODES[1]) is first
    few.field_to(*NODES[2])
    few.field_to(*NODES[3])
    assert few.field_to(*NODES[1]) is not first  # the oldest went, and was made again


# -- simulated walkers -------------------------------------------------------------------------


def test_a_simulated_walker_keeps_her_pace_along_the_route(helsinki: StreetMap) -> None:
    route = helsinki.route(KAMPPI, KAISANIEMI)
    assert route is not None
    walked = list(walk_along(route.points, pace_mps=1.25, every_s=10, start_ms=5_000))
    assert (walked[0].t_ms, (walked[0].lat, walked[0].lon)) == (5_000, KAMPPI)
    assert (walked[-1].lat, walked[-1].lon) == KAISANIEMI
    assert walked[-1].t_ms == 5_000 + round(route.length_m / 1.25 * 1000)
    assert all(b.t_ms - a.t_ms <= 10_000 for a, b in pairwise(walked))
    # Every 10 s she has walked 12.5 m along the streets (a little less as the crow flies
    # where the route turns a corner between two fixes).
    steps = [distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in pairwise(walked[:-1])]
    assert max(steps) == pytest.approx(12.5, abs=0.01)
    assert min(steps) > 6


def test_gps_noise_is_seeded_and_about_the_size_asked_for(helsinki: StreetMap) -> None:
    route = helsinki.route(KAMPPI, KAISANIEMI)
    assert route is not None

    def walk(seed: int) -> list[tuple[float, float]]:
        return [
            (p.lat, p.lon)
            for p in walk_along(
                route.points, pace_mps=1.3, every_s=5, start_ms=0, noise_m=6, seed=seed
            )
        ]

    clean = [(p.lat, p.lon) for p in walk_along(route.points, pace_mps=1.3, every_s=5, start_ms=0)]
    assert walk(1) == walk(1)
    assert walk(1) != walk(2)
    errors = [distance_m(*a, *b) for a, b in zip(walk(1), clean, strict=True)]
    mean = sum(errors) / len(errors)
    assert 4 < mean < 11  # a 2-D error with 6 m each way averages about 7.5 m


def test_a_walker_who_is_already_there_is_there_at_once() -> None:
    assert [(p.t_ms, p.lat) for p in walk_along([KAMPPI], pace_mps=1, every_s=1, start_ms=7)] == [
        (7, KAMPPI[0])
    ]
    with pytest.raises(ValueError, match="positive"):
        list(walk_along([KAMPPI, KAISANIEMI], pace_mps=0, every_s=1, start_ms=0))
