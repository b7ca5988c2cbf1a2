"""The doorbell: "walk W has news". Not a mailbox: listeners read the news from the database.

Everything that is rung has been committed first, and every listener reads from its own cursor,
so a ring that is lost (or two rings merged into one) costs nothing but a little latency.

One exception saves the busiest read: a commit of this process that added fixes hands them
over with its ring (`NewFixes`), and the bell keeps the last few for each walk that someone
listens to. A stream whose cursor they continue without a gap sends them as they are; any doubt
(a gap, fixes committed by another process, a lost connection) and it reads the database.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from walkwithme.store.tx import NewFixes, Touched

KEPT_FIXES = 64  # commits of fixes a walk's ring keeps (a stream that falls further behind reads)


class Bell:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Event]] = defaultdict(set)
        # Bumped when who may see a walk may have changed, and when its timeline grew;
        # listeners compare them with what they saw last. Kept only while someone listens.
        self._access: dict[int, int] = {}
        self._events: dict[int, int] = {}
        # Bumped when a walk may have new fixes that weren't handed over (another process).
        self._untold: dict[int, int] = {}
        self._fixes: dict[int, deque[NewFixes]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def ring_threadsafe(self, touched: Touched) -> None:
        """Called by the writer's thread after a commit (and by the listener for another
        process's commits)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(
                self.ring,
                tuple(touched.walks),
                tuple(touched.access),
                tuple(touched.events),
                touched.fixes if touched.fixes_told else None,
            )

    def ring(
        self,
        walk_ids: Iterable[int],
        access_changed: Iterable[int] = (),
        new_events: Iterable[int] = (),
        new_fixes: Mapping[int, list[NewFixes]] | None = None,
    ) -> None:
        """`new_fixes`: every fix the commit added to these walks (None: not known)."""
        for walk_id in access_changed:
            if walk_id in self._listeners:
                self._access[walk_id] = self._access.get(walk_id, 0) + 1
        for walk_id in new_events:
            if walk_id in self._listeners:
                self._events[walk_id] = self._events.get(walk_id, 0) + 1
        for walk_id in walk_ids:
            listeners = self._listeners.get(walk_id)
            if not listeners:
                continue
            if new_fixes is None:
                self._untold[walk_id] = self._untold.get(walk_id, 0) + 1
            elif walk_id in new_fixes:
                kept = self._fixes.get(walk_id)
                if kept is None:
                    kept = self._fixes[walk_id] = deque(maxlen=KEPT_FIXES)
                kept.extend(new_fixes[walk_id])
            for listener in listeners:
                listener.set()

    def ring_all_threadsafe(self) -> None:
        """Every stream checks again, access and all (news may have been missed: the doorbell
        across processes lost its connection for a while)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ring_all)

    def _ring_all(self) -> None:
        walk_ids = list(self._listeners)
        self.ring(walk_ids, walk_ids, walk_ids, None)

    def access_generation(self, walk_id: int) -> int:
        return self._access.get(walk_id, 0)

    def events_generation(self, walk_id: int) -> int:
        return self._events.get(walk_id, 0)

    def untold_generation(self, walk_id: int) -> int:
        return self._untold.get(walk_id, 0)

    def fixes_known_until(self, walk_id: int) -> int:
        """The last fix number handed over for the walk (0: none kept)."""
        kept = self._fixes.get(walk_id)
        return kept[-1].last if kept else 0

    def fixes_after(self, walk_id: int, covered: int) -> list[NewFixes] | None:
        """The handed-over fixes numbered after `covered`, if they continue it without a gap;
        None if they don't (some were not handed over, or are no longer kept)."""
        kept = self._fixes.get(walk_id, ())
        later: list[NewFixes] = []
        for added in reversed(kept):  # newest first: a stream is seldom more than one behind
            if added.last <= covered:
                break
            later.append(added)
        later.reverse()
        expected = covered + 1
        for added in later:
            if added.first > expected:
                return None
            expected = added.last + 1
        return later

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
                    self._untold.pop(walk_id, None)
                    self._fixes.pop(walk_id, None)
