"""One writer per database: group commit.

Every change goes through `Writer.run(job)`. A job is a function of a `Tx`: it reads what it
needs and writes in the transaction it is given. The writer's thread takes every job that is
waiting, runs them in one transaction, commits once, and only then answers the callers (with
one wake-up of their event loop), and after that rings the doorbell for the walks they
touched. There is no timer: a lone job is committed at once; under load, jobs that arrive
during a commit form the next group.

If a job raises, the group's transaction is rolled back and its jobs are run again one by one,
each in its own transaction, so one bad request never takes its neighbours down with it. Jobs
must therefore be pure functions of the database (no effects outside it).

Alarms go first: a job submitted with `urgent=True` (the watchdog's decisions, SOS, the
notifier's claims and records) is committed in a group of urgent jobs alone, ahead of the
phones' fixes that keep the queue full under load, so it waits for the group being committed
and no more. Two urgent groups never follow each other while other jobs wait, so fixes can't
starve. And a group that made alerts (`Tx.alerted`) rings `on_alerts` after its commit: the
notifier sends them at once instead of at its next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from walkwithme.clock import Clock
from walkwithme.domain.errors import Changed, DomainError
from walkwithme.store import pg_writes
from walkwithme.store.database import StorageUnavailable, Writes, commit_with, is_transient
from walkwithme.store.tx import Touched, Tx
from walkwithme.store.waiting import STOP, Job, Waiting

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANGED_TRIES = 3  # a job that found its data changed meanwhile runs this many times at most


class Writer:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        on_commit: Callable[[Touched], None] = lambda _touched: None,
        on_alerts: Callable[[], None] = lambda: None,
        on_answered: Callable[[Touched], None] = lambda _touched: None,
        announce: Callable[[Touched], Writes] | None = None,
    ) -> None:
        """`announce`: the writes that say, in each committing transaction that touched
        something, what it touched, for the other processes on the same database
        (store/pg_bell.py); None on SQLite."""
        self._engine = engine
        # PostgreSQL's writer sends a group's fixes with its commit (store/pg_writes.py).
        self._defers = engine.dialect.name == "postgresql"
        self._announce = announce
        self._clock = clock
        self._on_commit = on_commit
        # After the group's callers are answered (the doorbell: a phone waiting for its
        # answer need not wait for the companions' streams to be sent its fix first).
        self._on_answered = on_answered
        # Called from the writer's thread after a commit that made alerts (the notifier's
        # ring, which must be thread-safe); may be set after the writer is made.
        self.on_alerts = on_alerts
        # The connection the groups are committed on, kept from one group to the next (taking
        # one from the pool and giving it back costs each group as much as a fix's own work
        # when fixes come one at a time); let go after a group that failed.
        self._conn: Connection | None = None
        # What jobs keep for later groups (`Tx.memo`); only the writer's thread touches it.
        self._memo: dict[Hashable, Any] = {}
        # What jobs learn from what they are sent (`Tx.learned`); never emptied.
        self._learned: dict[Hashable, Any] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.groups_committed = 0
        self.jobs_committed = 0
        self.urgent_groups = 0
        # Since when the database has refused to commit (None: the last commit went through):
        # /healthz says so, rather than "ok" while every write fails.
        self.failing_since: int | None = None
        # When it took a commit again after refusing them (None: it never refused): what
        # phones sent meanwhile is still on its way (usecases/judging.py waits for it); and
        # since when it had refused them then, or refuses them now.
        self.back_since: int | None = None
        self.fault_began: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="wwm-writer", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Its thread takes jobs (else `run_sync` runs each at once, in the caller's thread)."""
        return self._thread is not None

    def stop(self) -> None:
        """Finish every job already submitted, then stop."""
        if self._thread is not None:
            self._queue.put(STOP)
            self._thread.join()
            self._thread = None
        self._let_go()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def _let_go(self) -> None:
        """Give the kept connection back to the pool, which rolls back what it had begun (or
        drops it, if it was lost)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.exception("could not give back the writer's connection")

    # -- submitting --------------------------------------------------------------------------

    async def run(self, fn: Callable[[Tx], T], *, urgent: bool = False, memo: bool = False) -> T:
        """Run `fn` in the next group; return once its transaction is committed. `urgent`:
        ahead of the jobs that aren't (alarms' work only: it jumps the phones' fixes). `memo`:
        the job keeps `Tx.memo` true (the phones' messages: they change walks through
        `walk_store.save`, which keeps what the memo holds of them up to date, and take back
        only through `Tx.savepoint`), so the memo is kept after it; after any other job the
        memo is emptied.

        A job that found what it acts on changed meanwhile (`Changed`: another process
        committed between its read and its write; nothing of it was kept) runs again, up to
        CHANGED_TRIES times in all, and decides on what is there now: a companion's "I'm on
        it" must not be refused because her phone's SOS reached another process at that
        instant. Not the phones' messages (`memo`): their doors ask the phone to send again."""
        for tried in range(1, 1 if memo else CHANGED_TRIES):
            try:
                return await self._run_once(fn, urgent, memo)
            except Changed:
                log.info("a job's data changed meanwhile: it runs again (after try %d)", tried)
        return await self._run_once(fn, urgent, memo)  # the last try: its answer, whatever

    async def _run_once(self, fn: Callable[[Tx], T], urgent: bool, memo: bool) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            if future.done():  # the caller went away (client disconnected)
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        self._submit(Job(fn, settle, urgent, loop, memo))
        return await future

    def submit(self, fn: Callable[[Tx], Any]) -> None:
        """Run `fn` in a coming group, from any thread; nobody waits for it (a failure is
        logged). For the doorbell's thread, which must not wait on a commit."""

        def done(_result: Any, error: BaseException | None) -> None:
            if error is not None:
                log.error("a job nobody waited for failed: %s", error)

        self._submit(Job(fn, done))

    def run_sync(self, fn: Callable[[Tx], T]) -> T:
        """The same, from a thread that isn't the event loop (the CLI, tests, tools)."""
        if self._thread is None:
            return self._run_group_alone(fn)
        box: dict[str, Any] = {}
        ready = threading.Event()

        def done(result: T | None, error: BaseException | None) -> None:
            box["result"], box["error"] = result, error
            ready.set()

        self._submit(Job(fn, done))
        ready.wait()
        if box["error"] is not None:
            raise box["error"]
        return box["result"]  # type: ignore[no-any-return]

    def _submit(self, job: Job[Any]) -> None:
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        self._queue.put(job)

    def _run_group_alone(self, fn: Callable[[Tx], T]) -> T:
        try:
            results, touched = self._commit_group([Job(fn, lambda _r, _e: None)])
        finally:
            self._let_go()  # kept only by the writer's thread, which commits group after group
        self._answered(touched)
        result, error = results[0]
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    # -- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        waiting = Waiting()
        stopping = False
        while True:
            if not waiting:
                if stopping:
                    return
                stopping = waiting.add(self._queue.get()) or stopping
            while True:  # everything that is waiting now, without blocking
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                stopping = waiting.add(item) or stopping
            group = waiting.next_group()
            if group:
                self.urgent_groups += group[0].urgent
                outcomes, touched = self._commit_group(group)
                self._answer(group, outcomes)
                self._answered(touched)

    def _answer(
        self, group: list[Job[Any]], outcomes: list[tuple[Any, BaseException | None]]
    ) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Answer]] = {}
        for job, (result, error) in zip(group, outcomes, strict=True):
            if job.loop is not None:
                by_loop.setdefault(job.loop, []).append((job.done, result, error))
                continue
            try:
                job.done(result, error)
            except Exception:
                log.exception("could not answer a writer job")
        for loop, answers in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, answers)
            except Exception:  # e.g. the event loop is gone: the writer goes on
                log.exception("could not answer a writer job")

    def _answered(self, touched: Touched) -> None:
        if touched:
            try:
                self._on_answered(touched)
            except Exception:  # the bell must never break the writer
                log.exception("ringing the doorbell failed")

    def _commit_group(
        self, group: list[Job[Any]]
    ) -> tuple[list[tuple[Any, BaseException | None]], Touched]:
        """The group committed (each job alone if one of them fails), and what it touched."""
        touched = Touched()
        try:
            try:
                results = self._transaction(group, touched)
            except DBAPIError as exc:
                if exc.connection_invalidated or len(group) == 1 or not self._defers:
                    raise
                # On PostgreSQL the group's fixes went unread, and one that was not stored as
                # planned (a phone sent it twice) failed it: the group runs again as it is,
                # not deferred, where each job sees what happened (store/pg_writes.py),
                # before it is split into a transaction a job.
                results = self._transaction(group, touched, deferring=False)
        except StorageUnavailable as exc:
            self._refused()
            return [(None, exc) for _ in group], touched
        except DomainError as exc:
            if len(group) > 1 or group[0].memo:
                # A phone's message runs again alone, the memo emptied: what it kept of the
                # walk may be what another process has changed since.
                return self._each_alone(group, touched)
            # Its one job refused: running it again alone would only refuse again (one that
            # found its walk changed meanwhile is run again by `run`, on the walk as it is).
            self._after_commit(touched, 1)
            return [(None, exc)], touched
        except Exception:
            return self._each_alone(group, touched)
        self._took_writes()
        self._after_commit(touched, len(group))
        return [(r, None) for r in results], touched

    def _each_alone(
        self, group: list[Job[Any]], touched: Touched
    ) -> tuple[list[tuple[Any, BaseException | None]], Touched]:
        """One of the jobs failed (or the connection did): each runs in its own transaction."""
        outcome: list[tuple[Any, BaseException | None]] = []
        for job in group:
            try:
                outcome.append((self._transaction([job], touched, deferring=False)[0], None))
                self._took_writes()
            except StorageUnavailable as exc:
                self._refused()
                outcome.append((None, exc))
            except Exception as exc:
                outcome.append((None, exc))
        self._after_commit(touched, len(group))
        return outcome, touched

    def _refused(self) -> None:
        if self.failing_since is None:
            self.failing_since = self.fault_began = self._clock.now_ms()

    def _took_writes(self) -> None:
        if self.failing_since is not None:
            self.back_since = self._clock.now_ms()
        self.failing_since = None

    def _after_commit(self, touched: Touched, jobs: int) -> None:
        self.groups_committed += 1
        self.jobs_committed += jobs
        if touched:
            try:
                self._on_commit(touched)  # before the answers (revoked tokens forgotten)
            except Exception:
                log.exception("after a commit")
        if touched.alerts:
            try:
                self.on_alerts()
            except Exception:
                log.exception("ringing the notifier failed")

    def _transaction(
        self, jobs: list[Job[Any]], touched: Touched, *, deferring: bool = True
    ) -> list[Any]:
        """The jobs in one transaction, committed. The connection is not pinged before (on
        PostgreSQL a ping is a round trip for every group): if it was lost meanwhile (the
        server restarted, or ended it), the group's first statement, or a look before the
        commit is sent, says so, and the group runs once more on a new connection. Only when
        the loss came before the commit was sent: nothing of the group can have been kept
        then. On PostgreSQL a phone's fix waits to be sent with the commit, unless not
        `deferring` (once its group failed: store/pg_writes.py)."""
        now = self._clock.now_ms()
        for attempt in (1, 2):
            committing = False
            try:
                conn = self._connection()
                conn.begin()
                tx = Tx(conn, now, memo=self._memo, learned=self._learned)
                results = []
                postgres = conn.dialect.name == "postgresql"
                deferred = postgres and deferring
                with pg_writes.deferring(conn) if deferred else contextlib.nullcontext():
                    for job in jobs:
                        results.append(job.fn(tx))
                        if not job.memo:
                            self._memo.clear()  # it may have changed what the memo holds
                    writes = tx.take_later()
                    if self._announce is not None and tx.touched:
                        # Delivered on commit, never on rollback.
                        writes += self._announce(tx.touched)
                    if postgres:
                        pg_writes.still_connected(conn)
                    committing = True
                    commit_with(conn, writes)
            except BaseException as exc:
                self._let_go()  # rolled back; the next group takes a connection afresh
                self._memo.clear()  # it may hold what was rolled back
                if not isinstance(exc, DBAPIError):
                    raise
                if exc.connection_invalidated and not committing and attempt == 1:
                    log.info("the database connection was lost; the group runs again")
                    continue
                if (
                    exc.connection_invalidated
                    or isinstance(exc, OperationalError)
                    or is_transient(exc)
                ):
                    log.warning("the database could not commit: %s", exc.orig)
                    raise StorageUnavailable("the database is unavailable; try again") from exc
                raise
            touched.update(tx.touched)
            return results
        raise AssertionError("unreachable: the second attempt returns or raises")


_Answer = tuple[Callable[[Any, BaseException | None], None], Any, BaseException | None]


def _settle_all(answers: list[_Answer]) -> None:
    """In the event loop: the group's answers to the jobs it submitted."""
    for done, result, error in answers:
        try:
            done(result, error)
        except Exception:
            log.exception("could not answer a writer job")
