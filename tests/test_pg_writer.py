"""The writer on PostgreSQL, with as few waits on the server a group as it can
(store/database.py): its one connection is not pinged before each group, and the group's last
writes and `NOTIFY`s go with its `COMMIT` in one query. None of that may lose anything: a
group is still one transaction (all of it or nothing), a connection the server ended is
replaced without the group failing, a server that is down refuses writes with
StorageUnavailable (503) and the writer takes writes again when it is back, and a `NOTIFY` is
heard only for a group that committed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from tests.conftest import LOCAL, PG_URL, make_services, pg_schema
from tests.people import START, Cast
from tests.test_authorization import _until
from tests.test_phones import location, owntracks
from tests.test_writer import add_person, count
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.domain.fixes import Fix
from walkwithme.services import Services
from walkwithme.store import pg_bell
from walkwithme.store.database import Database, StorageUnavailable, literals
from walkwithme.store.migrate import upgrade
from walkwithme.store.schema import fixes, people
from walkwithme.store.tx import NewFixes, Touched, Tx
from walkwithme.store.waiting import Job
from walkwithme.store.writer import Writer
from walkwithme.usecases.devices import Device, device_for_token
from walkwithme.usecases.fixes import Outcome, Parsed, record_fixes


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated schema of its own on the test PostgreSQL."""
    with pg_schema("t_") as url:
        db = Database(url)
        upgrade(db.write_engine)
        db.dispose()
        yield url


def backend_of(writer: Writer) -> int:
    """The server process of the writer's connection. Asked as a job that keeps the writer's
    memo (it changes nothing): the next fix then sends nothing before its commit, so the
    connection's loss is found by the writer's look before it sends (store/pg_writes.py)."""

    async def ask() -> object:
        return await writer.run(
            lambda tx: tx.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar(), memo=True
        )

    pid = (
        asyncio.run(ask())
        if writer.running
        else writer.run_sync(lambda tx: tx.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    )
    assert isinstance(pid, int)
    return pid


def end_backend(pid: int) -> None:
    """The server ends that connection, as a restart or an administrator would; once its
    server process is gone (it says why, then closes the connection, as the client sees it
    from then on)."""
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            ended = conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
            assert ended.scalar()
    finally:
        admin.dispose()


def test_a_group_is_one_transaction_from_its_first_statement(pg_url: str) -> None:
    """The first statement of a group that fails is taken back with the rest."""
    db = Database(pg_url)
    writer = Writer(db.write_engine, FakeClock())
    try:

        def half(tx: Tx) -> None:
            add_person(1)(tx)  # the group's first statement
            raise RuntimeError("and then it failed")

        with pytest.raises(RuntimeError):
            writer.run_sync(half)
        assert count(db) == 0
        writer.run_sync(add_person(2))
        assert count(db) == 1
    finally:
        db.dispose()


def test_the_writer_goes_on_when_the_server_ends_its_connection(pg_url: str) -> None:
    db = Database(pg_url)
    writer = Writer(db.write_engine, FakeClock())
    writer.start()
    try:
        writer.run_sync(add_person(1))
        first = backend_of(writer)
        end_backend(first)
        # Its first statement finds the connection gone: the group runs again on a new one,
        # and neither fails nor is kept twice.
        writer.run_sync(add_person(2))
        assert backend_of(writer) != first
        assert count(db) == 2
        assert writer.failing_since is None
    finally:
        writer.stop()
        db.dispose()


def test_a_fix_answered_after_the_server_ended_the_writers_connection_is_kept(
    pg_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    svc = make_services(pg_url, tmp_path, clock)
    try:
        with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
            cast = Cast(c, svc, clock)
            _mira, _noor, phone, walk = cast.walking()
            assert cast.statuses(phone, cast.fix(START)) == ["accepted"]
            end_backend(backend_of(svc.writer))
            clock.advance(seconds=5)
            sent = cast.fix(START)
            assert cast.statuses(phone, sent) == ["accepted"]
            kept = svc.db.read_sync(
                lambda conn: conn.execute(
                    sa.select(fixes.c.seq).where(
                        fixes.c.walk_id == walk["id"], fixes.c.taken_at == sent["t"]
                    )
                ).scalar_one()
            )
            assert kept == 2
    finally:
        svc.db.dispose()


class Outage:
    """A TCP proxy to the test PostgreSQL that can go down (every connection through it cut,
    new ones refused) and come back, as the server would in a restart. It counts the waits
    for the server its clients begin: each query (`Q`) and each `Sync` that ends a statement
    sent with parameters is one round trip (the URL it gives asks for no TLS)."""

    def __init__(self) -> None:
        target = sa.engine.make_url(PG_URL)
        self._to = (target.host or "127.0.0.1", target.port or 5432)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._down = threading.Event()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.round_trips = 0
        self.commits = 0  # queries that end with a COMMIT
        # Set: the next query with a COMMIT reaches the server, whose answer is held back,
        # and then every connection is cut (the server committed; the client can't know).
        self.cut_at_commit = threading.Event()
        self._holding = threading.Event()
        self._held = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, schema_url: str) -> str:
        moved = schema_url.replace(f"{self._to[0]}:{self._to[1]}", f"127.0.0.1:{self.port}")
        return f"{moved}&sslmode=disable&gssencmode=disable"

    def _counting(self, source: socket.socket, sink: socket.socket) -> None:
        """From a client to the server: its messages counted as they pass."""
        unread, started = b"", False
        try:
            while data := source.recv(65536):
                unread += data
                while True:  # the startup packets have no type byte; every later message has
                    head = 0 if not started else 1
                    if len(unread) < head + 4:
                        break
                    size = head + int.from_bytes(unread[head : head + 4], "big")
                    if len(unread) < size:
                        break
                    message, unread = unread[:size], unread[size:]
                    if not started:
                        started = message[4:8] == (196608).to_bytes(4, "big")  # protocol 3.0
                    elif message[:1] in (b"Q", b"S"):
                        with self._lock:
                            self.round_trips += 1
                    committing = message[:1] == b"Q" and b"COMMIT" in message
                    self.commits += committing
                    if committing and self.cut_at_commit.is_set():
                        self._holding.set()
                        sink.sendall(message)
                        self._held.wait(10)  # the server answered: it committed
                        self.cut_at_commit.clear()
                        self._cut()  # new connections are taken, as after a network fault
                        return
                    sink.sendall(message)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._down.is_set():
                client.close()
                continue
            server = socket.create_connection(self._to)
            with self._lock:
                self._open += [client, server]
            threading.Thread(target=self._counting, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self._holding.is_set():
                    self._held.set()
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self._down.set()
        self._cut()

    def _cut(self) -> None:
        with self._lock:
            cut, self._open = self._open, []
        for s in cut:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self._holding.clear()
        self._held.clear()

    def up(self) -> None:
        self._down.clear()

    def close(self) -> None:
        self.down()
        self._server.close()


def test_while_the_server_is_down_writes_are_refused_and_taken_again_once_it_is_back(
    pg_url: str,
) -> None:
    outage = Outage()
    db = Database(outage.url(pg_url))
    clock = FakeClock()
    writer = Writer(db.write_engine, clock)
    writer.start()
    try:
        writer.run_sync(add_person(1))
        outage.down()
        # Not kept, and said so (the API answers 503 with Retry-After): the phone sends again.
        with pytest.raises(StorageUnavailable):
            writer.run_sync(add_person(2))
        assert writer.failing_since == clock.now_ms()
        with pytest.raises(StorageUnavailable):
            writer.run_sync(add_person(2))
        outage.up()
        writer.run_sync(add_person(2))
        assert writer.failing_since is None
        assert count(db) == 2
    finally:
        writer.stop()
        db.dispose()
        outage.close()


@dataclass
class Watched:
    """A walk on a service of its own, and a second writer on the same database whose every
    message to the server passes through a counting proxy: her phone's fixes go through it."""

    services: Services
    outage: Outage
    writer: Writer
    device: Device
    walk_id: int

    def track(self) -> list[int]:
        """The walk's fixes' numbers, as stored."""
        return self.services.db.read_sync(
            lambda conn: list(
                conn.execute(
                    sa.select(fixes.c.seq).where(fixes.c.walk_id == self.walk_id).order_by("seq")
                ).scalars()
            )
        )


@pytest.fixture
def watched(pg_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Watched]:
    svc = make_services(pg_url, tmp_path, clock)
    outage = Outage()
    db = Database(outage.url(pg_url))
    writer = Writer(db.write_engine, clock)
    try:
        with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
            _mira, _noor, phone, walk = Cast(c, svc, clock).walking()
        device = svc.db.read_sync(partial(device_for_token, token=phone))
        assert device is not None
        yield Watched(svc, outage, writer, device, walk["id"])
    finally:
        writer.stop()
        db.dispose()
        svc.db.dispose()
        outage.close()


def test_a_phones_fix_and_a_group_of_fixes_are_each_one_round_trip(
    watched: Watched, clock: FakeClock
) -> None:
    """What makes PostgreSQL keep up with SQLite (benchmarks/README.md): the group's `BEGIN`,
    its fixes and its `COMMIT` go as one query (store/pg_writes.py)."""
    writer, device = watched.writer, watched.device

    def fix(n: int) -> list[Parsed]:
        return [Fix(clock.now_ms() - 100 + n, START[0] + n * 1e-5, START[1], 8.0)]

    def fixes_of_requests(*numbers: int) -> Callable[[Tx], list[str]]:
        def job(tx: Tx) -> list[str]:
            return [record_fixes(tx, device, fix(n))[0].status for n in numbers]

        return job

    def post(*numbers: int) -> list[str]:  # as the fixes' door does
        return asyncio.run(writer.run(fixes_of_requests(*numbers), memo=True))

    writer.start()
    assert post(1) == ["accepted"]  # her walk is read, then kept
    for numbers in [(2,), (3,), (4, 5, 6)]:
        clock.advance(seconds=1)
        before = watched.outage.round_trips
        assert post(*numbers) == ["accepted"] * len(numbers)
        assert watched.outage.round_trips - before == 1
    assert watched.track() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("standard_strings", ["on", "off"])
def test_a_deferred_fixs_values_are_written_as_psycopg_writes_them(
    pg_url: str, standard_strings: str
) -> None:
    """A deferred fix's values are written into its `EXECUTE` by the service's own quick way
    for the plain ones (store/database.py `literals`): each exactly as psycopg's `mogrify`
    writes it, and read back by the server as the value it was."""
    values: list[object] = [
        *(0, 1, -5, 7, 2**62, -(2**63), 2**70, True, False, None),
        *(0.0, -0.0, 1.5, -1.5, 0.1, 1e-7, 1e16, -2.5e-300, 60.16995, float("nan"), float("inf")),
        *("", "a", "it's", "''", "a\\b", "\\'", "ü ä 😀", '{"lat": 60.1, "x": "y"}', "--", "$1"),
    ]
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as dbapi_conn:
        dbapi_conn.execute(f"SET standard_conforming_strings = {standard_strings}")
        binder = psycopg.ClientCursor(dbapi_conn)
        said = literals(binder, values)
        assert said == ", ".join(str(binder.mogrify("%s", [value])) for value in values)
        # As the prepared statement's parameters take them: each as its column's type.
        types = {bool: "boolean", int: "numeric", float: "float8", str: "text"}
        typed = [f"({literals(binder, [v])})::{types.get(type(v), 'text')}" for v in values]
        back = dbapi_conn.execute(f"SELECT {', '.join(typed)}").fetchone()
    assert back is not None
    for value, read in zip(values, back, strict=True):
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(read, float)
            assert math.isnan(read)
        else:
            assert read == value  # -0.0 too, as psycopg writes it: read as 0.0


def test_a_group_whose_commit_was_sent_is_not_run_again_when_the_answer_is_lost(
    pg_url: str,
) -> None:
    """The server may have committed it: the caller is told "try again" (503; a phone sends
    again, and its fix is then a duplicate), and the job is never run a second time."""
    outage = Outage()
    db = Database(outage.url(pg_url))
    writer = Writer(db.write_engine, FakeClock())
    runs: list[int] = []

    def adding(tx: Tx) -> int:
        runs.append(1)
        return add_person(2)(tx)

    direct = Database(pg_url)  # the database itself, not through the cut proxy
    try:
        writer.run_sync(add_person(1))
        outage.cut_at_commit.set()
        with pytest.raises(StorageUnavailable):
            writer.run_sync(adding)
        assert len(runs) == 1
        # It was committed, once. (Read past the proxy: a new connection through it, just
        # after the cut, timed out once in a CI run.)
        assert count(direct) == 2
    finally:
        direct.dispose()
        db.dispose()
        outage.close()


def test_a_fix_sent_twice_among_a_groups_fixes_runs_the_group_again_once(
    watched: Watched, clock: FakeClock
) -> None:
    """Sent with the commit unread, a resent fix fails its group (store/pg_writes.py): the
    group runs again as a whole, not deferred, rather than in a transaction a job (a group
    holds up to 500 phones' fixes, and phones resend most when the service is slow)."""
    writer = watched.writer
    now = clock.now_ms()
    first, second = (Fix(now - ms, START[0], START[1] + ms * 1e-7, 8.0) for ms in (2000, 1000))
    said: list[str] = []

    def request(fix: Fix) -> Job[list[Outcome]]:
        def answered(outcome: list[Outcome] | None, error: BaseException | None) -> None:
            said.append(outcome[0].status if outcome else repr(error))

        job = partial(record_fixes, device=watched.device, batch=[fix])
        return Job(job, answered, memo=True)

    group = [request(first), request(first), request(second)]  # three phones' requests
    before = watched.outage.commits
    outcomes, _touched = writer._commit_group(group)
    writer._answer(group, outcomes)
    assert said == ["accepted", "duplicate", "accepted"]
    assert watched.outage.commits - before == 2  # the group deferred, then not (not 1 + 3)
    assert watched.track() == [1, 2]


def test_a_fix_of_a_group_taken_back_before_it_was_sent_leaves_nothing_behind(
    watched: Watched, clock: FakeClock
) -> None:
    """A deferred fix is sent, the first time, with the `PREPARE` of its statement; a group
    taken back before anything was sent prepared nothing, and the next fix prepares it."""
    writer, device = watched.writer, watched.device
    writer.run_sync(lambda tx: tx.conn.exec_driver_sql("SELECT 1"))  # connected
    fix = Fix(clock.now_ms(), START[0], START[1], 8.0)

    def then_failing(tx: Tx) -> None:
        record_fixes(tx, device, [fix])
        raise RuntimeError("and then the job failed")

    with pytest.raises(RuntimeError):
        writer.run_sync(then_failing)
    before = watched.outage.commits
    assert writer.run_sync(partial(record_fixes, device=device, batch=[fix]))[0].status == (
        "accepted"
    )
    assert watched.outage.commits - before == 1  # deferred, and went through at once


def test_last_writes_that_fail_at_the_commit_take_their_group_back(pg_url: str) -> None:
    """The writes kept for the end of a group go with its COMMIT: if one is refused there,
    nothing of the group is kept, and its jobs are run again one by one (the one at fault
    fails alone)."""
    db = Database(pg_url)
    writer = Writer(db.write_engine, FakeClock())
    rename = (
        people.update()
        .where(people.c.id == sa.bindparam("person_id"))
        .values(email=sa.bindparam("email"))
    )
    taken = writer.run_sync(add_person(1))
    writer.run_sync(add_person(9))
    writer.start()

    def clashing(tx: Tx) -> None:
        add_person(2)(tx)
        tx.later(rename, person_id=taken, email="p9@example.org")  # p9's already

    async def main() -> list[object]:
        return list(
            await asyncio.gather(
                writer.run(clashing), writer.run(add_person(3)), return_exceptions=True
            )
        )

    try:
        failed, third = asyncio.run(main())
    finally:
        writer.stop()
    try:
        assert isinstance(failed, sa.exc.IntegrityError)
        assert isinstance(third, int)
        emails = db.read_sync(lambda c: sorted(c.execute(sa.select(people.c.email)).scalars()))
        assert emails == ["p1@example.org", "p3@example.org", "p9@example.org"]
    finally:
        db.dispose()


ODD = "it's a \\ 'quoted' \"odd\" ü; COMMIT; -- string"


def test_a_notice_is_heard_for_a_group_that_committed_and_never_for_one_taken_back(
    pg_url: str,
) -> None:
    """Nor for one of the listener's own process."""
    db = Database(pg_url)
    heard: list[Touched] = []
    arrived = threading.Event()

    def news(touched: Touched) -> None:
        heard.append(touched)
        arrived.set()

    listener = pg_bell.Listener(pg_url, "listening", news, lambda: None)
    listener.start()
    writer = Writer(db.write_engine, FakeClock(), announce=pg_bell.announcer("writing"))
    try:
        assert listener.listening.wait(10)

        def adding_fixes(walk_id: int, *, fail: bool = False) -> Callable[[Tx], None]:
            def job(tx: Tx) -> None:
                add_person(walk_id)(tx)
                # Bound into the query as a literal on this side: quotes and all, said as is.
                tx.added_fixes(walk_id, NewFixes(1, 1, [{"id": 1, "odd": ODD}]))
                if fail:
                    raise RuntimeError("taken back")

            return job

        with pytest.raises(RuntimeError):
            writer.run_sync(adding_fixes(8, fail=True))
        # The listener's own process's notice is skipped (its own bell rang already).
        itself = Writer(db.write_engine, FakeClock(), announce=pg_bell.announcer("listening"))
        itself.run_sync(adding_fixes(6))
        writer.run_sync(adding_fixes(7))
        assert arrived.wait(10)
        assert [t.walks for t in heard] == [{7}]
        assert heard[0].fixes == {7: [NewFixes(1, 1, [{"id": 1, "odd": ODD}])]}
    finally:
        listener.stop()
        db.dispose()


def test_the_doorbell_listens_again_after_the_server_ended_its_connection(pg_url: str) -> None:
    """Every stream of the process then checks again (what was said meanwhile is lost), and
    the other processes' notices are heard again."""
    db = Database(pg_url)
    heard: list[Touched] = []
    arrived, again = threading.Event(), threading.Event()

    def news(touched: Touched) -> None:
        heard.append(touched)
        arrived.set()

    name = pg_bell.origin()  # its connection found by its name, whatever else runs
    listener = pg_bell.Listener(pg_url, name, news, again.set)
    listener.start()
    writer = Writer(db.write_engine, FakeClock(), announce=pg_bell.announcer("writing"))
    admin = sa.create_engine(PG_URL)
    try:
        assert listener.listening.wait(10)
        with admin.begin() as conn:
            (pid,) = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": pg_bell.listener_name(name)},
            ).one()
        end_backend(pid)
        assert again.wait(15)  # it listens again, and says so
        assert listener.listening.wait(10)

        writer.run_sync(touching(5))
        assert arrived.wait(10)
        assert [t.walks for t in heard] == [{5}]
    finally:
        listener.stop()
        admin.dispose()
        db.dispose()


def touching(walk_id: int) -> Callable[[Tx], None]:
    """A job that changes something of walk `walk_id` (its streams are told)."""

    def job(tx: Tx) -> None:
        add_person(walk_id)(tx)
        tx.touch(walk_id)

    return job


@dataclass
class Process:
    """What a `serve` process has on PostgreSQL for the doorbell: a writer that notices only
    when another process listens, and a listener that greets the others and hears them."""

    writer: Writer
    listener: pg_bell.Listener
    heard: list[Touched]
    arrived: threading.Event
    looked_again: threading.Event  # its streams were asked to check again

    @classmethod
    def start(cls, url: str, db: Database, name: str) -> Process:
        heard: list[Touched] = []
        arrived, again = threading.Event(), threading.Event()

        def news(touched: Touched) -> None:
            heard.append(touched)
            arrived.set()

        def say(word: str) -> None:
            writer.submit(pg_bell.saying(name, word))

        listener = pg_bell.Listener(url, name, news, again.set, say=say)
        writer = Writer(
            db.write_engine, FakeClock(), announce=pg_bell.announcer(name, listener.alone)
        )
        writer.start()
        listener.start()
        assert listener.listening.wait(10)
        return cls(writer, listener, heard, arrived, again)

    def touch(self, walk_id: int) -> None:
        self.writer.run_sync(touching(walk_id))

    def stop(self) -> None:
        self.listener.stop()
        self.writer.stop()


def test_a_process_alone_notices_nothing_and_one_that_joins_hears_every_commit_after_hello(
    pg_url: str,
) -> None:
    """Alone on the database, a process's commits send no notice (nobody would hear them). A
    second process says hi as it starts listening; the first answers, each asks the other to
    look again at what it committed alone, and from then on each hears what the other
    commits."""
    db = Database(pg_url)
    spy = psycopg.connect(sa.make_url(pg_url).render_as_string(False).replace("+psycopg", ""))
    spy.autocommit = True
    channel = db.read_sync(lambda c: c.exec_driver_sql(f"SELECT {pg_bell.CHANNEL}").scalar())
    spy.execute(f'LISTEN "{channel}"')
    first = Process.start(pg_url, db, "first")
    second: Process | None = None
    try:
        first.touch(3)
        first.touch(4)
        said = [json.loads(n.payload) for n in spy.notifies(timeout=0.5, stop_after=10)]
        assert said == [{"o": "first", "hi": 1}]  # its hello, and nothing of its commits
        assert first.listener.alone()
        # A command (no listener) always tells what it changed, and is heard; but it is no
        # process to notice for.
        command = Writer(
            db.write_engine,
            FakeClock(),
            announce=pg_bell.announcer("command", listening=lambda: False),
        )
        command.run_sync(touching(5))
        assert first.arrived.wait(10)
        assert [t.walks for t in first.heard] == [{5}]
        assert first.listener.alone()
        first.heard.clear()
        first.arrived.clear()

        second = Process.start(pg_url, db, "second")
        assert second.listener.met.wait(10)  # the first answered its hello
        assert first.listener.met.is_set()
        assert not first.listener.alone()
        # Each looks again at what the other committed while it thought itself alone.
        assert first.looked_again.wait(10)
        assert second.looked_again.wait(10)
        first.touch(7)
        assert second.arrived.wait(10)
        assert [t.walks for t in second.heard] == [{7}]
        second.touch(9)
        assert first.arrived.wait(10)
        assert [t.walks for t in first.heard] == [{9}]
    finally:
        if second is not None:
            second.stop()
        first.stop()
        spy.close()
        db.dispose()


@dataclass
class Served:
    """The service, its database reached through a proxy that can go down, and its client."""

    outage: Outage
    services: Services
    client: TestClient


@pytest.fixture
def served(pg_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Served]:
    outage = Outage()
    svc = make_services(outage.url(pg_url), tmp_path, clock)
    try:
        with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
            yield Served(outage, svc, c)
    finally:
        svc.db.dispose()
        outage.close()


def test_while_the_server_is_down_the_phone_doors_and_healthz_say_503_never_500(
    served: Served, clock: FakeClock
) -> None:
    """What is read on the way (her phone's OwnTracks key, the outbox's counts) can't be read
    either: a 503 with Retry-After, which the phone's app retries and a monitor reads as down;
    not a bare 500. Once the server is back, her fix is taken."""
    outage, svc, c = served.outage, served.services, served.client
    cast = Cast(c, svc, clock)
    _mira, _noor, phone, walk = cast.walking()
    outage.down()
    clock.advance(seconds=5)
    refused = owntracks(cast, phone, location(cast, START))
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"]
    health = c.get("/healthz")
    assert health.status_code == 503, health.text
    assert health.json()["ok"] is False
    assert health.json()["storage"]["writes"] is False
    outage.up()
    clock.advance(seconds=5)
    taken = owntracks(cast, phone, location(cast, START))
    assert taken.status_code == 200, taken.text
    assert c.get("/healthz").json()["ok"] is True
    stored = svc.db.read_sync(
        lambda conn: conn.execute(
            sa.select(sa.func.count()).where(fixes.c.walk_id == walk["id"])
        ).scalar_one()
    )
    assert stored == 1


def test_after_an_outage_only_reads_met_her_phone_is_waited_for_before_she_is_asked(
    served: Served, clock: FakeClock
) -> None:
    """Her phone's posts failed at their first read (its token), and the watchdog's looks at
    theirs: no write of this process's was refused, so nothing held the watchdog back once
    the server was up, and she was asked "Are you OK?" 3 s later, her phone's retry still on
    its way (a review of faults with two processes). Now any refused read counts as the
    fault: her phone has `CATCH_UP_MS` to be heard, and is."""
    outage, svc, c = served.outage, served.services, served.client
    cast = Cast(c, svc, clock)
    mira, _noor, phone, walk = cast.walking()
    outage.down()
    clock.advance(seconds=5)
    with pytest.raises(StorageUnavailable):  # its look, a few seconds in: the fault began
        svc.watchdog.tick_sync()
    clock.advance(minutes=10)  # long past her silence's limit
    assert owntracks(cast, phone, location(cast, START)).status_code == 503
    with pytest.raises(StorageUnavailable):
        svc.watchdog.tick_sync()
    outage.up()
    clock.advance(seconds=2)
    assert svc.watchdog.tick_sync() == []  # not asked: her phone is waited for
    clock.advance(seconds=20)
    assert owntracks(cast, phone, location(cast, START)).status_code == 200
    assert "check" not in [e["kind"] for e in cast.events(mira, walk)]


def _closing(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Its messages until the server closes it, and the code it closes with (within 5 s)."""
    seen: list[dict[str, Any]] = []
    with ThreadPoolExecutor(1) as pulling:
        while True:
            got = pulling.submit(ws.receive).result(timeout=5)
            if got["type"] == "websocket.close":
                return seen, int(got["code"])
            seen.append(json.loads(got["text"]))


def test_a_live_stream_the_database_cant_be_read_for_says_so_and_closes_to_be_tried_again(
    served: Served, clock: FakeClock
) -> None:
    """It was dropped by an exception (no last message, an abnormal close): a client that
    does not reconnect on its own missed every fix after. Now it says why, with WebSocket's
    "try again later" (1013)."""
    outage, svc, c = served.outage, served.services, served.client
    _mira, noor, _phone, walk = Cast(c, svc, clock).walking()
    live = f"/api/walks/{walk['id']}/live"
    with c.websocket_connect(live, headers=noor.auth) as ws:
        _until(ws, "walk")
        outage.down()
        svc.bell.ring_all_threadsafe()  # news: the stream reads
        last, code = _closing(ws)
    assert last[-1]["type"] == "closed", last
    assert "connect again" in last[-1]["reason"]
    assert code == 1013
    # Opened meanwhile: refused as a request is, a 503 worth a retry.
    with pytest.raises(WebSocketDenialResponse) as refused:
        c.websocket_connect(live, headers=noor.auth).__enter__()
    assert refused.value.status_code == 503
