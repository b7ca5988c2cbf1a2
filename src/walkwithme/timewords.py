"""Times in words, said alike by the pages (web/words.py) and by alerts (notify/times.py): a
time zone by its name, how long, and how long ago."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: object) -> ZoneInfo:
    """The named IANA zone; UTC for none, or for a name this machine doesn't know."""
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def ago(at_ms: int, now_ms: int) -> str:
    """ "just now", "40 s ago", "3 min ago", "2 h 5 min ago" (to the minute: an alert late
    by hours, or a page left open, would not say which hour otherwise)."""
    if now_ms - at_ms < 10_000:
        return "just now"
    return f"{span(now_ms - at_ms)} ago"


def span(ms: int) -> str:
    """How long, to the minute past the first: "40 s", "3 min", "2 h 5 min"."""
    seconds = max(0, ms // 1000)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def distance(metres: float) -> str:
    """ "1.2 km", "340 m": a distance as a person says it; to 10 m (to 100 m from a km), a
    half up, as the live pages' words.js says it the same way: Python's `round` said "340 m"
    when the page loaded, and the page "350 m" at its first position (and 999 m was "1000 m")."""
    tens = math.floor(metres / 10 + 0.5) * 10
    if tens < 1000:
        return f"{tens:.0f} m"
    return f"{math.floor(metres / 100 + 0.5) / 10:.1f} km"
