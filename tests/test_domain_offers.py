"""Offers' local times: parsing, the two daylight-saving changes, and weekly recurrences over
random instants in zones with odd changes (half-hour shifts, a skipped day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkwithme.domain.errors import Invalid
from walkwithme.domain.offers import (
    DAY_SETS,
    Weekly,
    days_mask,
    days_of,
    describe,
    local_date,
    local_instant,
    parse_day,
    parse_days,
    parse_time,
    wall_time,
)

HELSINKI = "Europe/Helsinki"
SPRING = date(2026, 3, 29)  # 03:00 -> 04:00
AUTUMN = date(2026, 10, 25)  # 04:00 -> 03:00
ZONES = [
    HELSINKI,
    "UTC",
    "America/New_York",
    "Australia/Lord_Howe",  # changes by half an hour
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped 30 December 2011 altogether
    "America/Santiago",  # changes at midnight
]


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_a_time_that_exists_once_is_exact() -> None:
    assert utc(local_instant(date(2026, 6, 1), time(20, 0), HELSINKI)) == datetime(
        2026, 6, 1, 17, 0, tzinfo=UTC
    )
    assert utc(local_instant(date(2026, 12, 1), time(20, 0), HELSINKI)) == datetime(
        2026, 12, 1, 18, 0, tzinfo=UTC
    )


def test_a_skipped_time_in_spring_means_the_end_of_the_gap() -> None:
    skipped = local_instant(SPRING, time(3, 30), HELSINKI)
    assert utc(skipped) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert describe(skipped, HELSINKI) == "Sun 29 Mar 04:00"
    assert local_instant(SPRING, time(3, 0), HELSINKI) == skipped
    before = local_instant(SPRING, time(2, 59), HELSINKI)
    assert skipped - before == 60_000  # one real minute: 02:59 EET, then 04:00 EEST


def test_a_repeated_time_in_autumn_means_the_first() -> None:
    twice = local_instant(AUTUMN, time(3, 30), HELSINKI)
    assert utc(twice) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 03:30 EEST, not EET
    after = local_instant(AUTUMN, time(4, 0), HELSINKI)
    assert after - twice == 90 * 60_000  # 03:30 summer time, 03:xx again, then 04:00


def test_every_weekday_at_22_across_both_changes() -> None:
    weekdays = Weekly(DAY_SETS["weekdays"], time(22, 0))
    for change in (SPRING, AUTUMN):
        friday = local_instant(change - timedelta(days=2), time(12, 0), HELSINKI)
        first = weekdays.next_after(friday, HELSINKI)
        second = weekdays.next_after(first, HELSINKI)
        assert describe(first, HELSINKI).endswith("22:00")
        assert describe(first, HELSINKI).startswith("Fri")
        assert describe(second, HELSINKI).startswith("Mon")
        assert describe(second, HELSINKI).endswith("22:00")
        shift = 1 if change == SPRING else -1  # the weekend lost or gained an hour
        assert second - first == (3 * 24 - shift) * 3_600_000


def test_daily_at_a_skipped_or_repeated_time() -> None:
    at_0330 = Weekly(DAY_SETS["daily"], time(3, 30))
    saturday = local_instant(SPRING - timedelta(days=1), time(12, 0), HELSINKI)
    sunday = at_0330.next_after(saturday, HELSINKI)
    assert describe(sunday, HELSINKI) == "Sun 29 Mar 04:00"
    assert describe(at_0330.next_after(sunday, HELSINKI), HELSINKI) == "Mon 30 Mar 03:30"
    saturday = local_instant(AUTUMN - timedelta(days=1), time(12, 0), HELSINKI)
    sunday = at_0330.next_after(saturday, HELSINKI)
    assert utc(sunday) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # once, the first
    monday = at_0330.next_after(sunday, HELSINKI)
    assert describe(monday, HELSINKI) == "Mon 26 Oct 03:30"
    assert at_0330.latest_until(monday - 1, HELSINKI) == sunday


def test_what_people_type() -> None:
    today = date(2026, 5, 28)
    assert parse_day("tomorrow", today) == date(2026, 5, 29)
    assert parse_day(" Today ", today) == today
    assert parse_day("2026-06-01", today) == date(2026, 6, 1)
    assert parse_time("8:05") == time(8, 5)
    assert parse_time("20:00") == time(20, 0)
    assert parse_days("weekdays") == frozenset(range(5))
    assert parse_days(["Sat", "sunday"]) == frozenset({5, 6})
    assert days_of(days_mask(frozenset({0, 3, 6}))) == frozenset({0, 3, 6})


@pytest.mark.parametrize(
    ("parse", "text", "field"),
    [
        (parse_time, "24:00", "time"),
        (parse_time, "20.00", "time"),
        (parse_time, "7:5", "time"),
        (lambda t: parse_day(t, date(2026, 1, 1)), "2026-02-30", "day"),
        (lambda t: parse_day(t, date(2026, 1, 1)), "someday", "day"),
        (parse_days, "fortnightly", "days"),
        (parse_days, ["mon", "funday"], "days"),
        (parse_days, [], "days"),
    ],
)
def test_bad_input_names_its_field(parse: object, text: object, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse(text)  # type: ignore[operator]
    assert refused.value.field == field


instants = st.integers(
    min_value=int(datetime(2005, 1, 1, tzinfo=UTC).timestamp()) * 1000,
    max_value=int(datetime(2035, 12, 31, tzinfo=UTC).timestamp()) * 1000,
)
local_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
day_sets = st.frozensets(st.integers(0, 6), min_size=1)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), instants, local_times)
def test_a_local_time_is_shown_or_is_the_end_of_a_gap(zone: str, around: int, at: time) -> None:
    day = local_date(around, zone)
    moment = local_instant(day, at, zone)
    wanted = datetime.combine(day, at)
    shown = wall_time(moment, zone)
    if shown != wanted:
        # Skipped: just before, the clocks showed less; from this moment on, more.
        assert shown > wanted
        assert wall_time(moment - 1000, zone) < wanted
    else:
        # Shown, maybe twice: never earlier than this moment.
        earlier = [m for m in range(moment - 3 * 3_600_000, moment, 60_000)]
        assert all(wall_time(m, zone) != wanted for m in earlier)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), instants, local_times, day_sets)
def test_the_next_occurrence_is_the_first_after(
    zone: str, after: int, at: time, days: frozenset[int]
) -> None:
    weekly = Weekly(days, at)
    nxt = weekly.next_after(after, zone)
    assert after < nxt <= after + 8 * 86_400_000
    assert local_date(nxt, zone).weekday() in days or wall_time(nxt, zone).time() < at
    # Nothing in between: the occurrence before it is at or before `after`.
    assert weekly.latest_until(nxt - 1, zone) <= after
    assert weekly.latest_until(nxt, zone) == nxt
    assert weekly.next_after(nxt - 1, zone) == nxt
