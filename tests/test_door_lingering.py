"""Lingering at the door, judged over several fixes (domain/lingering.py), through the service.

The story behind it: her way home ends with a loop round the block her door is on (or along
the other side of the street); one noisy fix lands inside the door's radius and the walk is
"at the door"; the door's hysteresis holds her there while she keeps walking. Counted from
that fix, lingering would ask her "Are you OK?", and then raise the alarm, while she is still
walking home. Counted from when she stops moving, it asks only someone who really stands at
her door without going in.

The clock is fake: each simulated fix moves it, and the watchdog looks at that instant first
(as its loop would). Nothing sleeps. Walks happen at night: lingering is 3 minutes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.people import HOME, PIN, Cast, Member
from walkwithme.domain.geo import DEFAULT_PACE_MPS, distance_m
from walkwithme.domain.lingering import NEAR_DOOR_LIMIT, still_after
from walkwithme.notify.messages import render
from walkwithme.sim import walk_along
from walkwithme.streets.snap import METRES_PER_DEGREE

LatLon = tuple[float, float]
LINGERING_NIGHT_MS = 3 * 60_000
EVERY_S = 10


def off(where: LatLon, north_m: float, east_m: float) -> LatLon:
    lat = where[0] + north_m / METRES_PER_DEGREE
    return lat, where[1] + east_m / (METRES_PER_DEGREE * math.cos(math.radians(where[0])))


def round_the_block(half_side_m: float, laps: float) -> list[LatLon]:
    """A square walk round her door's block, starting and ending mid-side to the south: every
    step between `half_side_m` and 1.41 times that from the door."""
    h = half_side_m
    corners = [off(HOME, -h, h), off(HOME, h, h), off(HOME, h, -h), off(HOME, -h, -h)]
    line = [off(HOME, -h, 0)]
    sides = round(laps * 4)
    for i in range(sides):
        line.append(corners[i % 4])
    line.append(off(HOME, -h, 0) if sides % 4 == 0 else corners[(sides - 1) % 4])
    return line


class Walker:
    """Mira on a walk home at night, Noor following; her phone reports every 10 s."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self.mira, self.noor = cast.person("Mira"), cast.person("Noor")
        cast.link(self.mira, self.noor)
        self.phone = cast.device(self.mira)
        cast.clock.advance(minutes=60)  # 21:26 UTC: night
        self.walk = cast.start_walk(
            self.mira, **{"from": {"lat": off(HOME, -400, 0)[0], "lon": HOME[1]}}
        )
        self.decided: list[str] = []

    def report(self, where: LatLon, accuracy: float = 8) -> None:
        """A fix from here, 10 s after the last; the watchdog looks first."""
        self.cast.clock.advance(seconds=EVERY_S)
        self.decided += self.cast.services.watchdog.tick_sync()
        fix = {"t": self.cast.clock.now_ms(), "lat": where[0], "lon": where[1]}
        assert self.cast.statuses(self.phone, {**fix, "accuracy": accuracy}) == ["accepted"]

    def along(self, line: Sequence[LatLon], *, noise_m: float = 4, seed: int = 1) -> None:
        for p in walk_along(
            line, pace_mps=DEFAULT_PACE_MPS, every_s=EVERY_S, start_ms=0, noise_m=noise_m, seed=seed
        ):
            self.report((p.lat, p.lon))

    def stands(self, where: LatLon, minutes: float, *, noise_m: float = 8, seed: int = 2) -> None:
        noise = random.Random(seed)  # made-up GPS error
        for _ in range(int(minutes * 60 / EVERY_S)):
            self.report(off(where, noise.gauss(0, noise_m), noise.gauss(0, noise_m)), 10)

    def events(self, who: Member | None = None) -> list[dict[str, object]]:
        return self.cast.events(who or self.mira, self.walk)

    def checks(self) -> list[object]:
        return [e["reason"] for e in self.events() if e["kind"] == "check"]

    def at(self, kind: str) -> int:
        return next(int(str(e["at"])) for e in self.events() if e["kind"] == kind)

    def inside(self) -> str:
        answer = self.cast.client.post(
            f"/api/walks/{self.walk['id']}/inside", json={"pin": PIN}, headers=self.mira.auth
        )
        assert answer.status_code == 200, answer.text
        state: str = answer.json()["state"]
        return state


def test_a_loop_round_her_block_after_one_noisy_fix_is_not_lingering(cast: Cast) -> None:
    her = Walker(cast)
    her.along([off(HOME, -400, 0), off(HOME, -42, 0)])
    # One fix 30 m off, inside the door's 40 m: the walk is at the door, though she isn't.
    her.report(off(HOME, -12, 0))
    assert [e["kind"] for e in her.events()][-1] == "arrived"
    # Round the block twice, 42 to 59 m from her door (inside the door's hysteresis, so the
    # walk stays "at the door"): 11 minutes of walking, nearly four times the lingering time.
    her.along(round_the_block(42, laps=2), noise_m=4)
    assert "left_door" not in [e["kind"] for e in her.events()]
    her.along([off(HOME, -42, 0), HOME])
    assert her.inside() == "safe"
    assert her.decided == []
    assert her.checks() == []


def test_she_who_stands_at_her_door_is_asked_on_time_through_gps_noise(cast: Cast) -> None:
    her = Walker(cast)
    her.along([off(HOME, -400, 0), HOME])
    arrived = her.at("arrived")
    her.stands(HOME, minutes=5, noise_m=8)  # 8 m of GPS error each way, every fix
    assert her.checks() == ["lingering"]
    asked = her.at("check")
    assert arrived + LINGERING_NIGHT_MS <= asked <= arrived + LINGERING_NIGHT_MS + EVERY_S * 1000


def test_one_far_fix_while_she_stands_does_not_put_the_question_off(cast: Cast) -> None:
    her = Walker(cast)
    her.along([off(HOME, -400, 0), HOME])
    arrived = her.at("arrived")
    her.stands(HOME, minutes=1, noise_m=5)
    her.report(off(HOME, 0, 60))  # a reflection off the building across the street
    her.stands(HOME, minutes=3, noise_m=5, seed=3)
    asked = her.at("check")
    assert asked <= arrived + LINGERING_NIGHT_MS + EVERY_S * 1000


def test_she_who_stops_after_walking_round_is_asked_counted_from_when_she_stopped(
    cast: Cast,
) -> None:
    her = Walker(cast)
    her.along([off(HOME, -400, 0), off(HOME, -42, 0)])
    her.report(off(HOME, -12, 0))
    her.along(round_the_block(42, laps=1), noise_m=4)
    stopped = cast.clock.now_ms()
    her.stands(off(HOME, -42, 0), minutes=4, noise_m=6)
    assert her.checks() == ["lingering"]
    # Two fixes to be sure she had moved (the last of the loop), then 3 minutes still.
    assert stopped < her.at("check") <= stopped + LINGERING_NIGHT_MS + 2 * EVERY_S * 1000


def test_someone_who_keeps_circling_near_her_door_is_asked_at_last(cast: Cast) -> None:
    her = Walker(cast)
    her.along([off(HOME, -400, 0), off(HOME, -42, 0)])
    her.report(off(HOME, -12, 0))
    arrived = her.at("arrived")
    her.along(round_the_block(42, laps=4), noise_m=4)  # 22 minutes
    assert her.checks()[:1] == ["lingering"]
    limit = arrived + NEAR_DOOR_LIMIT * LINGERING_NIGHT_MS
    assert limit <= her.at("check") <= limit + EVERY_S * 1000


# -- the rule itself -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-14, 14), st.floats(-14, 14), st.booleans()), min_size=2, max_size=60
    )
)
def test_noise_alone_never_moves_her_more_than_one_far_fix_at_a_time(
    errors: list[tuple[float, float, bool]],
) -> None:
    """Standing at her door, fixes claiming 10 m of accuracy up to 14 m off each way (20 m),
    with an outlier 150 m off at most every other fix: she never counts as moving, so
    lingering counts from her arrival."""
    still = still_after(None, *HOME, 10, 0)
    outlier_before = False
    for i, (north, east, outlier) in enumerate(errors, start=1):
        far = outlier and not outlier_before
        where = off(HOME, 150, 0) if far else off(HOME, north, east)
        outlier_before = far
        still = still_after(still, *where, 10, i * 10_000)
        assert still.since == 0
        assert distance_m(still.lat, still.lon, *HOME) < 20


def test_noor_is_told_once_when_she_reaches_her_door(cast: Cast) -> None:
    """At the door, Noor's phone says so (he waits for "I'm inside"); stepping away to let a
    car by and coming back is not news."""
    her = Walker(cast)
    cast.channel(her.noor)
    her.along([off(HOME, -400, 0), HOME])
    told = cast.told(her.noor, "arrived")
    assert [render(alert)[0] for alert in told] == ["Mira is at the door."]
    her.along([HOME, off(HOME, -80, 0), HOME])
    kinds = [e["kind"] for e in her.events(her.noor)]
    assert kinds.count("arrived") == 2
    assert "left_door" in kinds
    assert len(cast.told(her.noor, "arrived")) == 1
