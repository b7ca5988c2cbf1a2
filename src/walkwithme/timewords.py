"""Times in words, said alike by the pages (web/words.py) and by alerts (notify/times.py): a
time zone by its name, and how long ago."""

from __future__ import annotations

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
    seconds = max(0, (now_ms - at_ms) // 1000)
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
