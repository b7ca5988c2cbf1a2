"""Moving away fast, as in a vehicle (domain/driven.py), and how the rules ask about it."""

from __future__ import annotations

from collections.abc import Iterable

from walkwithme.domain.driven import Rise, rise_after
from walkwithme.domain.rules import (
    DAY,
    NIGHT,
    Reason,
    Watch,
    evaluate,
    quiet_after_answer,
)
from walkwithme.domain.walks import WalkState

Seen = tuple[int, float, float | None, float | None]  # seconds, distance left, accuracy, speed


def rises(fixes: Iterable[Seen], nearer_at: Iterable[int] = ()) -> Rise | None:
    """Her rise after these fixes (`nearer_at`: the seconds of fixes that made progress)."""
    rise = None
    for s, left, accuracy, speed in fixes:
        rise = rise_after(rise, left, left, s * 1000, accuracy, speed, s in set(nearer_at))
    return rise


def walking(until_s: int, left_m: float = 1000.0, every_s: int = 10) -> list[Seen]:
    """Walking home at 1.3 m/s, a good fix every `every_s`."""
    return [(s, left_m - 1.3 * s, 10.0, None) for s in range(0, until_s + 1, every_s)]


def driven(
    from_s: int, left_m: float, mps: float, fixes: int, every_s: int, speed: float | None
) -> list[Seen]:
    """Moving at `mps` away from home (toward it, if negative), a fix every `every_s`."""
    return [
        (from_s + n * every_s, left_m + mps * n * every_s, 10, speed) for n in range(1, fixes + 1)
    ]


def since(fixes: Iterable[Seen]) -> int | None:
    rise = rises(fixes)
    return rise.since if rise is not None else None


def test_driven_away_is_seen_once_a_fix_holds_its_second_fast_step() -> None:
    """Two fast steps in a row, and the fix after them not back where her run began: one back
    there makes the second step a stray's (a noise step, then one stray, confirmed a ride on
    an ordinary walk between tall houses: an outside review's held-out walks)."""
    before = walking(300)
    car = driven(300, 1000 - 390, 14, 4, every_s=5, speed=None)  # 70 m a step
    assert since(before + car[:1]) is None
    assert since(before + car[:2]) is None  # (held, or not, by the next fix)
    assert since(before + car[:3]) == 315_000
    assert since(before + car) == 315_000  # still since then
    # A noise step of 35 m, then one stray 285 m off, then her true fixes: no ride.
    noisy = [(0, 249.0, 10.0, None), (5, 284.0, 10.0, None), (10, 524.0, 12.0, None)]
    assert since([*noisy, (15, 268.0, 10.0, None), (20, 262.0, 10.0, None)]) is None
    # A car that stops, one noisy fix 30 m back: still far from where the run began.
    stops = [*car[:2], (315, 610 + 2 * 70 - 30.0, 10.0, None)]
    assert since(before + stops) == 315_000


def test_two_steps_clearly_longer_than_a_stray_are_a_ride_at_once() -> None:
    """A phone that reports every 25 s: two fast steps of 350 m, no waiting for a third fix
    (a 60 s phone's, waiting, was asked by the slower moving-away rule first: a diff review)."""
    car = driven(300, 1000 - 390, 14, 3, every_s=25, speed=None)
    assert since(walking(300) + car[:1]) is None
    assert since(walking(300) + car[:2]) == 350_000


def test_her_phone_saying_it_drives_confirms_one_step() -> None:
    before = [(s, left, acc, 14.0) for s, left, acc, _ in driven(0, 500, -14, 2, 10, None)]
    car = driven(20, 220, 14, 1, every_s=15, speed=14.0)
    assert since(before + car) == 35_000
    # A walker's phone says she walks: one fast step is no vehicle.
    assert since([(s, left, acc, 1.3) for s, left, acc, _ in before] + car) is None


def test_frequent_fixes_take_steps_a_car_makes_fast() -> None:
    """A phone reporting every second: each fix moves less than noise, the steps are longer."""
    car = driven(300, 610, 12, 20, every_s=1, speed=None)
    assert since(walking(300) + car) is not None


def test_a_car_that_drives_toward_her_door_then_turns_away_is_seen_as_fast() -> None:
    """Falls fast in a row are a ride toward her door, not a stray fix: the step back from a
    stray is not counted, but a car's turn away is (a review found it seen a fix later)."""
    toward = driven(100, 870, -14, 4, 10, None)  # 40 s toward her door, then away
    assert since(walking(100) + toward + driven(140, 310, 14, 3, 10, None)) == 170_000


def test_not_a_tram_home_a_runner_a_stray_fix_or_a_dip() -> None:
    # A tram toward home, its phone saying 7 m/s: her distance left falls.
    assert since(walking(100) + driven(100, 870, -7, 20, 10, 7.0)) is None
    # Running away from home at 4 m/s, a fix every 5 s.
    assert since(walking(100) + driven(100, 870, 4, 40, 5, None)) is None
    # One stray fix 200 m farther (claiming 12 m), then her true ones.
    stray = [(110, 1057, 12, None)]
    assert since(walking(100) + stray + [(s, 1000 - 1.3 * s, 10, None) for s in (120, 130)]) is None
    # One stray fix 180 m toward home, her true ones, one stray 110 m away, her true ones (a
    # held-out replay, a fix every 5 s claiming 20 to 30 m: the step back from the first,
    # a rise, was counted as fast, and the second stray confirmed a ride).
    strays = [(437, 131.0, 20.0, None), (442, 312.0, 25.0, None), (452, 295.0, 20.0, None)]
    strays += [(457, 419.0, 30.0, None), (462, 343.0, 25.0, None), (467, 330.0, 20.0, None)]
    assert since([(432, 309.0, 20.0, None), *strays]) is None
    # A bus whose way dips away for one step (10 m/s for 15 s), then on toward home.
    dip = driven(100, 870, 10, 1, 15, None) + driven(115, 1020, -10, 10, 15, None)
    assert since(walking(100) + dip) is None


def test_a_longer_way_home_no_farther_as_the_crow_flies_is_no_ride() -> None:
    """Along the streets: noisy fixes snapped across a railway, their way home 90 m and then
    140 m longer than hers, but no farther from her door."""
    fixes = [(0, 850.0, 850.0), (10, 769.0, 600.0), (18, 857.0, 610.0), (25, 911.0, 605.0)]
    fixes += [(32, 915.0, 607.0)]  # (the fix that holds the second step, or would)
    rise = None
    for s, left, crow in fixes:
        rise = rise_after(rise, left, crow, s * 1000, 15.0, None, False)
    assert rise is not None
    assert rise.since is None
    # The same steps, farther as the crow flies too: driven away. (From her second fix: the
    # fall to it, faster than anyone walks, is a stray toward her door's, and the step back
    # from it is not counted.)
    rise = None
    for s, left, _ in fixes[1:]:
        rise = rise_after(rise, left, left - 250, s * 1000, 15.0, None, False)
    assert rise is not None
    assert rise.since == 32_000


def test_vague_fixes_say_nothing_of_it() -> None:
    car: list[Seen] = [(s, left, 60.0, None) for s, left, _, _ in driven(300, 610, 14, 5, 20, None)]
    assert since(walking(300) + car) is None


def test_vague_fixes_from_a_phone_that_says_it_drives_do() -> None:
    """Driven away at 14 m/s, a fix every 15 s claiming ±55 m, her phone saying 14 m/s with
    each: seen at the second fast step (it was passed over, and asked 95 s later than with
    precise fixes). Vaguer than 100 m, or without a vehicle's speed, still nothing."""
    car: list[Seen] = [
        (s, left, 55.0, speed) for s, left, _, speed in driven(300, 610, 14, 4, 15, 14.0)
    ]
    assert since(walking(300) + car) == 330_000
    vaguer: list[Seen] = [(s, left, 120.0, speed) for s, left, _, speed in car]
    assert since(walking(300) + vaguer) is None
    lying_still: list[Seen] = [
        (s, 610.0 + (60 if n % 2 else 0), 55.0, 0.0) for n, (s, *_rest) in enumerate(car)
    ]
    assert since(walking(300) + lying_still) is None


def test_getting_nearer_ends_it() -> None:
    fixes = walking(300) + driven(300, 610, 14, 3, 25, None)
    assert since(fixes) is not None
    back = (400, 500.0, 10.0, None)
    rise = rises([*fixes, back], nearer_at=[400])
    assert rise is not None
    assert rise.since is None


def test_a_rise_kept_and_read_back_is_the_same() -> None:
    rise = rises(walking(300) + driven(300, 610, 14, 2, 25, 14.0))
    assert rise is not None
    assert Rise.from_stored(rise.stored()) == rise


def watch(**more: object) -> Watch:
    facts: dict[str, object] = {
        "state": WalkState.ACTIVE,
        "started_at": 0,
        "expected_at": 20 * 60_000,
        "last_fix_at": 350_000,
        "progress_at": 300_000,
        "away_since": 325_000,
        "door_at": None,
        "check_reason": None,
        "check_asked_at": None,
        "quiet_until": None,
        **more,
    }
    return Watch(**facts)  # type: ignore[arg-type]


def test_asked_at_once_with_a_minute_to_answer_by_day_and_night() -> None:
    w = watch(fast_away_since=350_000)
    for profile in (DAY, NIGHT):
        found = evaluate(w, 350_000, profile)
        assert (found.ask, found.next_due_at) == (Reason.MOVING_AWAY_FAST, 410_000)
        asked = watch(check_reason=Reason.MOVING_AWAY_FAST, check_asked_at=350_000)
        assert evaluate(asked, 409_999, profile).alarm is None
        assert evaluate(asked, 410_000, profile).alarm is Reason.NO_ANSWER


def test_her_answer_vouches_for_walking_away_too() -> None:
    w = watch(fast_away_since=350_000)
    quiet = quiet_after_answer(w, NIGHT, 380_000, Reason.MOVING_AWAY_FAST)
    assert quiet.rules is not None
    assert {Reason.MOVING_AWAY_FAST, Reason.MOVING_AWAY} <= set(quiet.rules)
