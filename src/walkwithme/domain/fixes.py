"""A fix: one position report from a walker's phone, whatever protocol brought it.

Every adapter (the native API, OwnTracks, Traccar Client, a replayed GPX file) turns its
payload into a `Fix` and hands it to the same use case; the checks here are the same for all.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from walkwithme.domain.errors import Invalid
from walkwithme.domain.geo import distance_m
from walkwithme.domain.phone_clock import MAX_ERROR_MS

# A time further ahead of the server's clock than this (a tour's start) is refused. A fix's
# time may be up to a day ahead: the phone's clock is corrected (domain/phone_clock.py).
MAX_FUTURE_MS = 60_000
# What no phone on foot can report: refused by name, so no absurd number is ever stored.
MAX_ACCURACY_M = 100_000.0
MAX_SPEED_MPS = 1_000.0
ALTITUDE_RANGE_M = (-1_000.0, 10_000.0)
# Kept, but flagged and left out of the rules and the map.
MAX_PLAUSIBLE_ACCURACY_M = 500.0
# On the map and her last position, but not judged by the rules (progress, pace): a network
# position, by turns with GPS, broke her progress into stalled questions and told her
# companions she was slower (an outside review). During an alarm it may be all there is of
# where she is, so it is shown, with its accuracy.
MAX_JUDGED_ACCURACY_M = 150.0
MAX_PLAUSIBLE_SPEED_MPS = 200 / 3.6  # faster than any car in town: a GPS jump


@dataclass(frozen=True, slots=True)
class Fix:
    t_ms: int
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None


def read_number(item: Mapping[str, object], key: str, *, required: bool = False) -> float | None:
    value = item.get(key)
    if value is None:
        if required:
            raise Invalid(f"{key} is required", field=key)
        return None
    kind = type(value)  # (bool is not int here: `true` is no number)
    if kind is float:
        number: float = value  # type: ignore[assignment]
    elif kind is int:
        number = float(value)  # type: ignore[arg-type]
    else:
        raise Invalid(f"{key} must be a number", field=key)
    if not math.isfinite(number):
        raise Invalid(f"{key} must be a finite number", field=key)
    return number


def read_required(item: Mapping[str, object], key: str) -> float:
    number = read_number(item, key, required=True)
    assert number is not None
    return number


def parse_fix(item: object) -> Fix:
    """Read one fix of the native API: {"t": epoch ms, "lat", "lon", ...}. (Every phone's
    every fix comes through here: plain calls, no generator, exact types.)"""
    if not isinstance(item, dict):
        raise Invalid("a fix must be a JSON object")
    t = read_required(item, "t")
    lat = read_required(item, "lat")
    lon = read_required(item, "lon")
    return Fix(
        int(t),
        lat,
        lon,
        read_number(item, "accuracy"),
        read_number(item, "speed"),
        read_number(item, "bearing"),
        read_number(item, "altitude"),
        read_number(item, "battery"),
    )


def check_fix(fix: Fix, now_ms: int) -> None:
    """Refuse, by name, what can't be a position. Raises `Invalid`."""
    if fix.t_ms <= 0:
        raise Invalid("t must be a positive epoch time in milliseconds", field="t")
    if fix.t_ms > now_ms + MAX_ERROR_MS:
        raise Invalid(
            "t is in the future, more than a day ahead of the server's clock: check the phone's "
            "clock",
            field="t",
        )
    if not -90 <= fix.lat <= 90:
        raise Invalid("lat must be between -90 and 90", field="lat")
    if not -180 <= fix.lon <= 180:
        raise Invalid("lon must be between -180 and 180", field="lon")
    for reading in READINGS:
        value = getattr(fix, reading.attr)
        if value is not None and not reading.low <= value <= reading.high:
            raise Invalid(reading.refusal, field=reading.field)


class Reading(NamedTuple):
    """One of a fix's optional readings: its name in `Fix` and in the API, and its bounds."""

    attr: str
    field: str
    low: float
    high: float
    unit: str = ""

    @property
    def refusal(self) -> str:
        return f"{self.field} must be between {self.low:g} and {self.high:g}{self.unit}"


READINGS = (
    Reading("accuracy_m", "accuracy", 0.0, MAX_ACCURACY_M, " (metres)"),
    Reading("speed_mps", "speed", 0.0, MAX_SPEED_MPS, " (m/s)"),
    Reading("altitude_m", "altitude", *ALTITUDE_RANGE_M, " (metres)"),
    Reading("bearing_deg", "bearing", 0.0, 360.0),
    Reading("battery_pct", "battery", 0.0, 100.0),
)


def without_impossible_extras(fix: Fix) -> tuple[Fix, list[str]]:
    """A phone's fix without each reading out of its bounds, and what was left out.

    The phone apps' doors take a position whose battery or speed is out of bounds rather than
    refuse it: the app is answered 200 either way and never sends it again, so a refusal would
    lose where she was for a reading nobody needs to find her. Real apps send such readings:
    OwnTracks for Android sends the battery's raw level, never scaled to 100 on a phone whose
    scale isn't; an unknown speed or bearing comes as -1 from several.

    Not its accuracy, which says whether the position itself can be trusted: one vaguer than
    any bound is kept as vague as the bound (flagged inaccurate, out of the rules and the
    map), never as a position of unknown, so exact, accuracy; a negative one is refused
    (OwnTracks for iOS: the position itself is invalid)."""
    out = [
        reading
        for reading in READINGS
        if reading.attr != "accuracy_m"
        and (value := getattr(fix, reading.attr)) is not None
        and not reading.low <= value <= reading.high
    ]
    said = [f"{r.refusal}: left out" for r in out]
    changed: dict[str, Any] = {r.attr: None for r in out}
    if fix.accuracy_m is not None and fix.accuracy_m > MAX_ACCURACY_M:
        changed["accuracy_m"] = MAX_ACCURACY_M
        said.append(f"accuracy over {MAX_ACCURACY_M:g} m: taken as that (too vague to use)")
    if not changed:
        return fix, []
    return replace(fix, **changed), said


def implausibility(fix: Fix, previous: Fix | None) -> str | None:
    """Why a well-formed fix can't be trusted, or None.

    `previous` is the last trusted fix before this one in time (not in arrival order).
    """
    if fix.accuracy_m is not None and fix.accuracy_m > MAX_PLAUSIBLE_ACCURACY_M:
        return "inaccurate"
    if previous is not None:
        dt_s = (fix.t_ms - previous.t_ms) / 1000
        moved = distance_m(previous.lat, previous.lon, fix.lat, fix.lon)
        # Allow for the two fixes' own uncertainty before calling it a jump.
        slack = (fix.accuracy_m or 0) + (previous.accuracy_m or 0)
        if moved - slack > MAX_PLAUSIBLE_SPEED_MPS * max(dt_s, 1.0):
            return JUMP
    return None


JUMP = "jump"
# Fixes in a row, each a jump from the trusted fix before them, that agree with each other:
# then the trusted one was wrong, not they (see `a_run_that_agrees`).
AGREEING_RUN = 3


def a_run_that_agrees(jumps_before: list[Fix], fix: Fix) -> bool:
    """Whether `fix`, a jump from the last trusted fix, is the last of `AGREEING_RUN` fixes
    in a row (`jumps_before`: the ones just before it, in time order, each a jump too) that
    are plausible from each other. A phone's first position is often stale (where it last
    knew itself, kilometres away) or a reflection between tall buildings: every true fix
    after it would be a jump from it, and she would be frozen there on the map and counted
    as silent. A single wild fix is still kept out; a run that agrees moves the track."""
    if len(jumps_before) < AGREEING_RUN - 1:
        return False
    run = [*jumps_before[-(AGREEING_RUN - 1) :], fix]
    return all(implausibility(b, a) is None for a, b in itertools.pairwise(run))
