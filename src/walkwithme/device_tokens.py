"""Device tokens, remembered for a few seconds.

Every fix is authenticated; looking the token up in the database each time costs a trip to a
worker thread. A token seen in the last few seconds is taken from memory instead. A device
revoked (or its owner deleted) is forgotten after the commit that revoked it: by the writer of
this process, and by every other process on the same PostgreSQL through its doorbell
(store/pg_bell.py). A command line run beside a server on SQLite has no doorbell to ring, so
what it revokes is refused once the memory runs out: kept short, as a revoked companion's
phone is still answered with the walkers it follows until then (it was a minute). A token that
is not found is never remembered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from walkwithme.clock import Clock
from walkwithme.security import token_hash
from walkwithme.store.database import Database
from walkwithme.usecases.devices import Device, device_for_token

REMEMBER_MS = 5_000  # at a phone's pace most fixes read it; under a load, few do
MAX_REMEMBERED = 100_000


class DeviceTokens:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._known: dict[str, tuple[Device, int]] = {}
        self._lock = threading.Lock()  # forgotten from the writer's and the listener's threads
        self._generation = 0  # bumped by every forget

    async def device(self, token: str) -> Device | None:
        key = token_hash(token)
        now = self._clock.now_ms()
        known = self._known.get(key)
        if known is not None and known[1] > now:
            return known[0]
        generation = self._generation
        device = await self._db.read(lambda c: device_for_token(c, token))
        with self._lock:
            if device is None or generation != self._generation:
                # Not found, or a device was revoked while it was read: not remembered.
                self._known.pop(key, None)
                return device
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            self._known[key] = (device, now + REMEMBER_MS)
        return device

    def forget(self, device_ids: Iterable[int]) -> None:
        gone = set(device_ids)
        with self._lock:
            self._generation += 1
            for key, (device, _until) in list(self._known.items()):
                if device.id in gone:
                    del self._known[key]
