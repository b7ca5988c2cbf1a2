"""Where she stood since her last progress, and whether she has clearly left it
(domain/stops.py)."""

from __future__ import annotations

import math
import random

from walkwithme.domain.stops import Stop, progress_from, stop_after

HERE = (60.17, 24.94)


def moved(north_m: float, east_m: float) -> tuple[float, float]:
    east = 111_320 * math.cos(math.radians(HERE[0]))
    return (HERE[0] + north_m / 111_320, HERE[1] + east_m / east)


def standing(sd_m: float, accuracy_m: float, fixes: int, seed: int = 1) -> Stop:
    noise = random.Random(seed)
    stop = progress_from(*HERE, 0)
    for n in range(1, fixes + 1):
        where = moved(noise.gauss(0, sd_m), noise.gauss(0, sd_m))
        stop = stop_after(stop, *where, accuracy_m, n * 10_000)
    return stop


def test_two_fixes_ahead_of_a_noisy_place_have_not_left_it() -> None:
    stop = standing(sd_m=20, accuracy_m=10, fixes=15)
    for n in (16, 17):
        stop = stop_after(stop, *moved(50, 0), 10, n * 10_000)
    assert not stop.left(10)
    for n, metres in ((18, 110), (19, 125)):
        stop = stop_after(stop, *moved(metres, 0), 10, n * 10_000)
    assert stop.left(10)


def test_where_fixes_stray_little_two_fixes_nearer_are_hers() -> None:
    """A good fix under a clear sky: the rules' two fixes nearer by more than noise do."""
    stop = standing(sd_m=3, accuracy_m=8, fixes=15)
    assert stop.left(8)


def test_a_wait_is_fixes_gathered_round_one_place_for_the_pause() -> None:
    assert standing(sd_m=3, accuracy_m=8, fixes=12).waited_since(8, 90_000) == 0
    assert standing(sd_m=3, accuracy_m=8, fixes=6).waited_since(8, 90_000) is None
    walking = progress_from(*HERE, 0)
    for n in range(1, 13):  # 13 m every 10 s, on and on
        walking = stop_after(walking, *moved(13 * n, 0), 8, n * 10_000)
    assert walking.waited_since(8, 90_000) is None
