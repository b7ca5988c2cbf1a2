"""Streets: how long the walking graph of central Helsinki takes to build, how fast a fix's
"distance left" is, and how simulated walkers are judged with and without streets.

    .venv/bin/python -m benchmarks.streets [--rounds 5] [--lookups 20000] [--walks 150]

In one process, no server: it times the street code itself (`walkwithme.streets`), in medians
over the rounds. Then it walks simulated walkers along random routes of the map (every 10 s,
with and without GPS noise) and counts those the night rules would ask "Are you OK?" for
(walking away for 90 s, or no progress for 3 minutes), judging the distance left by the
straight line (no street map) and along the streets: the rules' progress function alone.
Last, the same kind of walks through the service itself (the app in this process on SQLite,
a fake clock, the watchdog looking before each fix as its loop would), which also holds off
the stalled rule for a walker who walks on without streets: what each walk was asked, by
reason. A few minutes with the defaults.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from benchmarks.common import median, print_machine
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.domain.geo import DEFAULT_PACE_MPS, distance_m
from walkwithme.domain.rules import NIGHT, Progress, progress_after
from walkwithme.security import hash_secret
from walkwithme.services import Services, build_services
from walkwithme.sim import walk_along
from walkwithme.streets import LatLon, StreetMap, shipped_helsinki
from walkwithme.streets.graph import build_walking_graph
from walkwithme.streets.osm import read_walkable_ways
from walkwithme.usecases import accounts, contacts, devices

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


def asked(
    line: Sequence[LatLon], metric: Metric, noise_m: float, seed: int, *, along_streets: bool
) -> bool:
    """Would the night rules ask her "Are you OK?" on this walk (walking away 90 s, or no
    progress for 3 minutes)? The rules' own progress function, fix by fix, given what the
    service gives it: the distance left, and the straight line from this fix and the one
    before to the end of the line."""
    progress: Progress | None = None
    before: LatLon | None = None
    end = line[-1]
    for p in walk_along(
        line, pace_mps=DEFAULT_PACE_MPS, every_s=10, start_ms=0, noise_m=noise_m, seed=seed
    ):
        crow = distance_m(p.lat, p.lon, *end)
        crow_before = distance_m(*before, *end) if before is not None else None
        progress = progress_after(
            progress,
            metric(p.lat, p.lon, before),
            p.t_ms,
            straight=(crow, crow_before),
            along_streets=along_streets,
        )
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

            straight += asked(route.points, crow, noise, i, along_streets=False)
            along += asked(route.points, field.walking_distance_left, noise, i, along_streets=True)
        print(
            f"  GPS noise {noise:>4.0f} m: by the straight line {straight} of {walks}, "
            f"along the streets {along} of {walks}"
        )


NIGHT_START_MS = 1_779_917_400_000  # 2026-05-27 21:30 UTC: night for a walker in UTC
DAY_MS = 86_400_000


def judged_by_the_service(streets: StreetMap, walks: int, noise_m: float) -> None:
    pairs = random_pairs(streets, walks, seed=3)
    print(
        f"the same through the service, {walks} random walks of 500 m to 2.5 km (as the crow "
        f"flies), GPS noise {noise_m:g} m, each at night; asked about:"
    )
    for with_streets in (False, True):
        asked_about: dict[str, int] = {}
        walks_asked = 0
        for reasons in walks_through_the_service(streets, pairs, noise_m, with_streets):
            walks_asked += bool(reasons)
            for reason in set(reasons):
                asked_about[reason] = asked_about.get(reason, 0) + 1
        how = "along the streets" if with_streets else "by the straight line"
        said = ", ".join(f"{why} {n}" for why, n in sorted(asked_about.items())) or "none"
        print(f"  {how}: {walks_asked} of {walks} walks ({said})")


def random_pairs(streets: StreetMap, walks: int, seed: int) -> list[tuple[LatLon, LatLon]]:
    pick = random.Random(seed)
    walking = streets.walking
    pairs: list[tuple[LatLon, LatLon]] = []
    while len(pairs) < walks:
        a = walking.position(pick.randrange(walking.node_count))
        b = walking.position(pick.randrange(walking.node_count))
        if 500 <= distance_m(*a, *b) <= 2500:
            pairs.append((a, b))
    return pairs


def walks_through_the_service(
    streets: StreetMap, pairs: list[tuple[LatLon, LatLon]], noise_m: float, with_streets: bool
) -> list[list[str]]:
    """Each walk by a walker of her own, a day after the one before, from 21:30 UTC: the
    reasons she was asked "Are you OK?" for."""
    clock = FakeClock(NIGHT_START_MS)
    password = hash_secret("correct horse battery")
    asked: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="wwm-bench-") as folder:
        svc = build_services(
            load_config({"WWM_DATA": folder}), clock, streets=streets if with_streets else None
        )
        svc.background_watchdog = False  # it looks at each fix's instant, below
        try:
            with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
                for i, (a, b) in enumerate(pairs):
                    clock.set(NIGHT_START_MS + i * DAY_MS)

                    def walker(tx: Any, i: int = i) -> tuple[str, str]:
                        new = accounts.NewPerson(f"w{i}@bench.example", f"W{i}", password, "UTC")
                        person = accounts.create_person(tx, new)
                        friend = accounts.NewPerson(f"c{i}@bench.example", f"C{i}", password)
                        companion = accounts.create_person(tx, friend)
                        asked = contacts.ask(tx, person.id, companion.email, "companion")
                        contacts.answer(tx, companion.id, asked["id"], accept=True)
                        _device, phone = devices.add_device(tx, person.id, "phone")
                        return accounts.open_session(tx, person.id, 1000), phone

                    token, phone = svc.writer.run_sync(walker)
                    route = streets.route(a, b, keep=False)
                    assert route is not None
                    her = Her(token, phone, a, b, route.points)
                    asked.append(_walked(client, svc, clock, her, noise_m, i))
        finally:
            svc.db.dispose()
    return asked


@dataclass(frozen=True)
class Her:
    token: str  # her session
    phone: str  # her phone's device token
    start: LatLon
    home: LatLon
    line: Sequence[LatLon]  # the way she walks


def _walked(
    client: TestClient, svc: Services, clock: FakeClock, her: Her, noise_m: float, seed: int
) -> list[str]:
    """She walks her line at an ordinary pace, her phone reporting every 10 s."""
    (a, b), me = (her.start, her.home), {"Authorization": f"Bearer {her.token}"}
    started = client.post(
        "/api/walks",
        json={
            "destination": {"lat": b[0], "lon": b[1], "radius": 40, "name": "home"},
            "from": {"lat": a[0], "lon": a[1]},
            "pin": "2468",
        },
        headers=me,
    )
    assert started.status_code == 201, started.text
    walk_id = started.json()["id"]
    for p in walk_along(
        her.line,
        pace_mps=DEFAULT_PACE_MPS,
        every_s=10,
        start_ms=clock.now_ms() + 10_000,
        noise_m=noise_m,
        seed=seed,
    ):
        clock.set(p.t_ms)
        svc.watchdog.tick_sync()
        fix = {"t": p.t_ms, "lat": p.lat, "lon": p.lon, "accuracy": 8}
        sent = client.post("/api/fixes", json=fix, headers={"Authorization": f"Bearer {her.phone}"})
        assert sent.status_code < 300, sent.text
    events = client.get(f"/api/walks/{walk_id}/events", headers=me).json()
    return [str(e["reason"]) for e in events if e["kind"] == "check"]


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
    judged_by_the_service(streets, max(1, args.walks), noise_m=5.0)


if __name__ == "__main__":
    main()
