"""The writer's queue: the jobs waiting for a group, and which of them the next group takes
(store/writer.py)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from walkwithme.store.tx import Tx

T = TypeVar("T")

MAX_GROUP = 500  # jobs a group takes at most


@dataclass
class Job(Generic[T]):
    fn: Callable[[Tx], T]
    done: Callable[[T | None, BaseException | None], None]
    urgent: bool = False
    # The event loop that `done` must be called in (None: any thread). A group's jobs from
    # one loop are answered with one wake-up of it, not one each.
    loop: asyncio.AbstractEventLoop | None = None
    # It keeps the memo true (see `Tx.memo`); after any other job, the memo is emptied.
    memo: bool = False


STOP = object()


class Waiting:
    """The jobs the writer's thread has taken from its queue and not yet committed, urgent
    ones apart. The next group is the urgent jobs, unless the last group was urgent and other
    jobs wait: then it is theirs (an alarm jumps the queue; it can't hold the fixes back for
    more than one group)."""

    def __init__(self) -> None:
        self.urgent: deque[Job[Any]] = deque()
        self.other: deque[Job[Any]] = deque()
        self._last_was_urgent = False

    def __bool__(self) -> bool:
        return bool(self.urgent or self.other)

    def add(self, item: Any) -> bool:
        """Keep a job; True if the item is the order to stop."""
        if item is STOP:
            return True
        (self.urgent if item.urgent else self.other).append(item)
        return False

    def next_group(self) -> list[Job[Any]]:
        take_urgent = bool(self.urgent) and not (self._last_was_urgent and self.other)
        source = self.urgent if take_urgent else self.other
        self._last_was_urgent = take_urgent
        return [source.popleft() for _ in range(min(len(source), MAX_GROUP))]
