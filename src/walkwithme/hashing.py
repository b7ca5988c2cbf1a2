"""Argon2 off the event loop, a bounded number at a time.

Each check costs tens of milliseconds of a core and 64 MiB on purpose. Unbounded, a flood of
sign-ins would take every core and gigabytes of memory, and a walker's fixes would wait behind
it. So hashing runs in two lanes, passwords and PINs, each at most one at a time on this
2-core machine (half the cores each, at least one): a sign-in flood can't hold up her PIN, and
neither can hold up her fixes. Past a short queue a lane answers 503 "busy", which a client
tries again, rather than letting requests pile up.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

import anyio
import anyio.to_thread

from walkwithme.domain.errors import Busy
from walkwithme.security import hash_secret, verify_secret

T = TypeVar("T")

MAX_WAITING = 32  # a lane's queue; past it, "busy"


class Lane(StrEnum):
    PASSWORDS = "passwords"
    PINS = "pins"


class Hashing:
    def __init__(self, per_lane: int | None = None, max_waiting: int = MAX_WAITING) -> None:
        self.per_lane = per_lane or max(1, (os.cpu_count() or 2) // 2)
        self.max_waiting = max_waiting
        # A limiter belongs to one event loop (tests run several, one after another).
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Lane, anyio.CapacityLimiter]
        ] = weakref.WeakKeyDictionary()
        self._admitted = dict.fromkeys(Lane, 0)  # hashing or waiting to, in each lane

    def _limiter(self, lane: Lane) -> anyio.CapacityLimiter:
        lanes = self._limiters.setdefault(asyncio.get_running_loop(), {})
        if lane not in lanes:
            lanes[lane] = anyio.CapacityLimiter(self.per_lane)
        return lanes[lane]

    def admitted(self, lane: Lane) -> int:
        """How many are hashing, or waiting to, in `lane`."""
        return self._admitted[lane]

    async def verify(self, lane: Lane, stored_hash: str, secret: str) -> bool:
        return await self._run(lane, verify_secret, stored_hash, secret)

    async def hash(self, lane: Lane, secret: str) -> str:
        return await self._run(lane, hash_secret, secret)

    async def _run(self, lane: Lane, fn: Callable[..., T], *args: str) -> T:
        if self._admitted[lane] >= self.per_lane + self.max_waiting:
            raise Busy("the server is busy checking passwords; try again", retry_after_s=2)
        self._admitted[lane] += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter(lane))
        finally:
            self._admitted[lane] -= 1
