"""The one place that reads the wall clock.

Everything else asks a `Clock` for the time, so tests can move a `FakeClock` and the
service can run faster than real time for demos and drills (`--clock-speed`).
Times are milliseconds since the Unix epoch (UTC) everywhere in the code and the database:
integers compare and store the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Protocol

# A drill's clock runs at most this many times faster than real time: faster, and processing
# time would distort a walk.
MAX_DRILL_SPEED = 100.0


class Clock(Protocol):
    @property
    def speed(self) -> float:
        """How many times faster than real time this clock runs (1.0 = real time)."""
        ...

    def now_ms(self) -> int: ...


class JumpingClock(Clock, Protocol):
    """A clock that can be moved forward: only in demos, drills and tests."""

    def jump(self, ms: int) -> None: ...


class SystemClock:
    """Real time, optionally sped up from the moment the clock was made."""

    def __init__(
        self, speed: float = 1.0, origin_ms: int | None = None, state: Path | None = None
    ) -> None:
        """`origin_ms`: what the clock shows now (by default, the real time). `state`: where
        a fast clock keeps its origin (see `fast_clock`)."""
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._speed = speed
        self._origin_ms = time.time_ns() // 1_000_000 if origin_ms is None else origin_ms
        self._origin_mono = time.monotonic_ns()
        self._state = state
        # Plain real time: read straight from the system (a clock given its own "now", even
        # at real speed, counts from it).
        self._real = speed == 1.0 and origin_ms is None and state is None

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        if self._real:
            return time.time_ns() // 1_000_000
        elapsed_ns = time.monotonic_ns() - self._origin_mono
        return self._origin_ms + int(elapsed_ns * self._speed / 1_000_000)

    def jump(self, ms: int) -> None:
        """Move the clock forward (demos and drills only: "the next evening" in no real time).
        Only a clock that keeps its state can jump, and the jump is kept across restarts."""
        if self._state is None:
            raise RuntimeError("only a demo or drill clock can jump")
        if ms <= 0:
            raise ValueError("the clock only jumps forward")
        self._origin_ms += ms
        saved = json.loads(self._state.read_text())
        saved["clock_ms"] += ms
        saved["jumped"] = True  # this folder's time is a drill's from now on
        _save(self._state, saved)


def _save(state: Path, saved: dict[str, Any]) -> None:
    """Kept as the data folder's other files are: for the service's account alone (0600,
    whatever the umask)."""
    fd = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file made before, by an older version, too
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(saved))


def was_jumped(state: Path) -> bool:
    """A drill jumped this clock: the data folder's times are not the real ones any more."""
    try:
        return bool(json.loads(state.read_text()).get("jumped"))
    except (OSError, ValueError, AttributeError):
        return False


def ahead_of_real(state: Path) -> int:
    """How far (ms) the fast clock kept in `state` shows ahead of real time now, at the speed
    it ran (0: none kept, or not ahead). A folder served at `--clock-speed 50` for a minute is
    an hour ahead: served at real time after it, its clock would run back."""
    try:
        saved = json.loads(state.read_text())
        real_now = time.time_ns() // 1_000_000
        shown = saved["clock_ms"] + (real_now - saved["real_ms"]) * float(saved["speed"])
        return max(0, int(shown - real_now))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0


def fast_clock(speed: float, state: Path) -> SystemClock:
    """A fast clock that goes on where it was across restarts, and keeps running while the
    service is down (so a drill can kill the server and find what fell due meanwhile).

    Its origin (a real instant and the clock's time at that instant) is kept in `state`; a
    new speed starts from the time the old clock shows now, so time never jumps back."""
    real_now = time.time_ns() // 1_000_000
    state.parent.mkdir(parents=True, exist_ok=True)
    try:
        saved = json.loads(state.read_text())
        old_speed = float(saved["speed"])
        shown = int(saved["clock_ms"] + (real_now - saved["real_ms"]) * old_speed)
    except (OSError, ValueError, KeyError, TypeError):
        saved, shown = None, real_now
    if saved is None or old_speed != speed:
        saved = {"speed": speed, "real_ms": real_now, "clock_ms": shown}
        _save(state, saved)
    shown_now = int(saved["clock_ms"] + (real_now - saved["real_ms"]) * speed)
    return SystemClock(speed, shown_now, state)


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, start_ms: int = 1_780_000_000_000) -> None:
        self._now = start_ms

    @property
    def speed(self) -> float:
        return 1.0

    def now_ms(self) -> int:
        return self._now

    def advance(self, *, seconds: float = 0, minutes: float = 0) -> None:
        self._now += int((seconds + 60 * minutes) * 1000)

    def jump(self, ms: int) -> None:
        if ms <= 0:
            raise ValueError("the clock only jumps forward")
        self._now += ms

    def set(self, now_ms: int) -> None:
        self._now = now_ms
