"""The rules' thresholds: the operator, a person and a walk may each change them, within
bounds; a walk keeps the ones it started with. Pure rules first, then through the service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import make_services
from tests.people import Cast
from tests.test_domain_rules import simulate, watch
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import ConfigError, load_config
from walkwithme.domain.errors import Invalid
from walkwithme.domain.profiles import (
    DAY,
    DEFAULT_PROFILES,
    MINUTE,
    NIGHT,
    RULES,
    SECOND,
    Profiles,
    Thresholds,
    apply,
    overrides_json,
    parse_line,
    parse_overrides,
)
from walkwithme.domain.rules import Reason, evaluate, next_due_at

T0 = 1_780_000_000_000  # 2026-05-28 20:26:40 UTC: day by the built-in hours


# -- settings as people write them -------------------------------------------------------------


def test_a_name_alone_sets_both_profiles_and_a_profiles_own_wins() -> None:
    # Given in either order, "night.silent" wins over "silent" for the night.
    for data in (
        {"silent": "4m", "night": {"silent": 150}},
        {"night": {"silent": 150}, "silent": "4m"},
    ):
        profiles = apply(DEFAULT_PROFILES, parse_overrides(data))
        assert profiles.day == replace(DAY, silent_ms=4 * MINUTE)
        assert profiles.night == replace(NIGHT, silent_ms=150 * SECOND)


@pytest.mark.parametrize(
    ("written", "ms"),
    [
        (90, 90_000),
        (1.5 * 60, 90_000),
        ("90", 90_000),
        ("90s", 90_000),
        ("4m", 240_000),
        ("4 min", 240_000),
        ("1h", 3_600_000),
        ("2.5m", 150_000),
        # As people write them: "10 minutes" was refused by a page that said "write minutes".
        ("10 minutes", 600_000),
        ("1 Minute", 60_000),
        ("90 seconds", 90_000),
        ("75 secs", 75_000),
        ("1 hour", 3_600_000),
    ],
)
def test_durations_are_seconds_or_have_a_unit(written: object, ms: int) -> None:
    assert apply(DEFAULT_PROFILES, parse_overrides({"stalled": written})).day.stalled_ms == ms


def test_the_late_grace_percentage_is_a_number_out_of_a_hundred() -> None:
    profiles = apply(DEFAULT_PROFILES, parse_overrides({"late_grace_percent": 40}))
    assert profiles.day.late_grace_fraction == profiles.night.late_grace_fraction == 0.4


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"silence": "3m"}, "rules", "unknown rule 'silence'"),
        ({"night": {"quiet": 1}}, "rules.night", "unknown rule 'quiet'"),
        ({"silent": "10s"}, "rules.silent", "between 30 s and 30 min"),
        ({"silent": "2h"}, "rules.silent", "between 30 s and 30 min"),
        ({"check_window": "soon"}, "rules.check_window", "must be a duration"),
        ({"stalled": True}, "rules.stalled", "must be a duration"),
        # Two settings run together on the operator's line (an operator's review).
        ({"silent": "4m night.silent=150s"}, "rules.silent", "separate settings with commas"),
        ({"silent": 1e308}, "rules.silent", "far too long to be a duration"),
        ({"silent": "9" * 400 + "s"}, "rules.silent", "far too long to be a duration"),
        ({"late_grace_percent": 150}, "rules.late_grace_percent", "between 0% and 100%"),
        ({"late_grace_percent": "25%"}, "rules.late_grace_percent", "percentage"),
        ({"day": "strict"}, "rules.day", "object"),
        ([1, 2], "rules", "object"),
    ],
)
def test_a_setting_that_could_switch_a_rule_off_or_makes_no_sense_is_refused_by_name(
    data: object, field: str, says: str
) -> None:
    with pytest.raises(Invalid, match=says) as refused:
        parse_overrides(data)
    assert refused.value.field == field


def test_the_operators_one_line_says_the_same() -> None:
    line = parse_line("silent=4m, night.silent=150s, late_grace_percent=20", "rules")
    assert line == parse_overrides(
        {"silent": "4m", "night": {"silent": "150s"}, "late_grace_percent": 20}
    )
    with pytest.raises(Invalid, match="not name=value"):
        parse_line("silent 4m", "rules")


def test_each_layer_changes_only_what_it_names() -> None:
    server = apply(DEFAULT_PROFILES, parse_line("silent=4m, stalled=8m", "rules"))
    hers = apply(server, parse_overrides({"stalled": "6m", "lingering": "2m"}))
    walk = apply(hers, parse_overrides({"night": {"lingering": "90s"}}))
    assert walk.day == replace(
        DAY, silent_ms=4 * MINUTE, stalled_ms=6 * MINUTE, lingering_ms=2 * MINUTE
    )
    assert walk.night == replace(
        NIGHT, silent_ms=4 * MINUTE, stalled_ms=6 * MINUTE, lingering_ms=90 * SECOND
    )


def test_settings_are_kept_as_written_and_read_back_the_same() -> None:
    given_ = parse_overrides({"silent": "4m", "night": {"late_grace_percent": 10}})
    assert parse_overrides(overrides_json(given_)) == given_


@pytest.mark.parametrize(
    ("starts", "ends", "night_hours", "day_hours"),
    [
        (21, 6, [21, 23, 0, 5], [6, 12, 20]),
        (0, 5, [0, 4], [5, 12, 23]),
        (18, 23, [18, 22], [23, 0, 17]),
    ],
)
def test_the_night_may_wrap_past_midnight_or_not(
    starts: int, ends: int, night_hours: list[int], day_hours: list[int]
) -> None:
    profiles = Profiles(night_starts=starts, night_ends=ends)
    assert all(profiles.is_night(h) for h in night_hours)
    assert not any(profiles.is_night(h) for h in day_hours)


def test_the_night_is_by_her_own_local_time() -> None:
    early = Profiles(night_starts=20, night_ends=6)
    # 20:26 in London (UTC+1 in May is 21:26), 16:26 in New York, 20:26 by UTC.
    assert early.at(T0, "UTC") is early.night
    assert early.at(T0, "America/New_York") is early.day
    assert DEFAULT_PROFILES.at(T0, "UTC") is DAY


thresholds = st.builds(
    Thresholds,
    **{
        r.attr: (
            st.floats(r.low, r.high)
            if r.percent
            else st.integers(int(r.low) // SECOND, int(r.high) // SECOND).map(lambda s: s * SECOND)
        )
        for r in RULES
    },
)


@given(day=thresholds, night=thresholds, hours=st.tuples(st.integers(0, 23), st.integers(0, 23)))
def test_a_walks_profiles_are_kept_and_read_back_exactly(
    day: Thresholds, night: Thresholds, hours: tuple[int, int]
) -> None:
    profiles = Profiles(day, night, *hours)
    assert Profiles.from_stored(profiles.stored()) == profiles


# -- the rules judge by the walk's own thresholds ---------------------------------------------


def test_a_walks_own_silence_threshold_at_its_edges() -> None:
    own = replace(DAY, silent_ms=4 * MINUTE)
    w = watch(profiles=Profiles(day=own, night=own))
    deadline = T0 + 4 * MINUTE
    assert evaluate(w, deadline - SECOND, own).ask is None
    assert evaluate(w, deadline, own).ask is Reason.SILENT
    assert evaluate(w, deadline + SECOND, own).ask is Reason.SILENT
    # The watchdog's next look is the walk's own deadline, not the built-in one.
    assert next_due_at(w) == deadline
    assert next_due_at(watch()) == T0 + NIGHT.silent_ms


@settings(max_examples=60, deadline=None)
@given(
    profile=thresholds,
    start_m=st.floats(min_value=200, max_value=2500),
    pace=st.floats(min_value=1.3, max_value=2.0),
    every_s=st.integers(min_value=5, max_value=25),
)
def test_whatever_the_settings_a_walk_that_keeps_making_progress_raises_nothing(
    profile: Thresholds, start_m: float, pace: float, every_s: int
) -> None:
    assert simulate(start_m, pace, every_s, ["walk"] * 10_000, profile=profile) == []


@settings(max_examples=60, deadline=None)
@given(
    profile=thresholds,
    walked=st.integers(min_value=0, max_value=10),
    every_s=st.integers(min_value=5, max_value=25),
    trouble=st.sampled_from(["stop", "silent", "away"]),
)
def test_whatever_the_settings_stopping_going_silent_or_walking_away_is_raised(
    profile: Thresholds, walked: int, every_s: int, trouble: str
) -> None:
    steps = ["walk"] * walked + [trouble] * 2_000
    asked = simulate(1500, 1.3, every_s, steps, profile=profile)
    # Going silent or walking away is also making no progress: whichever comes first.
    expected = {
        "stop": {Reason.STALLED},
        "silent": {Reason.SILENT, Reason.STALLED},
        "away": {Reason.MOVING_AWAY, Reason.STALLED},
    }
    assert len(asked) == 1
    assert asked[0] in {*expected[trouble], Reason.LATE}


# -- the operator's settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WWM_RULES", "silent=5s"),
        ("WWM_RULES", "loud=3m"),
        ("WWM_RULES", "silent"),
        ("WWM_NIGHT_HOURS", "6-6"),
        ("WWM_NIGHT_HOURS", "evening"),
        ("WWM_NIGHT_HOURS", "21-25"),
    ],
)
def test_a_bad_threshold_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})


def test_the_operators_settings_and_night_hours_are_read() -> None:
    config = load_config({"WWM_RULES": "silent=4m, night.silent=150", "WWM_NIGHT_HOURS": "20-7"})
    assert config.profiles.day.silent_ms == 4 * MINUTE
    assert config.profiles.night.silent_ms == 150 * SECOND
    assert (config.profiles.night_starts, config.profiles.night_ends) == (20, 7)


# -- through the service -----------------------------------------------------------------------


@pytest.fixture
def make_cast(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    """A cast on a service started with the operator's settings."""
    opened: list[tuple[TestClient, Any]] = []

    def make(**settings_: str) -> Cast:
        svc = make_services(db_url, tmp_path, clock, None, **settings_)
        client = TestClient(create_app(svc), base_url="http://127.0.0.1:8000")
        client.__enter__()
        opened.append((client, svc))
        return Cast(client, svc, clock)

    yield make
    for client, svc in opened:
        client.__exit__(None, None, None)
        svc.db.dispose()


def look(cast: Cast, **advance: float) -> list[str]:
    cast.clock.advance(**advance)
    return cast.services.watchdog.tick_sync()


def test_the_operators_thresholds_judge_every_walk_and_are_shown_with_it(make_cast: Any) -> None:
    cast: Cast = make_cast(WWM_RULES="silent=4m")
    mira, noor, phone, walk = cast.walking()
    assert walk["thresholds"]["day"]["silent"] == 240
    assert look(cast, minutes=3, seconds=59) == []
    assert look(cast, seconds=1) == ["check"]
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["thresholds"] == walk["thresholds"]


def test_the_operators_night_hours(make_cast: Any) -> None:
    cast: Cast = make_cast(WWM_NIGHT_HOURS="20-6")  # 20:26 UTC is night on this server
    mira, noor, phone, walk = cast.walking()
    assert walk["thresholds"]["night_hours"] == "20-6"
    assert look(cast, minutes=1, seconds=59) == []
    assert look(cast, seconds=1) == ["check"]  # the night's 2 minutes of silence


def test_her_own_thresholds_then_a_walks_own(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.device(mira)
    me = cast.client.patch("/api/me", json={"rules": {"silent": "5m"}}, headers=mira.auth)
    assert me.status_code == 200, me.text
    assert me.json()["rules"] == {"day": {"silent": 300}, "night": {"silent": 300}}
    assert me.json()["thresholds"]["night"]["silent"] == 300
    assert cast.client.get("/api/me", headers=mira.auth).json()["rules"] == me.json()["rules"]

    # This walk asks for less patience than she usually does.
    walk = cast.start_walk(mira, rules={"silent": 150})
    assert look(cast, minutes=2, seconds=29) == []
    assert look(cast, seconds=1) == ["check"]
    cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": "2468"}, headers=mira.auth)

    # The next one, by her own settings.
    walk = cast.start_walk(mira)
    assert walk["thresholds"]["day"]["silent"] == 300
    assert look(cast, minutes=4, seconds=59) == []
    assert look(cast, seconds=1) == ["check"]


def test_a_walk_keeps_the_thresholds_it_started_with(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    changed = cast.client.patch("/api/me", json={"rules": {"silent": "20m"}}, headers=mira.auth)
    assert changed.status_code == 200
    assert look(cast, minutes=3) == ["check"]  # the built-in 3 minutes it started with
    # And {} gives her the server's own again.
    cleared = cast.client.patch("/api/me", json={"rules": {}}, headers=mira.auth).json()
    assert cleared["rules"] == {}
    assert cleared["thresholds"] == walk["thresholds"]


def test_bad_thresholds_are_refused_by_name_and_change_nothing(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    refused = cast.client.patch(
        "/api/me", json={"name": "Mirja", "rules": {"silent": "5s"}}, headers=mira.auth
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "rules.silent"
    assert "between 30 s and 30 min" in refused.json()["error"]
    me = cast.client.get("/api/me", headers=mira.auth).json()
    assert (me["name"], me["rules"]) == ("Mira", {})

    body = {
        "destination": {"lat": 60.1611, "lon": 24.9447, "name": "home"},
        "minutes": 20,
        "pin": "2468",
        "rules": {"night": {"lingering": "forever"}},
    }
    started = cast.client.post("/api/walks", json=body, headers=mira.auth)
    assert started.status_code == 422
    assert started.json()["field"] == "rules.night.lingering"
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []
    # A number no duration is (it overflowed into a 500): refused by name, nothing started.
    body["rules"] = {"night": {"lingering": 1e308}}
    started = cast.client.post("/api/walks", json=body, headers=mira.auth)
    assert started.status_code == 422, started.text
    assert started.json()["field"] == "rules.night.lingering"
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []


def test_a_slower_pace_she_sets_gives_her_more_time_before_she_is_asked_if_stalled(
    cast: Cast,
) -> None:
    """Set at 0.7 m/s, her pace changed only when she was expected: 13 of 26 walks at that
    pace were asked "not getting any closer" while she walked (an outside replay along real
    streets). Her stalled time is longer by 1.3 m/s over her pace, half again at most; her
    own stalled setting is hers as set; the other rules don't change."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.device(mira)
    slow = cast.client.patch("/api/me", json={"pace": 0.7}, headers=mira.auth).json()
    assert slow["thresholds"]["day"]["stalled"] == 450  # 5 min, half again
    assert slow["thresholds"]["night"]["stalled"] == 270  # 3 min, half again
    assert slow["thresholds"]["night"]["silent"] == 120  # unchanged
    walk = cast.start_walk(mira)
    assert walk["thresholds"] == slow["thresholds"]
    cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": "2468"}, headers=mira.auth)
    a_bit = cast.client.patch("/api/me", json={"pace": 1.1}, headers=mira.auth).json()
    assert a_bit["thresholds"]["day"]["stalled"] == round(300 * 1.3 / 1.1)
    own = {"pace": 0.7, "rules": {"stalled": "4m"}}
    mine = cast.client.patch("/api/me", json=own, headers=mira.auth).json()
    assert mine["thresholds"]["day"]["stalled"] == mine["thresholds"]["night"]["stalled"] == 240
    brisk = cast.client.patch("/api/me", json={"pace": 1.6, "rules": {}}, headers=mira.auth)
    assert brisk.json()["thresholds"]["day"]["stalled"] == 300  # never less than the service's
