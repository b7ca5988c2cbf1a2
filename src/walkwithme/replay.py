"""`walkwithme replay`: a recorded walk (GPX) posted to a running service through the fix
path, as her phone would have sent it, at a chosen speed: for drills and bug reports.

Each point becomes a fix of the device whose token is given, timed by the service's own
clock (which may run fast, in a drill): the recorded gaps between points, divided by
`speed`, pass on that clock between one fix and the next. Points without a time are spaced
at a walking pace. The fixes take the one fix path (`POST /api/fixes`), so the walk's rules,
its companions' live view and its alarms all see them as they would a phone's.
"""

from __future__ import annotations

import itertools
import math
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx2

from walkwithme.domain.geo import distance_m

WALKING_MPS = 1.4  # the pace for points that carry no time


class ReplayError(Exception):
    pass


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    t_ms: int | None  # when it was recorded, if the file says
    ele: float | None = None


def read_gpx(path: Path) -> list[Point]:
    """The track points (or else the route points) of a GPX file, in order."""
    try:
        # The operator's own file; expat (3.11+) refuses entity expansion attacks.
        root = ET.parse(path).getroot()  # noqa: S314
    except (OSError, ET.ParseError) as exc:
        raise ReplayError(f"can't read {path}: {exc}") from None
    found = [e for e in root.iter() if _name(e) == "trkpt"] or [
        e for e in root.iter() if _name(e) == "rtept"
    ]
    points = [_point(e) for e in found]
    if not points:
        raise ReplayError(f"{path} has no track or route points")
    return points


def _name(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _point(element: ET.Element) -> Point:
    try:
        lat, lon = float(element.attrib["lat"]), float(element.attrib["lon"])
    except (KeyError, ValueError):
        raise ReplayError("a point without a readable lat and lon") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ReplayError(f"a point out of range: {lat}, {lon}")
    values = {_name(child): (child.text or "").strip() for child in element}
    return Point(lat, lon, _time(values.get("time")), _number(values.get("ele")))


def _time(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise ReplayError(f"a point's time is not ISO-8601: {text!r}") from None


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def offsets_ms(points: list[Point]) -> list[int]:
    """When each point comes after the first, as recorded (or at a walking pace where a
    time is missing or goes backwards)."""
    found = [0]
    for before, point in itertools.pairwise(points):
        walked = distance_m(before.lat, before.lon, point.lat, point.lon) / WALKING_MPS * 1000
        recorded = (
            point.t_ms - before.t_ms if point.t_ms is not None and before.t_ms is not None else None
        )
        gap = recorded if recorded is not None and recorded >= 0 else int(walked)
        found.append(found[-1] + gap)
    return found


_SPEED = re.compile(r"^\s*([0-9.]+)x")


@dataclass
class Replay:
    """Posts the points through `client` (a service's address), sleeping with `sleep`
    between them (real seconds)."""

    client: httpx2.Client
    token: str
    sleep: Callable[[float], None] = time.sleep

    def run(
        self, points: list[Point], speed: float = 1.0, progress: Callable[[int], None] | None = None
    ) -> dict[str, int]:
        if not speed > 0 or not math.isfinite(speed):
            raise ReplayError("the speed must be a positive number")
        start, clock_speed = self._service_clock()
        counts: dict[str, int] = {}
        waited_ms = 0
        for index, (point, offset) in enumerate(zip(points, offsets_ms(points), strict=True)):
            due = int(offset / speed)  # on the service's clock, after the first fix
            if due > waited_ms:
                self.sleep((due - waited_ms) / 1000 / clock_speed)
                waited_ms = due
            status = self._post(point, start + due)
            counts[status] = counts.get(status, 0) + 1
            if progress is not None:
                progress(index + 1)
        return counts

    def _service_clock(self) -> tuple[int, float]:
        """The service's time now, and how fast its clock runs (a drill's may be faster)."""
        try:
            answer = self.client.get("/healthz")
        except httpx2.HTTPError as exc:
            raise ReplayError(f"can't reach the service: {exc}") from None
        if answer.status_code != 200:
            raise ReplayError(f"the service answered {answer.status_code}")
        announced = _SPEED.match(answer.headers.get("x-walkwithme-clock", ""))
        return int(answer.json()["now"]), float(announced.group(1)) if announced else 1.0

    def _post(self, point: Point, t_ms: int) -> str:
        fix: dict[str, float | int] = {"t": t_ms, "lat": point.lat, "lon": point.lon}
        if point.ele is not None:
            fix["altitude"] = point.ele
        try:
            answer = self.client.post(
                "/api/fixes",
                json={"fixes": [fix]},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx2.HTTPError as exc:
            raise ReplayError(f"can't reach the service: {exc}") from None
        if answer.status_code != 200:
            raise ReplayError(f"the service answered {answer.status_code}: {answer.text[:200]}")
        status: str = answer.json()["results"][0]["status"]
        return status
