"""The walk's state machine and its door, as pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkwithme.domain.errors import IllegalTransition, Invalid
from walkwithme.domain.fixes import Fix
from walkwithme.domain.geo import distance_m, expected_duration_ms
from walkwithme.domain.walks import (
    Destination,
    WalkState,
    check_pin_format,
    door_after_fix,
    leave_margin_m,
    transition,
)

HOME = Destination(60.16110, 24.94470, 40.0, "home")
METRE_LAT = 1 / 111_195  # degrees of latitude per metre


def fix_north_of_home(metres: float, accuracy: float = 5.0) -> Fix:
    return Fix(t_ms=1, lat=HOME.lat + metres * METRE_LAT, lon=HOME.lon, accuracy_m=accuracy)


def test_a_walk_that_is_over_cannot_start_again() -> None:
    for over in (WalkState.SAFE, WalkState.ENDED):
        for target in WalkState:
            with pytest.raises(IllegalTransition):
                transition(over, target)


def test_a_live_walk_can_reach_the_door_and_be_confirmed_safe() -> None:
    assert transition(WalkState.ACTIVE, WalkState.AT_DOOR) is WalkState.AT_DOOR
    assert transition(WalkState.AT_DOOR, WalkState.SAFE) is WalkState.SAFE
    assert transition(WalkState.ACTIVE, WalkState.ENDED) is WalkState.ENDED


def test_a_walk_does_not_transition_to_itself() -> None:
    with pytest.raises(IllegalTransition):
        transition(WalkState.ACTIVE, WalkState.ACTIVE)


def test_arriving_needs_a_fix_inside_the_radius() -> None:
    assert door_after_fix(WalkState.ACTIVE, HOME, fix_north_of_home(39)) is WalkState.AT_DOOR
    assert door_after_fix(WalkState.ACTIVE, HOME, fix_north_of_home(45)) is WalkState.ACTIVE


def test_one_stray_fix_by_her_door_while_she_is_streets_away_is_not_arriving() -> None:
    """A reflection between tall buildings puts one fix by her door while she is 600 m away:
    her companions must not be told she is there (nor the rules that watch her way home
    stop). Her next fix, if she really came that fast, confirms it."""
    away = Fix(t_ms=0, lat=HOME.lat + 600 * METRE_LAT, lon=HOME.lon, accuracy_m=8)
    stray = Fix(t_ms=10_000, lat=HOME.lat + 10 * METRE_LAT, lon=HOME.lon, accuracy_m=8)
    assert door_after_fix(WalkState.ACTIVE, HOME, stray, came_from=away) is WalkState.ACTIVE
    # Two at the door in a row: arrived, however she came.
    again = Fix(t_ms=20_000, lat=HOME.lat + 5 * METRE_LAT, lon=HOME.lon, accuracy_m=8)
    assert door_after_fix(WalkState.ACTIVE, HOME, again, came_from=stray) is WalkState.AT_DOOR
    # Driven to her door: 400 m in 30 s (13 m/s) is a car's arrival, not a stray fix.
    driven = Fix(t_ms=30_000, lat=HOME.lat + 10 * METRE_LAT, lon=HOME.lon, accuracy_m=8)
    near = Fix(t_ms=0, lat=HOME.lat + 410 * METRE_LAT, lon=HOME.lon, accuracy_m=8)
    assert door_after_fix(WalkState.ACTIVE, HOME, driven, came_from=near) is WalkState.AT_DOOR


def test_one_stray_fix_far_from_her_door_while_she_is_at_it_is_not_leaving() -> None:
    """Indoors, one fix 85 m off, 10 s after the last at her door (8.5 m/s, faster than she
    walks): she is at her door still; a second one clear of it in a row, and she left. Walked
    out, one fix is enough: 220 m a minute after her last fix at the door."""
    door = Fix(t_ms=0, lat=HOME.lat, lon=HOME.lon, accuracy_m=10)
    stray = Fix(t_ms=10_000, lat=HOME.lat + 85 * METRE_LAT, lon=HOME.lon, accuracy_m=10)
    assert door_after_fix(WalkState.AT_DOOR, HOME, stray, came_from=door) is WalkState.AT_DOOR
    on = Fix(t_ms=20_000, lat=HOME.lat + 170 * METRE_LAT, lon=HOME.lon, accuracy_m=10)
    assert door_after_fix(WalkState.AT_DOOR, HOME, on, came_from=stray) is WalkState.ACTIVE
    walked = Fix(t_ms=60_000, lat=HOME.lat + 220 * METRE_LAT, lon=HOME.lon, accuracy_m=8)
    assert door_after_fix(WalkState.AT_DOOR, HOME, walked, came_from=door) is WalkState.ACTIVE


def test_passing_her_door_in_a_car_is_not_arriving() -> None:
    """Two fixes by her door a second apart, her phone saying 10 m/s: a car driving past it
    with her in it. Her companions must not be told she is home."""
    one = Fix(t_ms=0, lat=HOME.lat + 15 * METRE_LAT, lon=HOME.lon, accuracy_m=5, speed_mps=10)
    two = Fix(t_ms=1_000, lat=HOME.lat + 5 * METRE_LAT, lon=HOME.lon, accuracy_m=5, speed_mps=10)
    assert door_after_fix(WalkState.ACTIVE, HOME, two, came_from=one) is WalkState.ACTIVE
    still = Fix(t_ms=2_000, lat=HOME.lat + 2 * METRE_LAT, lon=HOME.lon, accuracy_m=5, speed_mps=0)
    assert door_after_fix(WalkState.ACTIVE, HOME, still, came_from=two) is WalkState.AT_DOOR


def test_a_vague_fix_cannot_put_her_at_the_door() -> None:
    vague = fix_north_of_home(10, accuracy=300)
    assert door_after_fix(WalkState.ACTIVE, HOME, vague) is WalkState.ACTIVE


def test_leaving_needs_the_whole_accuracy_circle_beyond_the_margin() -> None:
    edge = HOME.radius_m + leave_margin_m(HOME.radius_m)
    # Just outside the radius: GPS drift, she is still at the door.
    assert door_after_fix(WalkState.AT_DOOR, HOME, fix_north_of_home(50)) is WalkState.AT_DOOR
    # Far enough, but the fix is too vague to be sure.
    vague = fix_north_of_home(edge + 10, accuracy=20)
    assert door_after_fix(WalkState.AT_DOOR, HOME, vague) is WalkState.AT_DOOR
    sure = fix_north_of_home(edge + 10, accuracy=5)
    assert door_after_fix(WalkState.AT_DOOR, HOME, sure) is WalkState.ACTIVE


def test_a_vague_fix_whose_noise_reaches_her_door_is_not_leaving_it() -> None:
    """Between tall houses, her fixes 40 m off claiming 40 to 65 m: one put her 114 m from
    her door (±47 m) while she stood at it. Twice its accuracy still reaches the radius: she
    had "left the door" and "arrived" again on her companions' timeline."""
    assert door_after_fix(WalkState.AT_DOOR, HOME, fix_north_of_home(114, 47)) is WalkState.AT_DOOR
    # As vague, and clearly away: she left.
    assert door_after_fix(WalkState.AT_DOOR, HOME, fix_north_of_home(140, 47)) is WalkState.ACTIVE


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=60), st.floats(min_value=0, max_value=15)),
        min_size=1,
        max_size=60,
    )
)
def test_drift_around_the_edge_never_flaps_the_door(readings: list[tuple[float, float]]) -> None:
    """Fixes scattered within a few metres of the radius, once she has arrived, never take
    her away from the door: the walk leaves `at_door` only on a confident fix well outside."""
    state = WalkState.AT_DOOR
    for metres, accuracy in readings:
        state = door_after_fix(state, HOME, fix_north_of_home(metres, accuracy))
        assert state is WalkState.AT_DOOR


@given(st.floats(min_value=0, max_value=5000), st.floats(min_value=0.3, max_value=4))
def test_a_longer_walk_never_gets_less_time(metres: float, pace: float) -> None:
    assert expected_duration_ms(metres + 100, pace) >= expected_duration_ms(metres, pace)


def test_expected_duration_allows_for_streets_not_being_straight() -> None:
    # 1 km as the crow flies at 1.3 m/s: 1000 m * 1.3 detour / 1.3 m/s = 1000 s.
    assert expected_duration_ms(1000, 1.3) == 1_000_000


def test_distance_is_about_right_in_helsinki() -> None:
    # Railway station to the Esplanadi park: about 500 m.
    assert 450 < distance_m(60.17096, 24.94137, 60.16746, 24.94563) < 520


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", " 1234"])
def test_a_pin_is_four_to_eight_digits(pin: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_pin_format(pin)
    assert refused.value.field == "pin"


@pytest.mark.parametrize(
    ("lat", "lon", "radius", "field"),
    [(91, 0, 40, "lat"), (0, 181, 40, "lon"), (0, 0, 5, "radius"), (0, 0, 5000, "radius")],
)
def test_a_destination_out_of_range_is_refused_by_name(
    lat: float, lon: float, radius: float, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        Destination(lat, lon, radius)
    assert refused.value.field == field
