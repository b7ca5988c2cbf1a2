"""Her pace along her own track, and the more time a slower walker is given (domain/pace.py)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkwithme.domain.geo import DETOUR_FACTOR
from walkwithme.domain.pace import (
    ADAPT_AFTER_M,
    ADAPT_AFTER_MS,
    ADAPT_STEP_MS,
    GUESSED_AFTER_MS,
    MAX_WALK_MS,
    Walked,
    adapted_arrival,
    guess_now,
    paused_before,
    walked_after,
)
from walkwithme.domain.profiles import MINUTE
from walkwithme.sim import walk_along

START = (60.17096, 24.94137)
# Round a block: 300 m east, then 300 m south (in degrees at Helsinki's latitude).
CORNER = (60.17096, 24.94137 + 300 / 55_600)
END = (60.17096 - 300 / 111_320, 24.94137 + 300 / 55_600)


def _step(
    walked: Walked | None, where: tuple[float, float], t: int, accuracy: float | None = 8.0
) -> tuple[Walked, bool]:
    return walked_after(walked, *where, accuracy, t, 1000.0)


def _walk(points: list[tuple[float, float]], noise_m: float, every_s: float) -> Walked:
    walked = None
    for p in walk_along(points, pace_mps=1.3, every_s=every_s, start_ms=0, noise_m=noise_m, seed=7):
        walked, _ = _step(walked, (p.lat, p.lon), p.t_ms)
    assert walked is not None
    return walked


def _off(metres_north: float, metres_east: float) -> tuple[float, float]:
    return (START[0] + metres_north / 111_320, START[1] + metres_east / 55_600)


def test_her_track_is_what_she_walked_round_a_corner() -> None:
    """600 m round a corner, at 1.3 m/s: her steps add up to what she walked (but for her
    last few fixes, not yet a step), give or take the noise, whether her phone reports
    every 5 s or every minute, with GPS noise of 5 m; and so does her pace."""
    for every_s in (5, 10, 30, 60):
        walked = _walk([START, CORNER, END], noise_m=5.0, every_s=every_s)
        assert 500 <= walked.metres <= 640, every_s
        assert walked.track_mps is not None
        assert 1.15 <= walked.track_mps <= 1.45, every_s


@pytest.mark.parametrize(
    ("error_m", "accuracy"), [(12.0, 8.0), (18.0, None), (25.0, 25.0)], ids=str
)
def test_a_phone_lying_still_in_the_noise_walks_nowhere(
    error_m: float, accuracy: float | None
) -> None:
    """An hour on one spot, a fix every 10 s, its error `error_m` each way: more than the
    accuracy the phone claims (between buildings), or with none claimed. Steps would hold
    off the stalled rule (without streets): none."""
    for seed in range(5):
        noise = random.Random(seed)
        walked = None
        for n in range(360):
            where = _off(noise.gauss(0, error_m), noise.gauss(0, error_m))
            walked, _ = _step(walked, where, n * 10_000, accuracy)
        assert walked is not None
        assert walked.metres == 0.0, seed
        assert walked.track_mps is None


def test_a_phone_flipping_between_two_places_walks_nowhere() -> None:
    """Its fixes come in runs from two places 70 m apart (two devices of hers, or Wi-Fi and
    GPS by turns): one step there at most, never back and forth."""
    walked, steps = None, 0
    for n in range(120):
        where = START if (n // 2) % 2 == 0 else _off(0, 70)
        walked, step = _step(walked, where, n * 10_000, 15.0)
        steps += step
    assert steps <= 1


def test_one_stray_fix_that_comes_back_is_no_step() -> None:
    walked, step = _step(None, START, 0)
    assert not step
    walked, step = _step(walked, CORNER, 10_000)  # 300 m off, once
    assert not step
    walked, step = _step(walked, _off(0, 3), 20_000)  # 3 m off: back
    assert (walked.metres, step) == (0.0, False)
    # Two far fixes in a row that disagree are no step: strays on either side of her.
    walked, step = _step(walked, CORNER, 30_000)
    walked, step = _step(walked, _off(-300, 0), 40_000)
    assert (walked.metres, step) == (0.0, False)
    # Two that agree are a step, along the way through the first.
    walked, step = _step(walked, CORNER, 50_000)
    walked, step = _step(walked, _off(0, 320), 60_000)
    assert step
    assert 318 <= walked.metres <= 322
    assert (walked.lat, walked.lon, walked.at) == (*_off(0, 320), 60_000)


def test_a_walk_stored_is_the_walk_read_back() -> None:
    walked = Walked(
        512.5, 60.1, 24.9, 90_000, (60.11, 24.91), 4, (60.2, 24.8), (60.0, 24.7),
        100.0, 30_000, 880.0, 400.0, 1.1,
    )  # fmt: skip
    assert Walked.from_stored(walked.stored()) == walked
    # Her pace before a pause stands until it is measured again (a minute since the mark is
    # too short to say: the one from before it, 1.1 m/s).
    marked = walked.marked(700.0, 95_000)
    assert marked == replace(walked, mark_m=512.5, mark_at=95_000, mark_left_m=700.0)
    assert marked.track_mps == 1.1
    longer = replace(walked, at=30_000 + 5 * MINUTE).marked(700.0, 95_000)
    assert longer.pace_before == 412.5 / 300
    assert walked.got_nearer().nearer_m == 512.5


def test_walking_on_without_getting_nearer_holds_off_the_stalled_rule_only_so_far() -> None:
    """A way's bends: 30% of the straight line left, at least 100 m and at most 400."""
    since = Walked(1_000.0, 0, 0, 0, nearer_m=800.0)  # 200 m since she last got nearer
    assert since.holds_off_stalled(800.0)  # 240 m allowed
    assert not since.holds_off_stalled(600.0)  # 180 m
    assert replace(since, nearer_m=910.0).holds_off_stalled(50.0)  # 90 m of at least 100
    assert not replace(since, metres=1_500.0).holds_off_stalled(5_000.0)  # 700 m of 400


def test_her_pace_is_said_only_when_measured_long_and_far_enough() -> None:
    # Along her track (where the way left is a guess): four minutes, and 100 m.
    assert Walked(400.0, 0, 0, GUESSED_AFTER_MS - 1, mark_at=0).track_mps is None
    assert Walked(ADAPT_AFTER_M - 1, 0, 0, 10 * MINUTE, mark_at=0).track_mps is None
    assert Walked(480.0, 0, 0, 6 * MINUTE, mark_m=0.0, mark_at=2 * MINUTE).track_mps == 2.0
    # Along the streets: two minutes, and 100 m less to walk.
    walked = Walked(0.0, 0, 0, 0, mark_at=0, mark_left_m=1000.0)
    assert walked.pace_along_streets(850.0, ADAPT_AFTER_MS - 1) is None
    assert walked.pace_along_streets(901.0, 10 * MINUTE) is None
    assert walked.pace_along_streets(880.0, ADAPT_AFTER_MS) == 1.0


@given(
    planned_min=st.integers(5, 60),
    pace=st.none() | st.floats(0, 5),
    left_m=st.floats(0, 3000),
    elapsed_s=st.integers(0, 7200),
)
def test_more_time_is_only_ever_more_and_never_unbounded(
    planned_min: int, pace: float | None, left_m: float, elapsed_s: int
) -> None:
    started = 1_000_000
    expected = started + planned_min * MINUTE
    t = started + elapsed_s * 1000
    later = adapted_arrival(expected, started, pace, left_m, t)
    if later is None:
        return
    assert pace is not None
    assert later >= expected + ADAPT_STEP_MS
    assert later <= started + MAX_WALK_MS
    assert later > t  # never a time already past


def test_at_half_the_pace_she_is_given_the_time_her_pace_needs() -> None:
    started = 0
    # 12 minutes planned; after 10 minutes at 0.667 m/s, 600 m more is 15 minutes more (25
    # in all), but one step gives at most half as long again as she has (18): a pace
    # measured over minutes is no promise.
    pace = 400 / 600
    assert adapted_arrival(12 * MINUTE, started, pace, 600.0, 10 * MINUTE) == 18 * MINUTE
    # Still at that pace a minute on, she is given all her pace needs.
    again = adapted_arrival(18 * MINUTE, started, pace, 560.0, 11 * MINUTE)
    assert again == 11 * MINUTE + 840_000  # 560 m at 0.667 m/s: 14 minutes more
    assert adapted_arrival(MINUTE, started, None, 600.0, 10 * MINUTE) is None
    # Due seven minutes ago (a stop), 300 m more at 0.667 m/s is 7.5 minutes: she is given
    # half as long again as her 8 minutes from now (19), not from when she was due (12: a
    # time already past, which only said "late" again).
    assert adapted_arrival(8 * MINUTE, started, pace, 300.0, 15 * MINUTE) == 19 * MINUTE


def test_without_streets_her_time_is_guessed_when_she_is_slower_or_near_the_end() -> None:
    """20 minutes planned at 1.3 m/s: at her pace she is judged only in her last five
    minutes; a walker well below it, at once."""
    started, expected = 0, 20 * MINUTE
    assert not guess_now(1.3, 1.3, 14 * MINUTE, started, expected)
    assert not guess_now(1.1, 1.3, 14 * MINUTE, started, expected)  # a little slower
    assert guess_now(1.3, 1.3, 15 * MINUTE, started, expected)
    assert guess_now(1.0, 1.3, 5 * MINUTE, started, expected)
    assert not guess_now(None, 1.3, 19 * MINUTE, started, expected)


def test_without_streets_the_way_left_is_as_long_as_her_own_way_has_been() -> None:
    """From 1,000 m as the crow flies, 300 m nearer: straight there (300 m walked), she is
    guessed 700 m more; by a way twice as long (600 m), as long as the plan allowed for
    streets not being straight (910 m); having got no nearer, nothing is guessed."""
    mark = Walked(0.0, 0, 0, 0, mark_at=0, mark_left_m=1000.0)
    assert mark.way_left(950.0) is None  # 50 m nearer: too little to say
    assert replace(mark, metres=500.0).way_left(1000.0) is None  # to and fro: no way home
    straight = replace(mark, metres=300.0)
    assert straight.way_left(700.0) == 700.0
    winding = replace(mark, metres=600.0)
    assert winding.way_left(700.0) == 700.0 * DETOUR_FACTOR
    assert replace(mark, metres=360.0).way_left(700.0) == 700.0 * 1.2


def test_a_wait_is_a_pause_not_her_pace_whatever_her_phones_interval() -> None:
    # Fixes every 10 s: two minutes without progress is a wait (at the start, at a light).
    assert paused_before(120_000, 10_000)
    assert not paused_before(60_000, 10_000)  # walking in small steps in the noise
    # A phone that reports every 2 minutes makes progress that seldom, walking.
    assert not paused_before(240_000, 120_000)
    assert paused_before(400_000, 120_000)
