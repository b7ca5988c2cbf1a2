"""The watchdog: wakes when the earliest walk falls due, runs the rules on every walk that is
due, and writes what they decided (through the writer, like everything else).

Deadlines live in the database (`walks.next_due_at`), so a watchdog that was down finds
everything that fell due meanwhile on its first look. A walk whose judging fails is looked at
again a minute later instead of stopping the watchdog, and the failure is logged loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from walkwithme.clock import Clock
from walkwithme.store.database import Database
from walkwithme.store.writer import StorageUnavailable, Tx, Writer
from walkwithme.usecases import alarms

log = logging.getLogger(__name__)

# The longest the watchdog sleeps, in real seconds and in the service's own clock time; it
# looks again sooner when a walk falls due sooner. New walks are never due in less than a
# minute, so a short cap needs no wake-up call from the writer.
MAX_SLEEP_S = 5.0
MAX_SLEEP_CLOCK_MS = 20_000
RETRY_POISON_MS = 60_000


@dataclass
class Watchdog:
    db: Database
    writer: Writer
    clock: Clock
    has_hook: bool = False  # the operator configured an emergency hook (the ladder's top)
    last_beat_ms: int | None = None
    decided: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    # How long after their due time decisions were taken (for /metrics).
    late_count: int = 0
    late_sum_ms: int = 0
    late_max_ms: int = 0
    _task: asyncio.Task[None] | None = None

    # -- one look ----------------------------------------------------------------------------

    def tick_sync(self) -> list[str]:
        """One look, from a thread that isn't the service's event loop (tests, tools). The
        writer must be running."""
        return asyncio.run(self.tick())

    async def tick(self) -> list[str]:
        """Judge every walk that is due now."""
        now = self.clock.now_ms()
        decisions: list[str] = []
        for walk_id, seen_due in await self.db.read(partial(alarms.due_walks, now_ms=now)):
            try:
                decision = await self.writer.run(
                    partial(
                        alarms.judge, walk_id=walk_id, seen_due=seen_due, has_hook=self.has_hook
                    )
                )
            except StorageUnavailable:
                # The database, not the walk: stop this look, the loop tries again in moments
                # (postponing the walk would delay its alarm).
                log.warning("the watchdog could not write; it looks again shortly")
                break
            except Exception:
                self._failed(walk_id)
                await self.writer.run(self._postpone(walk_id, seen_due))
                continue
            self._count(decisions, decision)
            if decision:
                self._lateness(max(0, now - seen_due))
        self.last_beat_ms = now
        return decisions

    def _count(self, decisions: list[str], decision: str | None) -> None:
        if decision:
            decisions.append(decision)
            self.decided[decision] += 1

    def _lateness(self, late_ms: int) -> None:
        self.late_count += 1
        self.late_sum_ms += late_ms
        self.late_max_ms = max(self.late_max_ms, late_ms)

    def _failed(self, walk_id: int) -> None:
        log.exception("the watchdog could not judge walk %s; it looks again later", walk_id)
        self.failures += 1

    @staticmethod
    def _postpone(walk_id: int, seen_due: int) -> Callable[[Tx], None]:
        return partial(
            alarms.postpone, walk_id=walk_id, seen_due=seen_due, delay_ms=RETRY_POISON_MS
        )

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="wwm-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
                earliest = await self.db.read(alarms.earliest_due)
            except Exception:  # the database is away: keep trying, loudly
                log.exception("the watchdog's look failed; trying again")
                self.failures += 1
                earliest = None
            await asyncio.sleep(self.sleep_s(earliest))

    def sleep_s(self, earliest_due: int | None) -> float:
        cap_ms = MAX_SLEEP_CLOCK_MS
        if earliest_due is not None:
            cap_ms = min(cap_ms, max(0, earliest_due - self.clock.now_ms()))
        return min(MAX_SLEEP_S, cap_ms / self.clock.speed / 1000)

    def stuck(self) -> bool:
        """No look for much longer than it ever sleeps: the loop has died or hangs."""
        if self.last_beat_ms is None:
            return False
        silent_real_s = (self.clock.now_ms() - self.last_beat_ms) / self.clock.speed / 1000
        return silent_real_s > 6 * MAX_SLEEP_S
