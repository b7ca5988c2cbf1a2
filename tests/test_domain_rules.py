"""The watchdog's rules at their edges (one second before, at, after), and over random walks."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkwithme.domain.fixes import Fix
from walkwithme.domain.geo import distance_m, expected_duration_ms
from walkwithme.domain.profiles import Thresholds
from walkwithme.domain.rules import (
    DAY,
    MINUTE,
    NIGHT,
    SECOND,
    Progress,
    Reason,
    Verdict,
    Watch,
    battery_notice,
    evaluate,
    next_due_at,
    profile_at,
    progress_after,
    quiet_after_answer,
)
from walkwithme.domain.walks import Destination, WalkState, door_after_fix

T0 = 1_780_000_000_000
EXPECTED = T0 + 20 * MINUTE  # a 20-minute walk: late grace is max(5 min, 25%) = 5 min by day


def watch(**changes: object) -> Watch:
    base = Watch(
        state=WalkState.ACTIVE,
        started_at=T0,
        expected_at=EXPECTED,
        last_fix_at=T0,
        progress_at=T0,
        away_since=None,
        door_at=None,
        check_reason=None,
        check_asked_at=None,
        quiet_until=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def asks(w: Watch, at: int) -> Reason | None:
    return evaluate(w, at, DAY).ask


def edges(w: Watch, deadline: int, reason: Reason) -> None:
    assert asks(w, deadline - SECOND) is None
    assert asks(w, deadline) is reason
    assert asks(w, deadline + SECOND) is reason


def test_late_after_the_expected_arrival_and_its_grace() -> None:
    fresh = T0 + 24 * MINUTE  # fixes and progress keep coming: only lateness is at stake
    edges(watch(last_fix_at=fresh, progress_at=fresh), EXPECTED + 5 * MINUTE, Reason.LATE)


def test_late_grace_grows_with_a_long_walk() -> None:
    long_walk = watch(
        expected_at=T0 + 60 * MINUTE, last_fix_at=T0 + 74 * MINUTE, progress_at=T0 + 74 * MINUTE
    )
    edges(long_walk, T0 + 75 * MINUTE, Reason.LATE)  # 25% of 60 minutes


def test_stalled_when_no_progress() -> None:
    edges(watch(last_fix_at=T0 + 4 * MINUTE, progress_at=T0), T0 + 5 * MINUTE, Reason.STALLED)


def test_stalled_waits_for_the_fix_that_would_confirm_her_progress() -> None:
    """Her last fix was nearer by more than noise (the first of the two that make progress):
    the stalled rule waits for her next fix as long as the silent rule would, and never more
    than the silent rule's time past its own (fixes that keep landing a little nearer)."""
    by_day = 5 * MINUTE  # stalled; silent is 3 minutes
    nearing = watch(last_fix_at=T0 + 4 * MINUTE, progress_at=T0, nearing=True)
    assert asks(nearing, T0 + by_day) is None
    assert asks(nearing, T0 + 7 * MINUTE - SECOND) is None
    assert asks(nearing, T0 + 7 * MINUTE) is Reason.SILENT  # the confirming fix never came
    # One long wait at most: a nearer fix 7 minutes in puts the question off only to 8.
    edges(replace(nearing, last_fix_at=T0 + 7 * MINUTE), T0 + by_day + 3 * MINUTE, Reason.STALLED)
    # Not nearing: asked at the rule's time, whatever her last fix was.
    edges(replace(nearing, nearing=False), T0 + by_day, Reason.STALLED)
    # Her rules may make silence longer than a stall (2 min stalled, 30 silent): the wait
    # is never longer than the stall's own time.
    quick = Thresholds(**{**DAY.__dict__, "stalled_ms": 2 * MINUTE, "silent_ms": 30 * MINUTE})
    held = replace(nearing, last_fix_at=T0 + MINUTE)
    assert evaluate(held, T0 + 4 * MINUTE - SECOND, quick).ask is None
    assert evaluate(held, T0 + 4 * MINUTE, quick).ask is Reason.STALLED


def test_silent_when_no_fix() -> None:
    edges(watch(last_fix_at=T0, progress_at=T0 + 10 * MINUTE), T0 + 3 * MINUTE, Reason.SILENT)


def test_moving_away() -> None:
    away = watch(
        last_fix_at=T0 + 2 * MINUTE, progress_at=T0 + 90 * SECOND, away_since=T0 + 60 * SECOND
    )
    edges(away, T0 + 3 * MINUTE, Reason.MOVING_AWAY)


def test_lingering_at_the_door() -> None:
    door = watch(state=WalkState.AT_DOOR, door_at=T0 + 10 * MINUTE, last_fix_at=T0 + 14 * MINUTE)
    edges(door, T0 + 15 * MINUTE, Reason.LINGERING)


def test_at_the_door_she_is_never_late_or_stalled() -> None:
    door = watch(state=WalkState.AT_DOOR, door_at=T0 + 30 * MINUTE, last_fix_at=T0 + 34 * MINUTE)
    assert asks(door, T0 + 34 * MINUTE) is None


def test_no_answer_within_the_window_is_an_alarm() -> None:
    asked = watch(check_reason=Reason.STALLED, check_asked_at=T0 + 5 * MINUTE)
    window_ends = T0 + 5 * MINUTE + DAY.check_window_ms
    assert evaluate(asked, window_ends - SECOND, DAY) == Verdict(None, None, window_ends)
    assert evaluate(asked, window_ends, DAY).alarm is Reason.NO_ANSWER


def test_the_night_is_stricter() -> None:
    quiet = watch(last_fix_at=T0, progress_at=T0 + 10 * MINUTE)
    assert evaluate(quiet, T0 + 2 * MINUTE, NIGHT).ask is Reason.SILENT
    assert evaluate(quiet, T0 + 2 * MINUTE, DAY).ask is None


def test_night_and_day_are_the_walkers_local_time() -> None:
    # 2026-06-15 21:30 UTC is 00:30 in Helsinki and 17:30 in New York.
    at = 1_781_559_000_000
    assert profile_at(at, "Europe/Helsinki") is NIGHT
    assert profile_at(at, "America/New_York") is DAY


def answered(w: Watch, now: int, reason: Reason | None, more_time_ms: int = 0) -> Watch:
    """The walk after she answered "Are you OK?" about `reason` with her PIN at `now`."""
    quiet = quiet_after_answer(w, DAY, now, reason, more_time_ms)
    return replace(w, quiet_until=quiet.until, quiet_rules=quiet.rules)


def test_an_answer_holds_what_she_was_asked_about_for_a_while() -> None:
    # Stopped since T0, asked at T0 + 5 min, answered a minute later: her stop (and the
    # lateness it brings) is not asked about again for 10 minutes, though she stays.
    now = T0 + 6 * MINUTE
    stays = answered(watch(last_fix_at=now), now, Reason.STALLED)
    assert stays.quiet_until == now + 10 * MINUTE
    assert stays.quiet_rules == dict.fromkeys((Reason.STALLED, Reason.LATE), now + 10 * MINUTE)
    still = replace(stays, last_fix_at=now + 10 * MINUTE)  # her phone reports all along
    edges(still, now + 10 * MINUTE, Reason.STALLED)
    assert answered(watch(last_fix_at=now), now, Reason.SILENT).quiet_until == now + 5 * MINUTE


def test_a_phone_gone_quiet_after_her_answer_is_asked_about_at_its_own_time() -> None:
    """She answered for her stop; a minute later her phone stops (taken, switched off): its
    silence is a new sign, asked about after the silent rule's time, not after the quiet."""
    now = T0 + 6 * MINUTE
    gone = replace(answered(watch(last_fix_at=now), now, Reason.STALLED), last_fix_at=now + MINUTE)
    edges(gone, now + MINUTE + DAY.silent_ms, Reason.SILENT)


def test_led_away_after_her_answer_is_asked_about_at_its_own_time() -> None:
    now = T0 + 6 * MINUTE
    led = replace(
        answered(watch(last_fix_at=now), now, Reason.STALLED),
        last_fix_at=now + 4 * MINUTE,
        away_since=now + MINUTE,
    )
    edges(led, now + MINUTE + DAY.moving_away_ms, Reason.MOVING_AWAY)


def test_more_time_holds_the_stop_she_announced_up_to_half_an_hour() -> None:
    """ "15 more minutes" before she goes into a shop: standing there is not a stall until
    they are up; a longer stop is watched again after 30 minutes."""
    now = T0 + MINUTE
    shop = replace(answered(watch(last_fix_at=now), now, None, 15 * MINUTE), last_fix_at=now)
    assert shop.quiet_rules == {Reason.STALLED: now + 15 * MINUTE}
    at_the_shop = replace(shop, last_fix_at=now + 15 * MINUTE)
    edges(at_the_shop, now + 15 * MINUTE, Reason.STALLED)
    long = answered(watch(last_fix_at=now), now, None, 60 * MINUTE)
    assert long.quiet_until == now + 30 * MINUTE


def test_more_time_given_as_her_answer_holds_only_the_stop_for_its_minutes() -> None:
    """Asked because her phone went silent, she answers with "30 more minutes": her phone's
    silence is asked about again after the answer's 5 minutes, not after the 30 (the stall is
    held for them)."""
    now = T0 + 4 * MINUTE
    held = answered(watch(last_fix_at=T0), now, Reason.SILENT, 30 * MINUTE)
    assert held.quiet_rules == {Reason.SILENT: now + 5 * MINUTE, Reason.STALLED: now + 30 * MINUTE}
    assert asks(held, now + 5 * MINUTE) is Reason.SILENT


def test_when_held_rules_come_due_together_the_first_sign_is_asked_about() -> None:
    # Asked "stalled" and answered; meanwhile her phone went quiet and she was moved away,
    # both before the answer: all three are held, and silence, the first of them, is named.
    now = T0 + 20 * MINUTE
    w = watch(
        expected_at=T0 + 60 * MINUTE,
        last_fix_at=T0 + 12 * MINUTE,
        progress_at=T0 + 12 * MINUTE,
        away_since=T0 + 14 * MINUTE,
    )
    held = answered(w, now, Reason.STALLED)
    assert {Reason.SILENT, Reason.MOVING_AWAY, Reason.STALLED} <= set(held.quiet_rules or {})
    assert asks(held, held.quiet_until or 0) is Reason.SILENT


def test_the_next_look_is_the_earliest_deadline_day_or_night() -> None:
    assert next_due_at(watch()) == T0 + NIGHT.silent_ms
    asked = watch(check_reason=Reason.SILENT, check_asked_at=T0)
    assert next_due_at(asked) == T0 + NIGHT.check_window_ms
    assert next_due_at(watch(state=WalkState.SAFE)) is None


def test_progress_needs_more_than_gps_noise() -> None:
    start = progress_after(None, 1000, T0)
    noise = progress_after(start, 990, T0 + 1)  # 10 m: noise
    assert (noise.progress_m, noise.progress_at, noise.closer_m) == (1000, T0, None)
    once = progress_after(start, 960, T0 + 2)
    assert (once.progress_m, once.progress_at) == (1000, T0)  # one closer fix: not yet
    closer = progress_after(once, 950, T0 + 3)
    # Two in a row: progress, to where both agree she has got (the farther of the two).
    assert closer == Progress(960, T0 + 3, None, closer_m=950)
    # Back by more than noise: the first fix marks where she turned, the next farther is away.
    turned = progress_after(closer, 975, T0 + 4)
    assert turned == Progress(960, T0 + 3, None, behind_m=975)
    away = progress_after(turned, 1010, T0 + 5)
    assert away == Progress(960, T0 + 3, T0 + 5, behind_m=975)
    still_away = progress_after(away, 1040, T0 + 6)
    assert still_away.away_since == T0 + 5
    back = progress_after(still_away, 960, T0 + 7)
    assert back.away_since is None


def test_a_fix_carried_ahead_by_noise_doesnt_set_a_record_her_true_fixes_cant_beat() -> None:
    """At night, walking home at 1.3 m/s: a true fix 575 m from the door, then one that
    claims 27 m of accuracy but lands 45 m ahead (530), then her true fixes, 532 and 498 m,
    and a passage under the street. Had the noisy one set the least (530), 532 and 498 would
    not beat it by more than noise, and the stalled rule would count from the noisy fix and
    ask her as she came back up, walking on."""
    start = progress_after(None, 620, T0, 10)
    first = progress_after(start, 575, T0 + 30_000, 10)  # closer: the first of a pair
    pair = progress_after(first, 530, T0 + 60_000, 27)
    assert (pair.progress_m, pair.progress_at) == (575, T0 + 60_000)
    on = progress_after(pair, 532, T0 + 80_000, 10)
    assert on.progress_at == T0 + 80_000  # she walks on: progress
    further = progress_after(on, 498, T0 + 110_000, 10)
    assert further.progress_at == T0 + 110_000


def test_a_detour_nearer_as_the_crow_flies_is_progress_in_time_and_not_away() -> None:
    """Along the streets she has more to walk (1,000 m, then 1,050, 1,100); as the crow flies
    she gets nearer (800 m, then 770, 740): no walking away, and progress in time."""
    begun = progress_after(None, 1000, T0, 8, (800, None))
    start = progress_after(begun, 1000, T0, 8, (800, 800))  # (her first fix, settled)
    first = progress_after(start, 1050, T0 + 1, 8, (770, 800))  # one fix nearer: not yet
    assert (first.progress_at, first.away_since) == (T0, None)  # within a detour's allowance
    second = progress_after(first, 1100, T0 + 2, 8, (740, 770))  # two in a row: nearer
    assert second == Progress(1000, T0 + 2, None, straight_m=740)
    # Across, no nearer as the crow flies: not progress; within the allowance, not away.
    across = progress_after(second, 1150, T0 + 3, 8, (745, 740))
    assert (across.progress_at, across.away_since) == (T0 + 2, None)
    # Beyond a quarter of the least left (250 m), or farther as the crow flies too: away.
    # (The first fix behind marks where she is: `across`, 1,150 m left.)
    beyond = progress_after(across, 1260, T0 + 4, 8, (745, 745))
    assert beyond.away_since == T0 + 4
    farther = progress_after(across, 1180, T0 + 4, 8, (770, 745))
    assert farther.away_since == T0 + 4


def crow_walk(*left_m: float, along_streets: bool = False) -> Progress:
    """Fixes 10 s apart, each this far from the door as the crow flies (without streets, the
    distance left is that too)."""
    progress: Progress | None = None
    before: float | None = None
    for i, left in enumerate(left_m):
        t = T0 + i * 10 * SECOND
        straight = (left, before)
        progress = progress_after(progress, left, t, 8, straight, along_streets=along_streets)
        before = left
    assert progress is not None
    return progress


def test_without_streets_a_way_that_winds_a_little_is_not_walking_away() -> None:
    """Without streets, a way home that goes round a block rises as the crow flies for a
    while: 80 m above the least of 900 m is within a quarter of it (up to 100 m); 140 m is
    walking away, and near home (200 m left) so is 60 m."""
    assert crow_walk(1000, 1000, 900, 900, 940, 980, 960, 900).away_since is None
    assert crow_walk(1000, 1000, 900, 900, 950, 1000, 1040).away_since == T0 + 60 * SECOND
    assert crow_walk(300, 300, 200, 200, 230, 260).away_since == T0 + 50 * SECOND
    # Along the streets, the straight line rising is walking away, past its noise.
    along = crow_walk(1000, 1000, 900, 900, 950, 1000, along_streets=True)
    assert along.away_since == T0 + 50 * SECOND


def test_her_true_fixes_behind_two_stray_ones_ahead_are_not_walking_away() -> None:
    """Straight home at 1.3 m/s, a fix every 30 s (the distance left is the crow's here): two
    fixes in a row 250 m ahead, each claiming 8 m, set a record her true fixes then trail. She
    gets nearer fix by fix, and is not walking away; she passes the record, and makes progress
    again. Turning back later is walking away from where she turned."""

    def fix(before: Progress, m: float, at: int, m_before: float) -> Progress:
        return progress_after(before, m, T0 + at * SECOND, 8, (m, m_before))

    start = progress_after(None, 1000, T0, 8, (1000, None))
    stray = fix(fix(start, 711, 30, 1000), 672, 60, 711)  # true: 961, 922
    assert stray.progress_m == 711
    walked, m_before, at = stray, 672.0, 60
    for m in range(883, 711, -39):  # 883, 844, ..., 727: behind the record, walking on
        at += 30
        walked = fix(walked, m, at, m_before)
        m_before = m
        assert walked.away_since is None, m
        assert walked.progress_at == T0 + 60 * SECOND  # no progress yet: the stalled rule waits
    on = fix(fix(fix(walked, 688, at + 30, m_before), 649, at + 60, 688), 610, at + 90, 649)
    assert on.progress_at == T0 + (at + 90) * SECOND  # past the record: progress again
    back = fix(on, 650, at + 120, 610)  # she turns: the first fix marks where she is
    assert back.away_since is None
    farther = fix(back, 690, at + 150, 650)
    assert farther.away_since == T0 + (at + 150) * SECOND


def test_her_first_fix_alone_is_not_a_least_her_walking_must_beat() -> None:
    """Her first fix lands on another street, 74 m short of the way she has (1,240 m left,
    not 1,314). The next fix settles the least at the farther of the two, and her walking
    makes progress after 25 m, not 100 m. A first fix confirmed by a nearer one is kept."""
    first = progress_after(None, 1240, T0, 12, (900, None))
    settled = progress_after(first, 1314, T0 + 10_000, 12, (940, 900))
    assert settled == Progress(1314, T0, None, straight_m=940)
    on = progress_after(settled, 1284, T0 + 20_000, 12, (920, 940))
    assert progress_after(on, 1254, T0 + 30_000, 12, (900, 920)).progress_at == T0 + 30_000
    walking = progress_after(first, 1200, T0 + 10_000, 12, (880, 900))  # nearer: as always
    assert (walking.progress_m, walking.closer_m, walking.first_only) == (1240, 1200, False)


def test_one_noisy_fix_closer_is_not_progress_and_a_vague_fix_must_move_more() -> None:
    start = progress_after(None, 1000, T0)
    outlier = progress_after(start, 940, T0 + 1)  # 60 m closer, alone
    back = progress_after(outlier, 1000, T0 + 2)
    assert (back.progress_m, back.progress_at, back.closer_m) == (1000, T0, None)
    # Fixes claiming 20 m of accuracy: 35 m closer, twice, is still within their noise (40 m).
    vague = progress_after(progress_after(start, 965, T0 + 3, 20), 962, T0 + 4, 20)
    assert vague.progress_at == T0
    sure = progress_after(progress_after(start, 955, T0 + 3, 20), 950, T0 + 4, 20)
    assert sure.progress_at == T0 + 4
    # However vague the phone, 50 m is enough.
    bad = progress_after(progress_after(start, 949, T0 + 3, 300), 948, T0 + 4, 300)
    assert bad.progress_at == T0 + 4


@pytest.mark.parametrize(
    ("told", "battery", "tell"),
    [
        (None, 16, None),
        (None, 15, 15),
        (15, 14, None),
        (15, 5, 5),
        (None, 3, 5),
        (5, 2, None),
        (None, None, None),
    ],
)
def test_low_battery_is_told_at_15_and_at_5_percent_once_each(
    told: int | None, battery: float | None, tell: int | None
) -> None:
    assert battery_notice(told, battery) == tell


# -- random walks ----------------------------------------------------------------------------

HOME = Destination(60.16110, 24.94470, 40.0)
METRE = 1 / 111_195


def simulate(
    start_m: float,
    pace: float,
    every_s: int,
    steps: list[str],
    profile_name: str = "day",
    profile: Thresholds | None = None,
) -> list[Reason]:
    """Walk north-to-south toward HOME along a meridian. Each step lasts `every_s` seconds:
    "walk" moves toward home and sends a fix, "stop" sends a fix in place, "silent" sends
    nothing, "away" moves away and sends a fix. Returns what the rules asked, in order, the
    checks going unanswered (every ask then ends in an alarm). `profile`: thresholds of its
    own instead of the built-in day or night ones."""
    if profile is None:
        profile = DAY if profile_name == "day" else NIGHT
    expected = T0 + expected_duration_ms(start_m, 1.3)
    w = watch(expected_at=expected, last_fix_at=T0, progress_at=T0)
    position = start_m
    progress = progress_after(None, start_m, T0, 8, (start_m, None))
    crow_before = start_m
    asked: list[Reason] = []
    now = T0
    for step in steps:
        for _ in range(every_s):  # the watchdog looks every second
            now += SECOND
            verdict = evaluate(w, now, profile)
            if verdict.ask:
                asked.append(verdict.ask)
                return asked  # unanswered: the alarm follows after the window
        if step == "silent":
            continue
        if step == "walk":
            position = max(0.0, position - pace * every_s)
        elif step == "away":
            position += pace * every_s
        fix = Fix(now, HOME.lat + position * METRE, HOME.lon, accuracy_m=8)
        crow = distance_m(fix.lat, fix.lon, HOME.lat, HOME.lon)
        progress = progress_after(progress, crow, now, 8, (crow, crow_before))
        crow_before = crow
        state = door_after_fix(w.state, HOME, fix)
        w = replace(
            w,
            state=state,
            last_fix_at=now,
            progress_at=progress.progress_at,
            away_since=progress.away_since,
            door_at=(w.door_at or now) if state is WalkState.AT_DOOR else None,
        )
        if state is WalkState.AT_DOOR:
            return asked  # she says she is inside at once
    return asked


@settings(max_examples=60, deadline=None)
@given(
    start_m=st.floats(min_value=200, max_value=2500),
    pace=st.floats(min_value=1.1, max_value=2.0),
    every_s=st.integers(min_value=5, max_value=60),
    night=st.booleans(),
)
def test_a_walk_that_keeps_making_progress_raises_nothing(
    start_m: float, pace: float, every_s: int, night: bool
) -> None:
    steps = ["walk"] * 10_000
    assert simulate(start_m, pace, every_s, steps, "night" if night else "day") == []


@settings(max_examples=60, deadline=None)
@given(
    start_m=st.floats(min_value=500, max_value=2500),
    walked=st.integers(min_value=0, max_value=10),
    every_s=st.integers(min_value=5, max_value=30),
    trouble=st.sampled_from(["stop", "silent", "away"]),
)
def test_a_walk_that_stops_goes_silent_or_walks_away_is_always_raised(
    start_m: float, walked: int, every_s: int, trouble: str
) -> None:
    steps = ["walk"] * walked + [trouble] * 2_000
    asked = simulate(start_m, 1.3, every_s, steps)
    assert len(asked) == 1
    expected = {"stop": Reason.STALLED, "silent": Reason.SILENT, "away": Reason.MOVING_AWAY}
    assert asked[0] in {expected[trouble], Reason.LATE}


def test_a_walker_with_a_vague_phone_reporting_every_30_s_makes_progress_in_time() -> None:
    """80 m of accuracy, an ordinary pace (39 m between fixes): progress at least every
    90 s, well within the night's 3 minutes of the stalled rule."""
    progress = progress_after(None, 2000, T0)
    times = []
    for i in range(1, 30):
        progress = progress_after(progress, 2000 - 39 * i, T0 + i * 30_000, 80)
        times.append(progress.progress_at)
    gaps = [b - a for a, b in zip(sorted(set(times)), sorted(set(times))[1:], strict=False)]
    assert max(gaps) <= 90_000
