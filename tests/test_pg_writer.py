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
import socket
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import LOCAL, PG_URL, make_services, pg_schema
from tests.people import START, Cast
from tests.test_writer import add_person, count
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.domain.fixes import Fix
from walkwithme.store import pg_bell
from walkwithme.store.database import Database
from walkwithme.store.migrate import upgrade
from walkwithme.store.schema import fixes, people
from walkwithme.store.writer import NewFixes, StorageUnavailable, Touched, Tx, Writer
from walkwithme.usecases.devices import device_for_token
from walkwithme.usecases.fixes import Parsed, record_fixes


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated schema of its own on the test PostgreSQL."""
    with pg_schema("t_") as url:
        db = Database(url)
        upgrade(db.write_engine)
        db.dispose()
        yield url


def backend_of(writer: Writer) -> int:
    """The server process of the writer's connection."""
    pid = writer.run_sync(lambda tx: tx.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    assert isinstance(pid, int)
    return pid


def end_backend(pid: int) -> None:
    """The server ends that connection, as a restart or an administrator would."""
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
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
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, schema_url: str) -> str:
        moved = schema_url.replace(f"{self._to[0]}:{self._to[1]}", f"127.0.0.1:{self.port}")
        return f"{moved}&sslmode=disable&gssencmode=disable"

    def _counting(self, source: socket.socket, sink: socket.socket) -> None:
        """From a client to the server: its messages counted as they pass."""
        unread, started = b"", False
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                unread += data
                while True:  # the startup packets have no type byte; every later message has
                    head = 0 if not started else 1
                    if len(unread) < head + 4:
                        break
                    size = head + int.from_bytes(unread[head : head + 4], "big")
                    if len(unread) < size:
                        break
                    if not started:
                        started = unread[4:8] == (196608).to_bytes(4, "big")  # protocol 3.0
                    elif unread[:1] in (b"Q", b"S"):
                        with self._lock:
                            self.round_trips += 1
                    unread = unread[size:]
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

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self._down.set()
        with self._lock:
            cut, self._open = self._open, []
        for s in cut:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

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


def test_a_phones_fix_and_a_group_of_fixes_are_each_one_round_trip(
    pg_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """What makes PostgreSQL keep up with SQLite (benchmarks/README.md): the group's `BEGIN`,
    its fixes and its `COMMIT` go as one query (store/pg_writes.py)."""
    svc = make_services(pg_url, tmp_path, clock)
    outage = Outage()
    db = Database(outage.url(pg_url))
    writer = Writer(db.write_engine, clock)
    try:
        with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
            _mira, _noor, phone, walk = Cast(c, svc, clock).walking()
        device = svc.db.read_sync(partial(device_for_token, token=phone))
        assert device is not None

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
            before = outage.round_trips
            assert post(*numbers) == ["accepted"] * len(numbers)
            assert outage.round_trips - before == 1
        kept = svc.db.read_sync(
            lambda conn: conn.execute(
                sa.select(sa.func.count()).where(fixes.c.walk_id == walk["id"])
            ).scalar_one()
        )
        assert kept == 6
    finally:
        writer.stop()
        db.dispose()
        svc.db.dispose()
        outage.close()


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

        def touching(walk_id: int, *, fail: bool = False) -> Callable[[Tx], None]:
            def job(tx: Tx) -> None:
                add_person(walk_id)(tx)
                # Bound into the query as a literal on this side: quotes and all, said as is.
                tx.added_fixes(walk_id, NewFixes(1, 1, [{"id": 1, "odd": ODD}]))
                if fail:
                    raise RuntimeError("taken back")

            return job

        with pytest.raises(RuntimeError):
            writer.run_sync(touching(8, fail=True))
        # The listener's own process's notice is skipped (its own bell rang already).
        itself = Writer(db.write_engine, FakeClock(), announce=pg_bell.announcer("listening"))
        itself.run_sync(touching(6))
        writer.run_sync(touching(7))
        assert arrived.wait(10)
        assert [t.walks for t in heard] == [{7}]
        assert heard[0].fixes == {7: [NewFixes(1, 1, [{"id": 1, "odd": ODD}])]}
    finally:
        listener.stop()
        db.dispose()
