"""The notifier: empties the alerts outbox. It claims what is due (with a lease), sends each
through its channel, and records how it went; failures are retried with backoff. On SIGTERM
it finishes the sends in flight before the service stops, and claims nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from walkwithme.clock import Clock
from walkwithme.config import Config
from walkwithme.notify.channels import Alert, Channel, DeliveryError, Webhook, build
from walkwithme.notify.vapid import PushKeys
from walkwithme.store.database import Database
from walkwithme.store.writer import Writer
from walkwithme.usecases import channels as outbox

log = logging.getLogger(__name__)

# How often it looks when there is nothing to send. Nothing rings it when the watchdog makes an
# alert, so this is what an alarm may wait before its first send: a cheap indexed read, five
# times a second, costs well under 1% of a core (benchmarks/watchdog_load.py).
IDLE_S = 0.2
STOP_WAIT_S = 20.0
SEND_TIMEOUT_S = 30.0  # well inside the lease (60 s): a slow channel can't be sent twice


@dataclass
class Notifier:
    db: Database
    writer: Writer
    clock: Clock
    config: Config
    push_keys: PushKeys
    sent: int = 0
    failed: int = 0
    _task: asyncio.Task[None] | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def tick(self) -> int:
        """Send everything that is due now; returns how many were attempted."""
        now = self.clock.now_ms()
        # A cheap read first: claiming takes the write lock, looking doesn't.
        if not await self.db.read(lambda c: outbox.anything_due(c, now)):
            return 0
        claimed = await self.writer.run(outbox.claim)
        if not claimed:
            return 0
        # Channels are sent to side by side; one channel's alerts one after another, in the
        # order they were made, so nobody hears "resolved" before "alarm".
        by_channel: dict[int | None, list[outbox.Claimed]] = {}
        for c in claimed:
            by_channel.setdefault(c.channel_id, []).append(c)
        lanes = await asyncio.gather(*(self._send_in_order(lane) for lane in by_channel.values()))
        results = [result for lane in lanes for result in lane]
        await self.writer.run(lambda tx: outbox.record(tx, results))
        return len(claimed)

    async def _send_in_order(self, lane: list[outbox.Claimed]) -> list[outbox.Result]:
        return [await self._send(c) for c in sorted(lane, key=lambda c: c.delivery_id)]

    def tick_sync(self) -> int:
        """For tests, from their own thread: one look, sends included."""
        return asyncio.run(self.tick())

    async def _send(self, claimed: outbox.Claimed) -> outbox.Result:
        payload = claimed.payload
        if "link_path" in payload:
            payload = {**payload, "link": self.config.base_url + payload["link_path"]}
        alert = Alert(str(payload.get("key")), payload)
        try:
            await asyncio.wait_for(self._channel(claimed).send(alert), SEND_TIMEOUT_S)
        except TimeoutError:
            self.failed += 1
            return outbox.Result(claimed, "no answer in time", False)
        except DeliveryError as exc:
            self.failed += 1
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
            return Webhook(self.config.emergency_hook, self.config.hook_secret, allow)
        assert claimed.kind is not None
        assert claimed.target is not None
        return build(
            claimed.kind,
            claimed.target,
            claimed.secret,
            allow_private=allow,
            push_keys=self.push_keys,
        )

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="wwm-notifier")

    async def stop(self) -> None:
        """Finish the sends in flight; claim nothing new."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(self._task, STOP_WAIT_S)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self.tick()
            except Exception:
                log.exception("the notifier's look failed; trying again")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), IDLE_S)
