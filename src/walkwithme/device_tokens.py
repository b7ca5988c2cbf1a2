"""Device tokens, remembered for a minute.

Every fix is authenticated; looking the token up in the database each time costs a trip to a
worker thread. A token seen in the last minute is taken from memory instead. Revoking a device
forgets it at once in this process; another process (several workers on PostgreSQL) may take
its fixes for up to a minute more. A token that is not found is never remembered.
"""

from __future__ import annotations

from walkwithme.clock import Clock
from walkwithme.security import token_hash
from walkwithme.store.database import Database
from walkwithme.usecases.devices import Device, device_for_token

REMEMBER_MS = 60_000
MAX_REMEMBERED = 100_000


class DeviceTokens:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._known: dict[str, tuple[Device, int]] = {}

    async def device(self, token: str) -> Device | None:
        key = token_hash(token)
        now = self._clock.now_ms()
        known = self._known.get(key)
        if known is not None and known[1] > now:
            return known[0]
        device = await self._db.read(lambda c: device_for_token(c, token))
        if device is None:
            self._known.pop(key, None)
            return None
        if len(self._known) >= MAX_REMEMBERED:
            self._known.clear()
        self._known[key] = (device, now + REMEMBER_MS)
        return device

    def forget(self, device_id: int) -> None:
        for key, (device, _until) in list(self._known.items()):
            if device.id == device_id:
                del self._known[key]
