"""When, in an alert's words: clock times in the zone of whoever reads it, and how long ago,
as of when it is sent.

An alert's payload keeps times as epoch milliseconds (`at`, `last_position.t`), fixed when
it is made. Its words are said as it is sent (`with_times`, by the notifier, with its own
clock): an email that goes out after an hour of retries says "Last seen at 23:34 (1 h 4 min
ago)", not the "3 min ago" that was true when the alarm was made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from walkwithme.timewords import ago, span, zone


def with_times(
    payload: dict[str, Any],
    now_ms: int,
    timezone: str | None,
    walker_timezone: str | None = None,
) -> dict[str, Any]:
    """The alert as it is sent now: `sent_at`, the zone its words are said in (`timezone`:
    the recipient's own), her walk's zone where it is another (`walker_timezone`: a guardian
    abroad read "Raised at 15:57" of her alarm at 22:57 at night), and the age of her last
    position as of now (`age_s`), from when it was taken (`t`). The payload in the outbox is
    left as it was made."""
    said = {**payload, "sent_at": now_ms}
    if timezone:
        said["timezone"] = timezone
    if (
        walker_timezone
        and timezone
        and _offset(walker_timezone, now_ms) != _offset(timezone, now_ms)
    ):
        said["walker_timezone"] = walker_timezone
    for key in ("last_position", "position"):
        last = payload.get(key)
        if isinstance(last, dict) and isinstance(last.get("t"), int):
            said[key] = {**last, "age_s": max(0, (now_ms - last["t"]) // 1000)}
    return said


def _offset(tz: str, at_ms: int) -> timedelta | None:
    """The zone's offset from UTC then: two names of one clock (Europe/Helsinki and
    Europe/Riga) are one time."""
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone(tz)).utcoffset()


def her_time(at_ms: int, payload: dict[str, Any], name: str) -> str | None:
    """ "22:57 by Mira's clock": a time of the alert's by her profile's zone, for a reader in
    another (None in the same one). Her zone, not where she is: she may be travelling."""
    tz = payload.get("walker_timezone")
    if not tz:
        return None
    now = _ms(payload.get("sent_at")) or at_ms
    return f"{clock(at_ms, now, tz)} by {name}'s clock"


def clock(at_ms: int, now_ms: int, tz: object) -> str:
    """ "23:34"; "23:34 yesterday", or "23:34 on Fri 5 Dec", when that is not today where
    she who reads it is."""
    where = zone(tz)
    at = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(where)
    today = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(where).date()
    if at.date() == today:
        return f"{at:%H:%M}"
    if at.date() == today - timedelta(days=1):
        return f"{at:%H:%M} yesterday"
    return f"{at:%H:%M} on {at:%a} {at.day} {at:%b}"


def when(at_ms: int, payload: dict[str, Any]) -> str:
    """ "23:34 (3 min ago)": a time of the alert's, in its reader's zone, as of when it is
    sent (or, not yet sent, as of when it was made)."""
    now = _ms(payload.get("sent_at"))
    if now is None:
        now = _ms(payload.get("at"))
    if now is None:
        now = at_ms
    return f"{clock(at_ms, now, payload.get('timezone'))} ({ago(at_ms, now)})"


def _ms(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def time_of(payload: dict[str, Any], key: str) -> int | None:
    """A time the payload carries (epoch ms), if it carries one."""
    return _ms(payload.get(key))


def answer_by(by_ms: int, payload: dict[str, Any]) -> str:
    """ "Answer by 23:41 (1 min from now).": her time to answer "Are you OK?", as of when the
    alert is sent; "(the time is up)" once it has passed (the alert came late)."""
    now = _ms(payload.get("sent_at")) or _ms(payload.get("at")) or by_ms
    left = "the time is up" if by_ms <= now else f"{span(by_ms - now)} from now"
    return f"Answer by {clock(by_ms, now, payload.get('timezone'))} ({left})."
