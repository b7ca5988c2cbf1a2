"""When a live stream decides again whether its viewer may still see the walk (api/live.py):
after a quiet time without news, and at least that often while news keeps coming."""

from __future__ import annotations

import asyncio


class Recheck:
    """Rings a stream's bell after `after_s` without news, so that it decides again whether
    she may still see the walk; and says a wake for news is a check too once `after_s` have
    passed since the last one. One timer a stream, put off lazily: every wake only notes the
    time, where a timeout around each wait made and cancelled a timer for every fix.

    Why both: what ends her access rings the bell in this process, but not from another
    (a `walkwithme people reset-password` on SQLite, next to `serve`): with a fix every few
    seconds the quiet never came, and a companion locked out by the operator went on
    receiving her positions for as long as her phone reported (an outside attack review)."""

    def __init__(self, rung: asyncio.Event, after_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._rung = rung
        self._after_s = after_s
        self._news_at = self._loop.time()
        self._checked_at = self._news_at
        self._due_passed = False
        self._timer = self._loop.call_at(self._news_at + after_s, self._due)

    def _due(self) -> None:
        due = self._news_at + self._after_s
        if self._loop.time() < due:  # news came meanwhile: the quiet starts from there
            self._timer = self._loop.call_at(due, self._due)
            return
        self._due_passed = True
        self._rung.set()

    def rang(self) -> bool:
        """After a wake: whether it was (also) the quiet's, or the last check was `after_s`
        ago or more; the quiet starts again now."""
        self._news_at = now = self._loop.time()
        if not self._due_passed:
            if now - self._checked_at < self._after_s:
                return False
            self._checked_at = now
            return True
        self._due_passed = False
        self._checked_at = now
        self._timer = self._loop.call_at(now + self._after_s, self._due)
        return True

    def cancel(self) -> None:
        self._timer.cancel()
