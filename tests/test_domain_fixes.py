"""Which fixes are refused, and which are kept but not trusted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkwithme.domain.errors import Invalid
from walkwithme.domain.fixes import Fix, check_fix, implausibility, parse_fix

NOW = 1_780_000_000_000


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"lat": 60.1, "lon": 24.9}, "t"),
        ({"t": NOW, "lat": 91, "lon": 24.9}, "lat"),
        ({"t": NOW, "lat": -90.5, "lon": 24.9}, "lat"),
        ({"t": NOW, "lat": 60.1, "lon": 180.1}, "lon"),
        ({"t": NOW, "lat": 60.1}, "lon"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "accuracy": -1}, "accuracy"),
        ({"t": NOW, "lat": "60.1", "lon": 24.9}, "lat"),
        ({"t": NOW, "lat": True, "lon": 24.9}, "lat"),
        ({"t": NOW + 25 * 3_600_000, "lat": 60.1, "lon": 24.9}, "t"),
        ({"t": NOW + 24 * 3_600_000 + 1, "lat": 60.1, "lon": 24.9}, "t"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "altitude": 1e308}, "altitude"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "altitude": -20_000}, "altitude"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "speed": 1e12}, "speed"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "accuracy": 1e9}, "accuracy"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "battery": 140}, "battery"),
        ({"t": NOW, "lat": 60.1, "lon": 24.9, "bearing": 361}, "bearing"),
    ],
)
def test_a_malformed_fix_is_refused_naming_the_field(item: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_fix(parse_fix(item), NOW)
    assert refused.value.field == field


def test_a_fix_a_minute_ahead_of_the_server_is_still_taken() -> None:
    check_fix(parse_fix({"t": NOW + 60_000, "lat": 60.1, "lon": 24.9, "altitude": 8848}), NOW)


def test_a_fix_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(Invalid):
        parse_fix([60.1, 24.9])


def test_a_well_formed_fix_passes_with_all_its_fields() -> None:
    fix = parse_fix(
        {
            "t": NOW,
            "lat": 60.1,
            "lon": 24.9,
            "accuracy": 5,
            "speed": 1.4,
            "bearing": 180,
            "altitude": 12,
            "battery": 77,
            "unknown": "ignored",
        }
    )
    check_fix(fix, NOW)
    assert fix == Fix(NOW, 60.1, 24.9, 5, 1.4, 180, 12, 77)


def test_a_fix_vaguer_than_500_m_is_not_trusted() -> None:
    assert implausibility(Fix(NOW, 60.1, 24.9, accuracy_m=1600), None) == "inaccurate"


def test_a_jump_at_500_kmh_is_not_trusted() -> None:
    before = Fix(NOW, 60.1, 24.9, accuracy_m=5)
    # About 14 km north in 100 s: 500 km/h.
    after = Fix(NOW + 100_000, 60.1 + 14_000 / 111_195, 24.9, accuracy_m=5)
    assert implausibility(after, before) == "jump"


@given(st.floats(min_value=0, max_value=3.0), st.integers(min_value=1, max_value=600))
def test_walking_and_running_are_always_plausible(speed: float, seconds: int) -> None:
    before = Fix(NOW, 60.1, 24.9, accuracy_m=10)
    moved = speed * seconds
    after = Fix(NOW + seconds * 1000, 60.1 + moved / 111_195, 24.9, accuracy_m=10)
    assert implausibility(after, before) is None
