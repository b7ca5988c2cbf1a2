"""The notifier: empties the alerts outbox. It claims what is due (with a lease), sends each
through its channel, and records how it went; failures are retried with backoff. On SIGTERM
it finishes the sends in flight before the service stops, and claims nothing new.

Each channel is a lane of its own: its alerts go one after another, in the order they were
made (nobody hears "resolved" before "alarm"), while the other channels' lanes go on beside
it. A receiver that takes its time (up to the send's timeout) holds up only its own lane: the
notifier claims and sends everybody else's alerts meanwhile, and that channel's next ones
once its send is over.

The writer rings it after every commit that made alerts, so an alarm is claimed at once, not at
the next look; the look every second remains for retries falling due and for leases that a
crashed sender lost. A lane that finishes rings it too. Its claims and records are urgent
writer jobs (ahead of the phones' fixes), and the record of what was sent shares a commit with
the next claim. Every send goes through one HTTP client (`Outbound`), closed when the services
stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from functools import partial

from walkwithme.clock import Clock
from walkwithme.config import Config
from walkwithme.notify import outbound
from walkwithme.notify.channels import (
    HOOK_MAY_BE_PRIVATE,
    Alert,
    Channel,
    DeliveryError,
    Webhook,
    build,
)
from walkwithme.notify.messages import with_help, with_link, with_streets
from walkwithme.notify.outbound import Outbound
from walkwithme.notify.times import with_times
from walkwithme.notify.vapid import PushKeys
from walkwithme.store.database import Database
from walkwithme.store.tx import Tx
from walkwithme.store.writer import Writer
from walkwithme.streets import StreetMap
from walkwithme.usecases import outbox

log = logging.getLogger(__name__)

# How often it looks when nobody rings: new alerts ring it (the writer, after their commit), so
# this is only what a retry may wait after its backoff (10 s or more), or a lost lease after
# its 60 s.
IDLE_S = 1.0
STOP_WAIT_S = 20.0
SEND_TIMEOUT_S = 30.0  # well inside the lease (60 s): a slow channel can't be sent twice


@dataclass
class Notifier:
    db: Database
    writer: Writer
    clock: Clock
    config: Config
    push_keys: PushKeys
    http: Outbound = field(default_factory=Outbound)  # the services' one client
    streets: StreetMap | None = None  # to say where she was in words (the names near her)
    idle_s: float = IDLE_S
    sent: int = 0
    failed: int = 0
    looks: int = 0  # the loop's looks
    asleep: bool = False  # the loop waits for a ring (or its next look in `idle_s`)
    # The last look found nothing it could claim: all that is due is sent or on its way.
    claimed_all: bool = False
    _task: asyncio.Task[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    # The lanes sending now, by channel (None: the operator's hook), and what the finished
    # ones sent, to record at the next look.
    _lanes: dict[int | None, asyncio.Task[None]] = field(default_factory=dict)
    _done: list[outbox.Result] = field(default_factory=list)

    async def look(self, *, rung: bool = False) -> int:
        """Record what the finished lanes sent, claim what is due for the channels that aren't
        sending, and start their lanes; returns how many deliveries it claimed. `rung`: a
        commit made alerts, so there is something to claim (no need to look first)."""
        now = self.clock.now_ms()
        self.claimed_all = False  # until this look says so
        results, self._done = self._done, []
        # A cheap read first: claiming takes the write lock, looking doesn't.
        if (
            not rung
            and not results
            and not await self.db.read(lambda c: outbox.anything_due(c, now))
        ):
            self.claimed_all = True
            return 0
        try:
            if self._stopping.is_set():  # record what was sent; claim nothing new
                if results:
                    await self.writer.run(partial(outbox.record, results=results), urgent=True)
                return 0
            claimed = await self.writer.run(
                partial(_record_and_claim, results=results, busy=frozenset(self._lanes)),
                urgent=True,
            )
        except BaseException:
            self._done = results + self._done  # not recorded: the next look tries again
            raise
        self.claimed_all = not claimed
        by_channel: dict[int | None, list[outbox.Claimed]] = {}
        for c in claimed:
            by_channel.setdefault(c.channel_id, []).append(c)
        for channel_id, lane in by_channel.items():
            self._lanes[channel_id] = asyncio.get_running_loop().create_task(
                self._send_lane(channel_id, lane), name=f"wwm-send-{channel_id}"
            )
        return len(claimed)

    async def tick(self, *, rung: bool = False) -> int:
        """Send everything that is due now, and wait for it to be sent and recorded; returns
        how many deliveries were attempted. (The loop doesn't wait: it looks again whenever a
        lane finishes or a commit rings.)"""
        attempted = await self.look(rung=rung)
        while self._lanes or self._done:
            if self._lanes:
                await asyncio.wait(set(self._lanes.values()))
            attempted += await self.look(rung=True)
        return attempted

    async def _send_lane(self, channel_id: int | None, lane: list[outbox.Claimed]) -> None:
        try:
            for claimed in sorted(lane, key=lambda c: c.delivery_id):
                result = await self._send(claimed)
                self._done.append(result)  # (after the await: a look may swap the list)
        finally:
            del self._lanes[channel_id]
            self._wake.set()  # look again: its next alerts may be waiting

    def idle(self) -> bool:
        """Everything that was due is sent (or has failed, and waits for its retry): its last
        look claimed nothing, no send is in flight, no ring waits for a look."""
        return self.claimed_all and not self._lanes and not self._wake.is_set()

    def tick_sync(self) -> int:
        """For tests, from their own thread: one look, sends included."""
        return outbound.run_alone(self.tick, self.http)

    async def _send(self, claimed: outbox.Claimed) -> outbox.Result:
        payload = with_link(claimed.payload, self.config.base_url)
        payload = with_help(with_streets(payload, self.streets), self.config.emergency_number)
        # Its times said as of now, by the service's clock (a retry hours later says so), in
        # its recipient's zone.
        payload = with_times(
            payload, self.clock.now_ms(), claimed.timezone, claimed.walker_timezone
        )
        alert = Alert(str(payload.get("key")), payload)
        try:
            await asyncio.wait_for(self._channel(claimed).send(alert), SEND_TIMEOUT_S)
        except TimeoutError:
            self.failed += 1
            return outbox.Result(claimed, "no answer in time", False)
        except DeliveryError as exc:
            self.failed += 1
            if claimed.payload.get("kind") == "alarm":
                # Not a line like a failed test's: someone may be in danger and not heard.
                # Given up or tried again, said as it is (a hook's 400 said "tried again"),
                # and the operator's emergency hook named as such.
                log.error(
                    "an ALARM could not be delivered%s (delivery %s, try %s; %s): %s",
                    " to the emergency hook" if claimed.channel_id is None else "",
                    claimed.delivery_id,
                    claimed.attempts,
                    "given up: it is refused for good"
                    if exc.permanent
                    else "given up: tried too often"
                    if claimed.attempts >= outbox.MAX_ALARM_ATTEMPTS
                    else "tried again",
                    exc.message,
                )
            else:
                log.warning("delivery %s failed: %s", claimed.delivery_id, exc.message)
            return outbox.Result(claimed, exc.message, exc.permanent, exc.breaks_channel)
        except Exception as exc:  # a channel's bug must not stop the others
            self.failed += 1
            log.exception("delivery %s failed unexpectedly", claimed.delivery_id)
            return outbox.Result(claimed, f"unexpected: {type(exc).__name__}", False)
        self.sent += 1
        return outbox.Result(claimed)

    def _channel(self, claimed: outbox.Claimed) -> Channel:
        allow = self.config.allow_private_addresses
        if claimed.channel_id is None:  # the operator's emergency hook
            if not self.config.emergency_hook:
                raise DeliveryError("no emergency hook is configured", permanent=True)
            secret = self.config.hook_secret
            return Webhook(self.config.emergency_hook, secret, HOOK_MAY_BE_PRIVATE, self.http)
        assert claimed.kind is not None
        assert claimed.target is not None
        return build(
            claimed.kind,
            claimed.target,
            claimed.secret,
            allow_private=allow,
            push_keys=self.push_keys,
            http=self.http,
            smtp=self.config.smtp,
        )

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="wwm-notifier")

    def ring_threadsafe(self) -> None:
        """Something is due now: look at once. Called from the writer's thread, after a
        commit that made alerts."""
        loop = self._loop
        if loop is None or self._task is None:
            return  # not running: tests look with tick_sync
        with contextlib.suppress(RuntimeError):  # the loop has just closed
            loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        """Finish the sends in flight and record them; claim nothing new."""
        if self._task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, STOP_WAIT_S)
        except TimeoutError:  # a send that won't end: its lease lets it be sent again later
            for task in [self._task, *self._lanes.values()]:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._loop = None

    async def _run(self) -> None:
        rung = False
        while True:
            self._wake.clear()  # a ring from now on means another look
            self.looks += 1
            try:
                await self.look(rung=rung)
            except Exception:
                log.exception("the notifier's look failed; trying again")
            if self._stopping.is_set():
                break
            self.asleep = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_s)
            self.asleep = False
            rung = self._wake.is_set()
        await self._finish()

    async def _finish(self) -> None:
        """Stopping: the lanes in flight finish their sends (they claim nothing more), and what
        they sent is recorded."""
        while self._lanes:
            await asyncio.wait(set(self._lanes.values()))
        try:
            await self.look()
        except Exception:  # unrecorded, they are sent again after their lease: at least once
            log.exception("the notifier could not record its last sends")


def _record_and_claim(
    tx: Tx, results: list[outbox.Result], busy: frozenset[int | None]
) -> list[outbox.Claimed]:
    outbox.record(tx, results)
    return outbox.claim(tx, busy=busy)
