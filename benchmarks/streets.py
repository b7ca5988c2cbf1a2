"""Streets: how long the walking graph of central Helsinki takes to build, how fast a fix's
"distance left" is, and how simulated walkers are judged with and without streets.

    .venv/bin/python -m benchmarks.streets [--rounds 5] [--lookups 20000] [--walks 150]

In one process, no server: it times the street code itself (`walkwithme.streets`), in medians
over the rounds. Then it walks simulated walkers along random routes of the map (every 10 s,
with and without GPS noise) and counts those the night rules would ask "Are you OK?" for
(walking away for 90 s, or no progress for 3 minutes), judging the distance left by the
straight line (no street map) and along the streets. About a minute with the defaults.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable, Sequence

from benchmarks.common import median, print_machine
from walkwithme.domain.geo import DEFAULT_PACE_MPS, distance_m
from walkwithme.domain.rules import NIGHT, Progress, progress_after
from walkwithme.sim import walk_along
from walkwithme.streets import LatLon, StreetMap, shipped_helsinki
from walkwithme.streets.graph import build_walking_graph
from walkwithme.streets.osm import read_walkable_ways

MS = 1000.0


def timed(job: Callable[[], object]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def building(rounds: int) -> StreetMap:
    path = shipped_helsinki()
    reads, graphs, maps = [], [], []
    streets: StreetMap | None = None
    for _ in range(rounds):
        started = time.perf_counter()
        ways = read_walkable_ways(path)
        read = time.perf_counter()
        walking = build_walking_graph(ways)
        built = time.perf_counter()
        streets = StreetMap(walking)
        done = time.perf_counter()
        reads.append(read - started)
        graphs.append(built - read)
        maps.append(done - built)
    assert streets is not None
    total = [a + b + c for a, b, c in zip(reads, graphs, maps, strict=True)]
    walking = streets.walking
    print(
        f"graph: {walking.node_count} nodes, {walking.graph.number_of_edges()} edges "
        f"(largest connected piece of {path.name}, {path.stat().st_size // 1024} KiB)"
    )
    print(
        f"build: {median(total) * MS:.0f} ms = read the file {median(reads) * MS:.0f} ms + "
        f"graph {median(graphs) * MS:.0f} ms + index and adjacency {median(maps) * MS:.0f} ms"
    )
    return streets


def random_places(streets: StreetMap, count: int, seed: int) -> list[LatLon]:
    """Positions on or near the streets (within 20 m of a node), as fixes would be."""
    pick = random.Random(seed)
    walking = streets.walking
    places = []
    for _ in range(count):
        lat, lon = walking.position(pick.randrange(walking.node_count))
        places.append((lat + pick.uniform(-1.8e-4, 1.8e-4), lon + pick.uniform(-3.6e-4, 3.6e-4)))
    return places


def lookups(streets: StreetMap, rounds: int, count: int) -> None:
    destinations = random_places(streets, rounds * 10, seed=1)
    fresh = StreetMap(streets.walking, kept=1)  # every destination makes a new field
    fields = [timed(lambda d=d: fresh.field_to(*d)) for d in destinations]  # type: ignore[misc]
    print(
        f"distance field (one Dijkstra from a destination): median {median(fields) * MS:.1f} ms, "
        f"max {max(fields) * MS:.1f} ms over {len(fields)} destinations; "
        f"{streets.walking.node_count * 12 // 1024} KiB each"
    )
    field = streets.field_to(*destinations[0])
    assert field is not None
    places = random_places(streets, count, seed=2)
    per_fix, snaps, cached, routes = [], [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for a, b in itertools.pairwise(places):
            field.walking_distance_left(*b, came_from=a)
        per_fix.append((time.perf_counter() - started) / (len(places) - 1))
        started = time.perf_counter()
        for p in places:
            streets.snap(*p)
        snaps.append((time.perf_counter() - started) / len(places))
        started = time.perf_counter()
        for _ in places:
            streets.field_to(*destinations[0])
        cached.append((time.perf_counter() - started) / len(places))
        started = time.perf_counter()
        for p in places[:1000]:
            field.route_from(*p)
        routes.append((time.perf_counter() - started) / min(1000, len(places)))
    print(
        f"per fix: distance left {median(per_fix) * 1e6:.0f} µs (two snaps: this fix and the "
        f"one before), of which one snap {median(snaps) * 1e6:.0f} µs; finding the walk's "
        f"field {median(cached) * 1e6:.1f} µs"
    )
    print(f"route from a field: {median(routes) * 1e6:.0f} µs")


Metric = Callable[[float, float, LatLon | None], float]


def asked(line: Sequence[LatLon], metric: Metric, noise_m: float, seed: int) -> bool:
    """Would the night rules ask her "Are you OK?" on this walk (walking away 90 s, or no
    progress for 3 minutes)? The rules' own progress function, fix by fix."""
    progress: Progress | None = None
    before: LatLon | None = None
    for p in walk_along(
        line, pace_mps=DEFAULT_PACE_MPS, every_s=10, start_ms=0, noise_m=noise_m, seed=seed
    ):
        progress = progress_after(progress, metric(p.lat, p.lon, before), p.t_ms)
        before = (p.lat, p.lon)
        if progress.away_since is not None and p.t_ms - progress.away_since >= NIGHT.moving_away_ms:
            return True
        if p.t_ms - progress.progress_at >= NIGHT.stalled_ms:
            return True
    return False


def judged_walks(streets: StreetMap, walks: int) -> None:
    pick = random.Random(7)
    walking = streets.walking
    pairs: list[tuple[LatLon, LatLon]] = []
    while len(pairs) < walks:
        a = walking.position(pick.randrange(walking.node_count))
        b = walking.position(pick.randrange(walking.node_count))
        if distance_m(*a, *b) >= 500:
            pairs.append((a, b))
    print(
        f"simulated walkers on the shortest route, {walks} random walks of 500 m or more "
        "(as the crow flies), a fix every 10 s; asked about at night:"
    )
    for noise in (0.0, 5.0, 10.0):
        straight = along = 0
        for i, (a, b) in enumerate(pairs):
            route, field = streets.route(a, b), streets.field_to(*b)
            assert route is not None
            assert field is not None

            def crow(lat: float, lon: float, _before: LatLon | None, b: LatLon = b) -> float:
                return distance_m(lat, lon, *b)

            straight += asked(route.points, crow, noise, i)
            along += asked(route.points, field.walking_distance_left, noise, i)
        print(
            f"  GPS noise {noise:>4.0f} m: by the straight line {straight} of {walks}, "
            f"along the streets {along} of {walks}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--walks", type=int, default=150)
    args = parser.parse_args()
    print_machine("streets: central Helsinki")
    streets = building(max(1, args.rounds))
    lookups(streets, max(1, args.rounds), max(2, args.lookups))
    judged_walks(streets, max(1, args.walks))


if __name__ == "__main__":
    main()
