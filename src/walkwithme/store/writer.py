"""One writer per database: group commit.

Every change goes through `Writer.run(job)`. A job is a function of a `Tx`: it reads what it
needs and writes in the transaction it is given. The writer's thread takes every job that is
waiting, runs them in one transaction, commits once, and only then answers the callers and
rings the doorbell for the walks they touched. There is no timer: a lone job is committed at
once; under load, jobs that arrive during a commit form the next group.

If a job raises, the group's transaction is rolled back and its jobs are run again one by one,
each in its own transaction, so one bad request never takes its neighbours down with it. Jobs
must therefore be pure functions of the database (no effects outside it).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from walkwithme.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_GROUP = 500


class StorageUnavailable(Exception):
    """The database could not commit; nothing of the request was kept. Worth a retry."""


@dataclass
class Touched:
    """The walks a group changed, and among them those where who may see them changed."""

    walks: set[int] = field(default_factory=set)
    access: set[int] = field(default_factory=set)
    events: set[int] = field(default_factory=set)  # walks with new timeline events

    def update(self, other: Touched) -> None:
        self.walks |= other.walks
        self.access |= other.access
        self.events |= other.events


@dataclass
class Tx:
    """What a job gets: the open transaction, the time of the group, and a note of the walks
    it changed (their live streams are told after the commit)."""

    conn: Connection
    now_ms: int
    touched: Touched = field(default_factory=Touched)

    def touch(self, walk_id: int, *, access: bool = False, events: bool = False) -> None:
        """`access`: who may see the walk may have changed (it ended, a contact ended, a link
        was revoked): open streams check again at once. `events`: its timeline grew."""
        self.touched.walks.add(walk_id)
        if access:
            self.touched.access.add(walk_id)
        if events:
            self.touched.events.add(walk_id)


@dataclass
class _Job(Generic[T]):
    fn: Callable[[Tx], T]
    done: Callable[[T | None, BaseException | None], None]


_STOP = object()


class Writer:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        on_commit: Callable[[Touched], None] = lambda _touched: None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.groups_committed = 0
        self.jobs_committed = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="wwm-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish every job already submitted, then stop."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    # -- submitting --------------------------------------------------------------------------

    async def run(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn` in the next group; return once its transaction is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            if future.done():  # the caller went away (client disconnected)
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        def done(result: T | None, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle, result, error)

        self._submit(_Job(fn, done))
        return await future

    def run_sync(self, fn: Callable[[Tx], T]) -> T:
        """The same, from a thread that isn't the event loop (the CLI, tests, tools)."""
        if self._thread is None:
            return self._run_group_alone(fn)
        box: dict[str, Any] = {}
        ready = threading.Event()

        def done(result: T | None, error: BaseException | None) -> None:
            box["result"], box["error"] = result, error
            ready.set()

        self._submit(_Job(fn, done))
        ready.wait()
        if box["error"] is not None:
            raise box["error"]
        return box["result"]  # type: ignore[no-any-return]

    def _submit(self, job: _Job[Any]) -> None:
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        self._queue.put(job)

    def _run_group_alone(self, fn: Callable[[Tx], T]) -> T:
        results = self._commit_group([_Job(fn, lambda _r, _e: None)])
        result, error = results[0]
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    # -- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            group: list[_Job[Any]] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    group.append(item)
                if len(group) >= MAX_GROUP:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                for job, (result, error) in zip(group, self._commit_group(group), strict=True):
                    try:
                        job.done(result, error)
                    except Exception:  # e.g. the event loop is gone: the writer goes on
                        log.exception("could not answer a writer job")

    def _commit_group(self, group: list[_Job[Any]]) -> list[tuple[Any, BaseException | None]]:
        touched = Touched()
        try:
            results = self._transaction([job.fn for job in group], touched)
        except StorageUnavailable as exc:
            return [(None, exc) for _ in group]
        except Exception:
            # One of the jobs failed: isolate it by running each in its own transaction.
            outcome: list[tuple[Any, BaseException | None]] = []
            for job in group:
                try:
                    outcome.append((self._transaction([job.fn], touched)[0], None))
                except Exception as exc:
                    outcome.append((None, exc))
            self._after_commit(touched, len(group))
            return outcome
        self._after_commit(touched, len(group))
        return [(r, None) for r in results]

    def _after_commit(self, touched: Touched, jobs: int) -> None:
        self.groups_committed += 1
        self.jobs_committed += jobs
        if touched.walks:
            try:
                self._on_commit(touched)
            except Exception:  # the bell must never break the writer
                log.exception("ringing the doorbell failed")

    def _transaction(self, fns: list[Callable[[Tx], Any]], touched: Touched) -> list[Any]:
        now = self._clock.now_ms()
        try:
            with self._engine.connect() as conn, conn.begin():
                tx = Tx(conn, now)
                results = [fn(tx) for fn in fns]
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_transient(exc):
                log.warning("the database could not commit: %s", exc.orig)
                raise StorageUnavailable("the database is unavailable; try again") from exc
            raise
        touched.update(tx.touched)
        return results


def _is_transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        word in text
        for word in ("database is locked", "disk i/o", "database or disk is full", "connection")
    )
