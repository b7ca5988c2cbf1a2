"""Driven away: her distance left rising faster than anyone walks asks "Are you OK?" at once,
with a minute to answer (domain/driven.py). An outside replay's walker, grabbed 700 m into her
walk and driven back the way she came at 14 m/s, was asked two minutes later and alarmed three
to four minutes later, 2 to 3 km away.

Played through the service on the Helsinki map (tests/test_held_out_walks.py's walk), judged
along the streets (marked `streets`) or as the crow flies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.people import Cast
from tests.test_held_out_walks import (
    BOTH_WAYS,
    ESPLANADI,
    Fix,
    Night,
    moved,
    split,
    walked,
    way_home,
)
from walkwithme.notify.messages import render
from walkwithme.streets import StreetMap

pytestmark = pytest.mark.one_database
IN_A_VEHICLE = "moving away fast, as in a vehicle"


def car(line: list[tuple[float, float]], from_ms: int, every_s: int) -> list[Fix]:
    """Driven along the line and on, 4 km south of Esplanadi, at 14 m/s from `from_ms` (a fix
    every `every_s`), her phone saying so."""
    away = [*line, moved(ESPLANADI, -4000, -1000)]
    driven = walked(away, from_ms - every_s * 1000, 14.0, every_s)[1:]
    return [(t, where, {"speed": 14.0}) for t, where, _ in driven]


def checks(night: Night) -> list[dict[str, Any]]:
    return [e for e in night.events() if e["kind"] == "check"]


@pytest.mark.parametrize("streets", BOTH_WAYS)
def test_driven_back_the_way_she_came_is_asked_at_once(
    cast: Cast, helsinki: StreetMap, streets: bool
) -> None:
    """At night, her phone reporting every 25 s in the car: asked at its second fix, alarmed a
    minute later, and her companion is told why in words."""
    night = Night(cast)
    cast.channel(night.mira)
    on_foot = split(way_home(helsinki), 700)[0]
    fixes = walked(on_foot, night.started)
    night.play(fixes)
    grabbed = fixes[-1][0]
    night.play(car(list(reversed(on_foot)), grabbed, every_s=25)[:8])
    [asked] = checks(night)
    assert asked["reason"] == "moving_away_fast"
    assert (asked["at"] - grabbed) // 1000 <= 55  # it was 120 to 146
    assert asked["answer_by"] - asked["at"] == 60_000
    [alarm] = [e for e in night.events() if e["kind"] == "alarm"]
    assert (alarm["reason"], alarm["asked_because"]) == ("no_answer", "moving_away_fast")
    assert (alarm["at"] - grabbed) // 1000 <= 120  # it was 184 to 209
    [told] = cast.told(night.noor, "alarm")
    assert IN_A_VEHICLE in render(told)[1]
    [her_question] = cast.told(night.mira, "check")
    assert "as in a vehicle" in render(her_question)[1]


class Day(Night):
    """The same walk by day: the clock set back before she starts."""

    def __init__(self, cast: Cast) -> None:
        advance = cast.clock.advance
        cast.clock.advance = lambda **_: None  # type: ignore[method-assign]
        try:
            super().__init__(cast)
        finally:
            cast.clock.advance = advance  # type: ignore[method-assign]


@pytest.mark.parametrize("streets", BOTH_WAYS)
def test_a_tram_home_is_not_asked_and_a_car_away_is(
    cast: Cast, helsinki: StreetMap, streets: bool
) -> None:
    """By day: 250 m on foot, 500 m by tram toward home (7 m/s, her phone saying so), 50 m on
    foot, then driven back at 14 m/s, a fix every 15 s. The tram asks nothing; the car is asked
    about within 40 s, with a minute to answer (the day's check has 90 s), and alarmed within
    100 s (it was 227 to 239)."""
    day = Day(cast)
    line = way_home(helsinki)
    walk_1, rest = split(line, 250)
    tram, rest = split(rest, 500)
    walk_2 = split(rest, 50)[0]
    fixes = walked(walk_1, day.started)
    fixes += [(t, w, {"speed": 7.0}) for t, w, _ in walked(tram, fixes[-1][0], 7.0)]
    fixes += walked(walk_2, fixes[-1][0])
    day.play(fixes)
    grabbed = fixes[-1][0]
    assert checks(day) == []
    back = list(reversed(split(line, 800)[0]))
    day.play(car(back, grabbed, every_s=15)[:8])
    [asked] = checks(day)
    assert asked["reason"] == "moving_away_fast"
    assert (asked["at"] - grabbed) // 1000 <= 40
    assert asked["answer_by"] - asked["at"] == 60_000
    [alarmed] = day.at("alarm")
    assert alarmed - (grabbed - day.started) // 1000 <= 100
