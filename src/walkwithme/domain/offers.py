"""Offers' times, in people's own local time: "tomorrow at 20:00", "every weekday at 22:00".

Pure: no I/O, no wall clock. Instants are epoch milliseconds (UTC), as everywhere else; a
local time is turned into an instant in a named IANA zone, and the daylight-saving changes
are decided here, once:

- a local time that doesn't exist (the spring gap, 03:30 in Helsinki on the last Sunday of
  March) means the first valid moment after the gap (04:00 there);
- a local time that exists twice (the autumn repeat, 03:30 on the last Sunday of October)
  means the first of the two (03:30 summer time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from walkwithme.domain.errors import Invalid

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekend": frozenset({5, 6}),
}
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- reading what people type ------------------------------------------------------------------


def parse_time(text: str, field: str = "time") -> time:
    """'20:00' (or '8:05'): hours and minutes of a 24-hour clock."""
    found = _TIME.fullmatch(text.strip())
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        raise Invalid("time must be HH:MM, 00:00 to 23:59", field=field)
    return time(int(found[1]), int(found[2]))


def parse_day(text: str, today: date, field: str = "day") -> date:
    """'today', 'tomorrow' or 'YYYY-MM-DD', relative to `today` (a local date)."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if _DATE.fullmatch(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            pass
    raise Invalid("day must be today, tomorrow or a date YYYY-MM-DD", field=field)


def parse_days(value: str | list[str], field: str = "days") -> frozenset[int]:
    """'weekdays', 'weekend', 'daily', or a list of day names ('mon' ... 'sun').
    Monday is 0, as in `date.weekday()`."""
    if isinstance(value, str):
        days = DAY_SETS.get(value.strip().lower())
        if days is None:
            raise Invalid("days must be weekdays, weekend, daily or a list of days", field=field)
        return days
    try:
        chosen = frozenset(DAY_NAMES.index(name.strip().lower()[:3]) for name in value)
    except ValueError:
        raise Invalid(f"days are named {', '.join(DAY_NAMES)}", field=field) from None
    if not chosen:
        raise Invalid("give at least one day", field=field)
    return chosen


def days_mask(days: frozenset[int]) -> int:
    """A set of weekdays as a small integer (bit 0: Monday), for storage."""
    return sum(1 << d for d in days)


def days_of(mask: int) -> frozenset[int]:
    return frozenset(d for d in range(7) if mask >> d & 1)


def day_names(days: frozenset[int]) -> list[str]:
    return [DAY_NAMES[d] for d in sorted(days)]


# -- local time and instants -------------------------------------------------------------------


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000


def wall_time(at_ms: int, tz: str) -> datetime:
    """The local date and time at an instant, without its zone (seconds precision)."""
    return datetime.fromtimestamp(at_ms // 1000, ZoneInfo(tz)).replace(tzinfo=None)


def local_date(at_ms: int, tz: str) -> date:
    return wall_time(at_ms, tz).date()


def local_instant(day: date, at: time, tz: str) -> int:
    """The instant when clocks in `tz` show `at` on `day`: the first of two if the time is
    repeated, the end of the gap if it is skipped."""
    return local_instants(day, at, tz)[0]


def local_instants(day: date, at: time, tz: str) -> list[int]:
    """Every instant when clocks in `tz` show `at` on `day`, in order: two in the hour the
    clocks show twice, one otherwise (the end of the gap if it is skipped)."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, at)
    candidates = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = [c for c in candidates if c.astimezone(zone).replace(tzinfo=None) == wall]
    if real:
        return sorted({_ms(c) for c in real})
    # Skipped: the change happened between the two readings; find its very second.
    low, high = (int(c.timestamp()) for c in sorted(candidates))
    while low < high:
        middle = (low + high) // 2
        if wall_time(middle * 1000, tz) > wall:
            high = middle
        else:
            low = middle + 1
    return [low * 1000]


def describe(at_ms: int, tz: str) -> str:
    """'Tue 27 Oct 20:00': how a moment reads in someone's own time zone."""
    shown = wall_time(at_ms, tz)
    return f"{DAY_NAMES[shown.weekday()].title()} {shown.day} {shown:%b %H:%M}"


# -- recurrence --------------------------------------------------------------------------------

# A local time falls on its own date, or just after midnight when a gap swallows midnight:
# looking a week and two days around an instant always finds the occurrence next to it.
_SPAN_DAYS = 9


@dataclass(frozen=True)
class Weekly:
    """Every one of `days` (0 = Monday) at `at`, local time in the zone it is asked in."""

    days: frozenset[int]
    at: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("a weekly recurrence needs days between 0 and 6")

    def next_after(self, after_ms: int, tz: str) -> int:
        """The first occurrence strictly after `after_ms`."""
        start = local_date(after_ms, tz) - timedelta(days=1)
        for offset in range(_SPAN_DAYS):
            day = start + timedelta(days=offset)
            if day.weekday() in self.days:
                moment = local_instant(day, self.at, tz)
                if moment > after_ms:
                    return moment
        raise AssertionError("a weekly recurrence always occurs within a week")

    def latest_until(self, until_ms: int, tz: str) -> int:
        """The last occurrence at or before `until_ms`."""
        start = local_date(until_ms, tz) + timedelta(days=1)
        for offset in range(_SPAN_DAYS):
            day = start - timedelta(days=offset)
            if day.weekday() in self.days:
                moment = local_instant(day, self.at, tz)
                if moment <= until_ms:
                    return moment
        raise AssertionError("a weekly recurrence always occurs within a week")
