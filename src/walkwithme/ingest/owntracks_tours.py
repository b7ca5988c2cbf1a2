"""OwnTracks' Tours (iOS, HTTP mode), as the app says them: a tour is a link to where she is,
for a time she chooses, that she can copy and send. The app asks, in a `request` message
posted like a location (owntracks/ios, OwnTracks/Tours.m and Connection.m):

- `{"_type": "request", "request": "tour", "tour": {"label", "from", "to"}}`: make one. Its
  answer, among the others, is `{"_type": "cmd", "action": "response", "request": "tour",
  "status": 200, "tour": {..., "uuid", "url"}}`; the app copies the `url`. Any other status it
  only logs (after 10 s it says "Tour request timed out").
- `{"_type": "request", "request": "tours"}`: list them. Answered `{"_type": "cmd", "action":
  "response", "request": "tours", "tours": [...], "ntours": n}`; every tour in it must have a
  label, a from and a to that the app can read, or the app fails.
- `{"_type": "request", "request": "untour", "uuid"}`: end one. The app expects no answer.

Times are UTC, written `2022-08-01T05:35:58` (no zone), both ways. Parsing and writing only;
what a tour is here (a share link of her walk) is usecases/tours.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

MAKE, LIST, END = "tour", "tours", "untour"
MAX_LABEL = 100


@dataclass(frozen=True)
class TourRequest:
    kind: str  # MAKE, LIST or END
    label: str = ""
    from_ms: int = 0
    to_ms: int = 0
    uuid: str = ""
    problem: str | None = None  # why it can't be done as asked (answered, and kept as a refusal)


def read_request(message: dict[str, Any]) -> TourRequest | None:
    """A `request` message's tour request; None for a request of another kind."""
    kind = message.get("request")
    if kind == LIST:
        return TourRequest(LIST)
    if kind == END:
        given = message.get("uuid")
        try:
            return TourRequest(END, uuid=str(UUID(given)))  # as the service wrote it
        except (TypeError, ValueError, AttributeError):
            return TourRequest(END, problem="a tour to end needs its uuid")
    if kind != MAKE:
        return None
    tour = message.get("tour")
    if not isinstance(tour, dict):
        return TourRequest(MAKE, problem='a tour request needs its "tour": label, from and to')
    given = tour.get("label")
    # Printable characters only: a NUL or a control character is no name (and PostgreSQL
    # refuses a NUL in text).
    label = "".join(c for c in given if c.isprintable()) if isinstance(given, str) else ""
    if not label.strip():
        return TourRequest(MAKE, problem="a tour needs a label")
    start, end = _instant(tour.get("from")), _instant(tour.get("to"))
    if start is None or end is None:
        return TourRequest(MAKE, problem="a tour's from and to are times like 2026-12-05T18:30:00")
    if end <= start:
        return TourRequest(MAKE, problem="a tour ends after it starts")
    return TourRequest(MAKE, label=label.strip()[:MAX_LABEL], from_ms=start, to_ms=end)


def _instant(value: object) -> int | None:
    """Epoch ms of the app's UTC time (a zone, if one is given, is honoured); None for what
    isn't one, or is before 2000 or after 9998 (nothing a tour can mean, nor write back)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not _EARLIEST <= moment <= _LATEST:
        return None
    return int(moment.timestamp() * 1000)


_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def written(ms: int) -> str:
    """A time as the app writes and reads it: UTC, to the second, no zone."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def made(status: int, tour: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer to a `tour` request: 200 with the tour (its uuid and url), or the status
    that says why not (the app only logs it)."""
    answer: dict[str, Any] = {"_type": "cmd", "action": "response", "request": MAKE}
    answer["status"] = status
    if tour is not None:
        answer["tour"] = tour
    return answer


def listed(tours: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer to a `tours` request."""
    return {
        "_type": "cmd",
        "action": "response",
        "request": LIST,
        "tours": tours,
        "ntours": len(tours),
    }
