"""The rules' thresholds: a day profile and a stricter night one, and who may change them.

Built-in defaults first; the operator may change them for the whole server (`WWM_RULES`,
`WWM_NIGHT_HOURS`), a person for her own walks (her profile), and a walk for itself (when it
starts). Each layer changes only the rules it names. A walk keeps the thresholds it started
with (they are stored with it), so nobody's change moves the ground under a walk going on.

Every rule has bounds: a setting may make a rule stricter or more patient, never switch it
off, so no combination of settings leaves a walker unwatched.

Settings are written the same way everywhere, as rule names with a duration (a number of
seconds, or "90s", "4m", "1h") or, for `late_grace_percent`, a number:

    {"silent": "4m", "night": {"silent": "150s"}, "check_window": 120}

A name alone applies to both profiles; under "day" or "night", to that profile only. The
operator writes the same in one line: `silent=4m, night.silent=150s, check_window=120`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from walkwithme.domain.errors import Invalid
from walkwithme.domain.geo import DEFAULT_PACE_MPS

MINUTE = 60_000
SECOND = 1000


@dataclass(frozen=True)
class Thresholds:
    late_grace_min_ms: int
    late_grace_fraction: float
    stalled_ms: int
    moving_away_ms: int
    silent_ms: int
    lingering_ms: int
    check_window_ms: int


DAY = Thresholds(
    late_grace_min_ms=5 * MINUTE,
    late_grace_fraction=0.25,
    stalled_ms=5 * MINUTE,
    moving_away_ms=2 * MINUTE,
    silent_ms=3 * MINUTE,
    lingering_ms=5 * MINUTE,
    check_window_ms=90 * SECOND,
)
NIGHT = Thresholds(
    late_grace_min_ms=3 * MINUTE,
    late_grace_fraction=0.15,
    stalled_ms=3 * MINUTE,
    moving_away_ms=90 * SECOND,
    silent_ms=2 * MINUTE,
    lingering_ms=3 * MINUTE,
    check_window_ms=60 * SECOND,
)
NIGHT_STARTS, NIGHT_ENDS = 21, 6  # local hours


@dataclass(frozen=True)
class Profiles:
    """The thresholds a walk is judged by, by day and by night (by the walker's local hour)."""

    day: Thresholds = DAY
    night: Thresholds = NIGHT
    night_starts: int = NIGHT_STARTS  # the night profile from this hour...
    night_ends: int = NIGHT_ENDS  # ...to this one (it may wrap past midnight)

    def is_night(self, hour: int) -> bool:
        if self.night_starts < self.night_ends:
            return self.night_starts <= hour < self.night_ends
        return hour >= self.night_starts or hour < self.night_ends

    def at(self, now_ms: int, timezone: str) -> Thresholds:
        """Night or day, by the walker's own local time."""
        hour = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(timezone)).hour
        return self.night if self.is_night(hour) else self.day

    @property
    def both(self) -> tuple[Thresholds, Thresholds]:
        return (self.day, self.night)

    def as_json(self) -> dict[str, Any]:
        """As people read them: seconds, percentages, and the night's hours."""
        return {
            "day": _shown(self.day),
            "night": _shown(self.night),
            "night_hours": f"{self.night_starts}-{self.night_ends}",
        }

    def stored(self) -> dict[str, Any]:
        """As kept with a walk: every field exactly."""
        return asdict(self)

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> Profiles:
        """What `stored` wrote (None: a walk from before thresholds were kept with it)."""
        if not data:
            return DEFAULT_PROFILES
        return cls(
            day=Thresholds(**data["day"]),
            night=Thresholds(**data["night"]),
            night_starts=data["night_starts"],
            night_ends=data["night_ends"],
        )


DEFAULT_PROFILES = Profiles()


# -- settings: names, units, bounds ------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str  # as people write it
    attr: str  # the Thresholds field it sets
    low: float  # bounds, in the field's own unit (ms, or a fraction)
    high: float
    percent: bool = False  # written as a percentage, stored as a fraction


RULES = (
    Rule("late_grace", "late_grace_min_ms", 0, 60 * MINUTE),
    Rule("late_grace_percent", "late_grace_fraction", 0.0, 1.0, percent=True),
    Rule("stalled", "stalled_ms", 1 * MINUTE, 60 * MINUTE),
    Rule("moving_away", "moving_away_ms", 30 * SECOND, 30 * MINUTE),
    Rule("silent", "silent_ms", 30 * SECOND, 30 * MINUTE),
    Rule("lingering", "lingering_ms", 1 * MINUTE, 30 * MINUTE),
    Rule("check_window", "check_window_ms", 30 * SECOND, 10 * MINUTE),
)
_BY_NAME = {r.name: r for r in RULES}
_BY_ATTR = {r.attr: r for r in RULES}
PROFILE_NAMES = ("day", "night")

# What a layer changes: per profile, Thresholds field -> value.
Overrides = dict[str, dict[str, float]]


def _shown(t: Thresholds) -> dict[str, float]:
    return {_BY_ATTR[name].name: _written(name, value) for name, value in asdict(t).items()}


def _written(attr: str, value: float) -> float:
    """A field's value as people write it: seconds, or a percentage."""
    if _BY_ATTR[attr].percent:
        return round(value * 100, 6)
    return int(value) // SECOND if value % SECOND == 0 else value / SECOND


# "90s", "4m", "1h", and as people write them: "10 minutes", "90 secs", "1 hour" (the page
# said "write minutes or seconds", and refused "10 minutes": a review of a first walk).
_DURATION = re.compile(
    r"\s*([0-9]+(?:\.[0-9]+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)?\s*",
    re.IGNORECASE,
)
_UNIT_MS = {"s": SECOND, "m": MINUTE, "h": 60 * MINUTE}


def _value(rule: Rule, raw: object, where: str) -> float:
    """One setting's value in the field's own unit, or Invalid naming it."""
    if rule.percent:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise Invalid(f"{where} must be a percentage, from 0 to 100", field=where)
        value: float = raw / 100
    else:
        value = _duration_ms(raw, where)
    if not rule.low <= value <= rule.high:
        raise Invalid(
            f"{where} must be between {_bound(rule, rule.low)} and {_bound(rule, rule.high)}",
            field=where,
        )
    return value


def _duration_ms(raw: object, where: str) -> int:
    said = f'{where} must be a duration: seconds, or like "90s", "4m", "1h"'
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        ms = raw * SECOND
    elif isinstance(raw, str) and (match := _DURATION.fullmatch(raw)) is not None:
        unit = (match.group(2) or "s")[0].lower()
        ms = float(match.group(1)) * _UNIT_MS[unit]
    elif isinstance(raw, str) and "=" in raw:
        # "silent=4m night.silent=150s": two settings run together (an operator's review)
        raise Invalid(
            f"{said} (separate settings with commas: silent=4m, night.silent=150s)", field=where
        )
    else:
        raise Invalid(said, field=where)
    # 1e308 seconds, or 400 nines: not a number of milliseconds (its bounds say the rest).
    if not math.isfinite(ms) or abs(ms) > _LONGEST_MS:
        raise Invalid(f"{where} is far too long to be a duration", field=where)
    return int(ms)


_LONGEST_MS = 10 * 365 * 86_400_000  # beyond any rule's bound: refused as not a duration


def _bound(rule: Rule, value: float) -> str:
    if rule.percent:
        return f"{value * 100:g}%"
    if value % MINUTE == 0 and value:
        return f"{value / MINUTE:g} min"
    return f"{value / SECOND:g} s"


def parse_overrides(data: object, field: str = "rules") -> Overrides:
    """A layer's settings, checked: `{"silent": "4m", "night": {"silent": 150}}`. A name
    under "day" or "night" wins over the same name given for both."""
    if not isinstance(data, Mapping):
        raise Invalid(f"{field} must be an object of rule settings", field=field)
    found: Overrides = {"day": {}, "night": {}}
    for key, raw in data.items():
        if key not in PROFILE_NAMES:
            rule = _rule(key, field)
            value = _value(rule, raw, f"{field}.{key}")
            for profile in PROFILE_NAMES:
                found[profile][rule.attr] = value
    for profile in PROFILE_NAMES:
        if profile not in data:
            continue
        where = f"{field}.{profile}"
        settings = data[profile]
        if not isinstance(settings, Mapping):
            raise Invalid(f"{where} must be an object of rule settings", field=where)
        for name, raw in settings.items():
            rule = _rule(name, where)
            found[profile][rule.attr] = _value(rule, raw, f"{where}.{name}")
    return found


def _rule(name: object, where: str) -> Rule:
    rule = _BY_NAME.get(name) if isinstance(name, str) else None
    if rule is None:
        known = ", ".join([*PROFILE_NAMES, *_BY_NAME])
        raise Invalid(f"{where}: unknown rule {name!r} (known: {known})", field=where)
    return rule


def parse_line(text: str, field: str) -> Overrides:
    """The operator's one-line form: `silent=4m, night.silent=150s, late_grace_percent=20`."""
    data: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, value = part.partition("=")
        if not eq:
            raise Invalid(f"{field}: {part!r} is not name=value", field=field)
        profile, dot, rule = name.strip().rpartition(".")
        number: object = _number_or_text(value.strip())
        if dot:
            data.setdefault(profile, {})[rule] = number
        else:
            data[rule] = number
    return parse_overrides(data, field)


def _number_or_text(value: str) -> object:
    try:
        return float(value)
    except ValueError:
        return value


# A walker who sets a slower pace than an ordinary one (domain/geo.py, 1.3 m/s) is given more
# time before "not getting any closer" is asked, in proportion, up to half as much again: at
# 0.7 m/s with her fixes 30 to 40 m off, her progress counts every two minutes or so, and 13
# of 26 replayed walks at that pace were asked while walking (an outside replay along real
# streets). Her own stalled time, set in her settings or for the walk, is hers as set.
MOST_PATIENCE = 1.5


def for_her_pace(profiles: Profiles, pace_mps: float) -> Profiles:
    """`profiles` with the stalled rule's time lengthened for a slower walker."""
    if pace_mps <= 0:
        return profiles
    factor = min(MOST_PATIENCE, max(1.0, DEFAULT_PACE_MPS / pace_mps))
    if factor == 1.0:
        return profiles
    longest = _BY_ATTR["stalled_ms"].high

    def patient(t: Thresholds) -> Thresholds:
        seconds = round(t.stalled_ms * factor / SECOND)  # (said in whole seconds)
        return replace(t, stalled_ms=int(min(longest, seconds * SECOND)))

    return replace(profiles, day=patient(profiles.day), night=patient(profiles.night))


def hers(service: Profiles, pace_mps: float, overrides: Overrides | None) -> Profiles:
    """The thresholds a walk she starts now is judged by: the service's, for her pace, with
    her own settings on top (a walk's own come on top of these)."""
    return apply(for_her_pace(service, pace_mps), overrides)


def apply(profiles: Profiles, overrides: Overrides | None) -> Profiles:
    """`profiles` with a layer's settings on top."""
    if not overrides:
        return profiles
    return replace(
        profiles,
        day=_with(profiles.day, overrides.get("day", {})),
        night=_with(profiles.night, overrides.get("night", {})),
    )


def _with(t: Thresholds, values: Mapping[str, float]) -> Thresholds:
    changes: dict[str, Any] = {
        attr: value if _BY_ATTR[attr].percent else int(value) for attr, value in values.items()
    }
    return replace(t, **changes)


def overrides_json(overrides: Overrides) -> dict[str, dict[str, float]]:
    """A layer as people write it (seconds, percentages), for showing and keeping."""
    return {
        profile: {_BY_ATTR[attr].name: _written(attr, v) for attr, v in values.items()}
        for profile, values in overrides.items()
        if values
    }


def night_hours(text: str) -> tuple[int, int]:
    """`21-6`: the night profile from 21:00 to 06:00, local time."""
    starts, dash, ends = text.partition("-")
    try:
        hours = (int(starts), int(ends)) if dash else None
    except ValueError:
        hours = None
    if hours is None or not all(0 <= h <= 23 for h in hours) or hours[0] == hours[1]:
        raise ValueError("must be two different hours from 0 to 23, like 21-6")
    return hours
