"""The doorbell: "walk W has news". Not a mailbox: listeners read the news from the database.

Everything that is rung has been committed first, and every listener reads from its own cursor,
so a ring that is lost (or two rings merged into one) costs nothing but a little latency.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from walkwithme.store.writer import Touched


class Bell:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Event]] = defaultdict(set)
        # Bumped when who may see a walk may have changed, and when its timeline grew;
        # listeners compare them with what they saw last. Kept only while someone listens.
        self._access: dict[int, int] = {}
        self._events: dict[int, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def ring_threadsafe(self, touched: Touched) -> None:
        """Called by the writer's thread after a commit."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(
                self.ring, tuple(touched.walks), tuple(touched.access), tuple(touched.events)
            )

    def ring(
        self,
        walk_ids: Iterable[int],
        access_changed: Iterable[int] = (),
        new_events: Iterable[int] = (),
    ) -> None:
        for walk_id in access_changed:
            if walk_id in self._listeners:
                self._access[walk_id] = self._access.get(walk_id, 0) + 1
        for walk_id in new_events:
            if walk_id in self._listeners:
                self._events[walk_id] = self._events.get(walk_id, 0) + 1
        for walk_id in walk_ids:
            for listener in self._listeners.get(walk_id, ()):
                listener.set()

    def ring_all_threadsafe(self) -> None:
        """Every stream checks again, access and all (news may have been missed: the doorbell
        across processes lost its connection for a while)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ring_all)

    def _ring_all(self) -> None:
        walk_ids = list(self._listeners)
        self.ring(walk_ids, walk_ids, walk_ids)

    def access_generation(self, walk_id: int) -> int:
        return self._access.get(walk_id, 0)

    def events_generation(self, walk_id: int) -> int:
        return self._events.get(walk_id, 0)

    @contextmanager
    def listen(self, walk_id: int) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._listeners[walk_id].add(event)
        try:
            yield event
        finally:
            listeners = self._listeners.get(walk_id)
            if listeners is not None:
                listeners.discard(event)
                if not listeners:
                    del self._listeners[walk_id]
                    self._access.pop(walk_id, None)
                    self._events.pop(walk_id, None)
