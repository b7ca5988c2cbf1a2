"""The watchdog: wakes when the earliest walk falls due, runs the rules on every walk that is
due, and writes what they decided (through the writer, like everything else).

Deadlines live in the database (`walks.next_due_at`; offers' reminders and recurring
occurrences, usecases/offer_times.py), so a watchdog that was down finds everything that fell
due meanwhile on its first look. A walk (or an offer's time) whose judging fails is looked at
again a minute later instead of stopping the watchdog, and the failure is logged loudly.

Before "Are you OK?" for silence or a stall, her phone may be asked for a fresh fix first
(domain/fresh_fix.py): the decision is the walk's (`walks.fix_asked_at`, committed like any
other), and the question goes out through `phones` (the MQTT bridge), after the commit. A
process without the bridge asks no phone: its checks go out at once, as before, and a wait
another process started is honoured all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.background import BackgroundLoop
from walkwithme.clock import Clock
from walkwithme.domain.keeping import Keeping
from walkwithme.store.database import Database, StorageUnavailable
from walkwithme.store.schema import walks
from walkwithme.store.tx import Tx
from walkwithme.store.writer import Writer
from walkwithme.usecases import deletion, devices, judging, offer_times, retention

log = logging.getLogger(__name__)

# The longest the watchdog sleeps, in real seconds and in the service's own clock time; it
# looks again sooner when a walk falls due sooner. New walks are never due in less than a
# minute, so a short cap needs no wake-up call from the writer.
MAX_SLEEP_S = 5.0
MAX_SLEEP_CLOCK_MS = 20_000
RETRY_POISON_MS = 60_000
JUDGE_BATCH = 50  # due walks handed to the writer at once
DUE_PER_LOOK = 500  # due walks a look reads (more wait for the next look, at once)


class Phones(Protocol):
    """Who can ask her phones for a fresh position (the MQTT bridge, mqtt_bridge.py)."""

    def can_ask(self) -> bool:
        """A question published now would reach the broker."""
        ...

    async def ask_for_position(self, walk_id: int) -> int:
        """Ask the phones of the walk's walker for their position; how many were asked."""
        ...


@dataclass
class Watchdog:
    db: Database
    writer: Writer
    clock: Clock
    has_hook: bool = False  # the operator configured an emergency hook (the ladder's top)
    keeping: Keeping = field(default_factory=Keeping)  # how long walks are kept once over
    phones: Phones | None = None  # this process follows the MQTT broker: it can ask phones
    judge_batch: int = JUDGE_BATCH
    last_beat_ms: int | None = None
    # A look has judged everything that was due (after a restart: all that fell due while the
    # service was down), and could write it.
    caught_up: bool = False
    decided: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    # How long after their due time decisions were taken (for /metrics).
    late_count: int = 0
    late_sum_ms: int = 0
    late_max_ms: int = 0
    _loop: BackgroundLoop = field(init=False)
    _more_due: bool = False
    # Its own looks refused by the database (a fault only reads met: PostgreSQL out of reach,
    # a phone's post failing at its token, no write tried): since when, and the fault as it
    # was once a look read again. Not any read of the process's: a trickle of them refused
    # elsewhere held off a silent phone's alarm (a review of this change).
    _looks_refused_since: int | None = None
    _looks_fault: judging.Fault | None = None
    # Set to look again at once, not at the end of its sleep (a drill's clock jump). Made
    # in the loop it runs on.
    _woken: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self._loop = BackgroundLoop("wwm-watchdog", self._run)

    # -- one look ----------------------------------------------------------------------------

    def tick_sync(self) -> list[str]:
        """One look, from a thread that isn't the service's event loop (tests, tools). The
        writer must be running."""
        return asyncio.run(self.tick())

    async def tick(self) -> list[str]:
        """Judge every walk that is due now, then fire the offers' due times."""
        now = self.clock.now_ms()
        decisions: list[str] = []
        if (
            await self._walks(now, decisions)
            and await self._offers(now, decisions)
            and await self._forget(now, decisions)
        ):
            # Only a look that could write what it decided counts as one: a watchdog whose
            # database refuses every write is stuck (/healthz fails, the heartbeat stops).
            self.last_beat_ms = now
            self.caught_up = self.caught_up or not self._more_due
        return decisions

    def _faults(self, now: int) -> judging.Faults:
        """The database's last fault this process met, its looks' or its writer's, as of the
        moment a walk is judged (a review of faults: with two processes, a walk was asked "Are
        you OK?" 3 s after an outage only reads had met, her phone's retry on its way)."""
        if self._looks_refused_since is not None:  # this look read what was due: it is back
            self._looks_fault = judging.Fault(self._looks_refused_since, now)
            self._looks_refused_since = None
        looks, writer = self._looks_fault, self.writer

        def as_of(now_ms: int) -> judging.Fault | None:
            # (On the writer's thread, which alone moves what it reads of the writer.) Refusing
            # writes still: this judgement is the first after the fault, as far as it knows.
            back = now_ms if writer.failing_since is not None else writer.back_since
            faults = [looks]
            if writer.fault_began is not None and back is not None:
                faults.append(judging.Fault(writer.fault_began, back))
            return max((f for f in faults if f is not None), key=lambda f: f.back, default=None)

        return as_of

    async def _walks(self, now: int, decisions: list[str]) -> bool:
        """Judge the due walks; False if the database couldn't take a write.

        The due walks go to the writer a batch at a time, so a batch shares the writer's next
        group (one commit) instead of each walk waiting for a group of its own behind the
        phones' fixes: one by one, the watchdog judged no more walks a second than the writer
        committed groups. A batch is bounded so that it never holds the phones' fixes back
        for long. When more than a batch is due (the watchdog was down, or fell behind), the
        walks whose walker was asked and hasn't answered go first: their alarms have waited
        longest, and a new question can wait a moment more."""
        try:
            due = await self.db.read(partial(judging.due_walks, now_ms=now, limit=DUE_PER_LOOK))
        except StorageUnavailable:
            if self._looks_refused_since is None:
                self._looks_refused_since = now
            raise
        self._more_due = len(due) >= DUE_PER_LOOK  # the next look takes the rest at once
        batch = self.judge_batch
        if len(due) > batch:
            due = await self.db.read(partial(_unanswered_first, due=due))
        outcomes: list[str | BaseException | None] = []
        phones = self.phones if self.phones is not None and self.phones.can_ask() else None
        faults = self._faults(now)
        for first in range(0, len(due), batch):
            outcomes += await asyncio.gather(
                *(
                    self.writer.run(
                        partial(
                            judging.judge,
                            walk_id=walk_id,
                            seen_due=seen_due,
                            has_hook=self.has_hook,
                            can_ask_phone=phones is not None,
                            faults=faults,
                        ),
                        urgent=True,  # ahead of the phones' fixes: an alarm is late already
                    )
                    for walk_id, seen_due in due[first : first + batch]
                ),
                return_exceptions=True,
            )
        poisoned: list[tuple[int, int]] = []
        asked: list[int] = []
        unavailable = False
        for (walk_id, seen_due), outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, StorageUnavailable):
                # The database, not the walk: the loop tries again in moments (postponing the
                # walk would delay its alarm).
                unavailable = True
            elif isinstance(outcome, Exception):
                self._failed(walk_id, outcome)
                poisoned.append((walk_id, seen_due))
            elif isinstance(outcome, BaseException):
                raise outcome  # cancelled: the service is stopping
            else:
                self._count(decisions, outcome)
                if outcome:
                    self._lateness(max(0, now - seen_due))
                if outcome == "fix_asked":
                    asked.append(walk_id)
        if phones is not None:
            await self._ask_phones(phones, asked)
        if unavailable:
            log.warning("the watchdog could not write; it looks again shortly")
            return False
        for walk_id, seen_due in poisoned:
            await self.writer.run(self._postpone(walk_id, seen_due), urgent=True)
        return True

    async def _ask_phones(self, phones: Phones, walk_ids: list[int]) -> None:
        """Ask their phones for a fresh fix, now that the walks say so. A question that can't
        be published costs nothing but the wait: the check goes out when it is over."""
        for walk_id in walk_ids:
            try:
                await phones.ask_for_position(walk_id)
            except Exception:
                log.exception("could not ask the phones of walk %s for their position", walk_id)

    async def _offers(self, now: int, decisions: list[str]) -> bool:
        """Promises' reminders and recurring offers' occurrences, each once. False if the
        database couldn't take a write."""
        for item in await self.db.read(partial(offer_times.due, now_ms=now)):
            try:
                decision = await self.writer.run(partial(offer_times.fire, item=item))
            except StorageUnavailable:
                log.warning("the watchdog could not write; it looks again shortly")
                return False
            except Exception:
                log.exception("the watchdog could not fire offer time %s; later", item)
                self.failures += 1
                await self.writer.run(
                    partial(offer_times.postpone, item=item, delay_ms=RETRY_POISON_MS)
                )
                continue
            self._count(decisions, decision)
        return True

    async def _forget(self, now: int, decisions: list[str]) -> bool:
        """Walks over for longer than they are kept are forgotten (usecases/retention.py).
        After the alarms and the offers: forgetting is never urgent. False if the database
        couldn't take a write."""
        forgotten = 0
        try:
            ended = await self.db.read(retention.unscheduled)
            if ended:
                await self.writer.run(
                    partial(retention.schedule, ended=ended, keeping=self.keeping)
                )
            for walk_id in await self.db.read(partial(retention.due, now_ms=now)):
                if await self.writer.run(partial(retention.forget, walk_id=walk_id)):
                    forgotten += 1
                    self._count(decisions, "forgotten")
            for walk_id in await self.db.read(partial(retention.due_for_her, now_ms=now)):
                # After her duress PIN: forgotten for her devices, kept for its silent alarm.
                if await self.writer.run(partial(retention.forget_for_her, walk_id=walk_id)):
                    forgotten += 1
            settled = await self.db.read(partial(retention.settled_alerts, now_ms=now))
            if settled:
                scrubbed = await self.writer.run(partial(retention.scrub_alerts, alert_ids=settled))
                forgotten += scrubbed
            # Phones she removed during a silent alarm that is over now: revoked for good.
            removed = await self.db.read(devices.removed_due)
            if removed:
                await self.writer.run(partial(devices.revoke_removed, device_ids=removed))
            for person_id in await self.db.read(deletion.deferred):
                # Her deletion waited for her silent alarm: it is resolved now.
                await self.writer.run(partial(deletion.delete, person_id=person_id))
                forgotten += 1
                self._count(decisions, "deleted")
        except StorageUnavailable:
            log.warning("the watchdog could not write; it looks again shortly")
            return False
        except Exception:
            log.exception("the watchdog could not forget the walks that are due; later")
            self.failures += 1
        if forgotten:
            # What was deleted is zeroed in the database file (secure_delete); the WAL still
            # holds the pages as they were until it is checkpointed.
            await asyncio.to_thread(self.db.checkpoint)
        return True

    def _count(self, decisions: list[str], decision: str | None) -> None:
        if decision:
            decisions.append(decision)
            self.decided[decision] += 1

    def _lateness(self, late_ms: int) -> None:
        self.late_count += 1
        self.late_sum_ms += late_ms
        self.late_max_ms = max(self.late_max_ms, late_ms)

    def _failed(self, walk_id: int, error: Exception) -> None:
        log.error(
            "the watchdog could not judge walk %s; it looks again later",
            walk_id,
            exc_info=error,
        )
        self.failures += 1

    @staticmethod
    def _postpone(walk_id: int, seen_due: int) -> Callable[[Tx], None]:
        return partial(
            judging.postpone, walk_id=walk_id, seen_due=seen_due, delay_ms=RETRY_POISON_MS
        )

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _run(self) -> None:
        self._woken = woken = asyncio.Event()
        while True:
            woken.clear()  # before the look: a jump during it wakes the sleep after it
            try:
                await self.tick()
                earliest = await self.db.read(_earliest_due)
            except Exception:  # the database is away: keep trying, loudly
                log.exception("the watchdog's look failed; trying again")
                self.failures += 1
                earliest = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), self.sleep_s(earliest))

    def sleep_s(self, earliest_due: int | None) -> float:
        cap_ms = MAX_SLEEP_CLOCK_MS
        if earliest_due is not None:
            cap_ms = min(cap_ms, max(0, earliest_due - self.clock.now_ms()))
        return min(MAX_SLEEP_S, cap_ms / self.clock.speed / 1000)

    def clock_jumped(self, ms: int) -> None:
        """The clock was moved forward (a drill): its last look was not that long ago, and it
        looks at once at what the jump made due (called on the loop it runs on). Asleep for up
        to 5 s until its next look, it would judge a drill's walk minutes late."""
        if self.last_beat_ms is not None:
            self.last_beat_ms += ms
        if self._woken is not None:
            self._woken.set()

    def stuck(self) -> bool:
        """No look for much longer than it ever sleeps: the loop has died or hangs."""
        if self.last_beat_ms is None:
            return False
        silent_real_s = (self.clock.now_ms() - self.last_beat_ms) / self.clock.speed / 1000
        return silent_real_s > 6 * MAX_SLEEP_S


def _unanswered_first(conn: Connection, due: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The due walks, those with an unanswered check first (each part in its due order).
    Only the order of judging: the rules decide what each walk's due time means."""
    asked = set(
        conn.execute(
            sa.select(walks.c.id).where(
                walks.c.id.in_([walk_id for walk_id, _ in due]),
                walks.c.check_asked_at.is_not(None),
            )
        ).scalars()
    )
    return sorted(due, key=lambda item: item[0] not in asked)


def _earliest_due(conn: Connection) -> int | None:
    """The earliest due time of a walk or of an offer."""
    times = [judging.earliest_due(conn), offer_times.earliest_due(conn)]
    found = [t for t in times if t is not None]
    return min(found) if found else None
