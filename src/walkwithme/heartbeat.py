"""An outbound heartbeat to an external dead man's switch (a healthchecks.io check, an uptime
monitor's push URL), so that someone notices when the whole server is down: a server that is
down can't raise its own alarm.

It is sent only while the watchdog is alive and the database takes writes: a watchdog that
is stuck, or a full disk that refuses every phone's fix (a beat went on every minute through
one: an outside review), stops the heartbeat, and the switch raises the alarm then too.
The URL is the operator's own, so it may be on their private network.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import httpx2

from walkwithme.background import BackgroundLoop
from walkwithme.clock import Clock
from walkwithme.notify import outbound
from walkwithme.store.health import takes_writes
from walkwithme.store.writer import Writer
from walkwithme.watchdog import Watchdog

log = logging.getLogger(__name__)

LOOK_EVERY_S = 5.0  # how often the loop asks itself whether a beat is due (real seconds)


@dataclass
class Heartbeat:
    url: str
    clock: Clock
    watchdog: Watchdog
    every_s: float = 60.0  # real seconds between beats
    writer: Writer | None = None  # asked to write before each beat (None: not asked)
    http: outbound.Outbound = field(default_factory=outbound.Outbound)  # the services' client
    last_sent_ms: int | None = None
    sent: int = 0
    failures: int = 0
    failing: int = 0  # failures since the last beat that arrived (`walkwithme check` says it)
    last_problem: str | None = None
    _loop: BackgroundLoop = field(init=False)

    def __post_init__(self) -> None:
        self._loop = BackgroundLoop("wwm-heartbeat", self._run)

    async def tick(self) -> bool:
        """Send a beat if one is due and the watchdog is alive; True if one was sent."""
        now = self.clock.now_ms()
        if self.watchdog.last_beat_ms is None or self.watchdog.stuck():
            return False  # silence is the message: the switch will raise its alarm
        every_ms = self.every_s * 1000 * self.clock.speed  # the clock may run fast
        if self.last_sent_ms is not None and now - self.last_sent_ms < every_ms:
            return False
        if self.writer is not None and not await takes_writes(self.writer):
            self._failed("the database takes no writes")
            return False
        try:
            response = await self.http.post(self.url, b"", {}, allow_private=True)
            ok = response.status_code < 400
            problem = f"HTTP {response.status_code}"
        except (httpx2.HTTPError, outbound.Refused, OSError) as exc:
            ok, problem = False, type(exc).__name__
        if not ok:
            self._failed(problem)
            return False
        if self.failing:
            log.warning("the heartbeat reaches the dead man's switch again")
        self.last_sent_ms = now
        self.sent += 1
        self.failing = 0
        return True

    def _failed(self, problem: str) -> None:
        self.failures += 1
        self.failing += 1
        self.last_problem = problem
        # Tried again at each look, said at the 1st, 2nd, 4th, 8th... failure in a row: a
        # dead switch wrote a warning every 5 s, 720 an hour (an operator's review).
        if self.failing & (self.failing - 1) == 0:
            log.warning(
                "the heartbeat to the dead man's switch failed (%s), %d time%s in a row",
                problem,
                self.failing,
                "" if self.failing == 1 else "s",
            )

    def tick_sync(self) -> bool:
        return outbound.run_alone(self.tick, self.http)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(LOOK_EVERY_S)
