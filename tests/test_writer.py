"""The one writer: group commit, and one bad job never takes its neighbours down."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from walkwithme.clock import FakeClock
from walkwithme.domain.errors import Changed, Conflict
from walkwithme.store.database import Database
from walkwithme.store.schema import insert_id, people
from walkwithme.store.tx import Tx
from walkwithme.store.waiting import Job, Waiting
from walkwithme.store.writer import CHANGED_TRIES, Writer


def add_person(n: int) -> Callable[[Tx], int]:
    def job(tx: Tx) -> int:
        return insert_id(
            tx.conn,
            people,
            email=f"p{n}@example.org",
            name=f"P{n}",
            password_hash="x",
            is_operator=False,
            timezone="UTC",
            pace_mps=1.3,
            created_at=tx.now_ms,
        )

    return job


def count(database: Database) -> int:
    return int(
        database.read_sync(
            lambda c: c.execute(sa.select(sa.func.count()).select_from(people)).scalar_one()
        )
    )


def test_jobs_waiting_together_are_committed_together(database: Database, clock: FakeClock) -> None:
    async def main() -> list[int]:
        writer = Writer(database.write_engine, clock)
        writer.start()
        try:
            return await asyncio.gather(*(writer.run(add_person(n)) for n in range(200)))
        finally:
            writer.stop()
            assert writer.jobs_committed == 200
            assert writer.groups_committed < 200

    ids = asyncio.run(main())
    assert len(set(ids)) == 200
    assert count(database) == 200


def test_a_failing_job_fails_alone(database: Database, clock: FakeClock) -> None:
    def refuse(tx: Tx) -> None:
        insert_id(
            tx.conn,
            people,
            email="half@example.org",
            name="Half",
            password_hash="x",
            is_operator=False,
            timezone="UTC",
            pace_mps=1.3,
            created_at=tx.now_ms,
        )
        raise Conflict("changed my mind")

    async def main() -> list[object]:
        writer = Writer(database.write_engine, clock)
        writer.start()
        try:
            results = await asyncio.gather(
                writer.run(add_person(1)),
                writer.run(refuse),
                writer.run(add_person(2)),
                return_exceptions=True,
            )
            return list(results)
        finally:
            writer.stop()

    first, failed, last = asyncio.run(main())
    assert isinstance(failed, Conflict)
    assert isinstance(first, int)
    assert isinstance(last, int)
    emails = database.read_sync(lambda c: [r.email for r in c.execute(sa.select(people.c.email))])
    assert sorted(emails) == ["p1@example.org", "p2@example.org"]


def test_stopping_finishes_what_was_submitted(database: Database, clock: FakeClock) -> None:
    async def main() -> None:
        writer = Writer(database.write_engine, clock)
        writer.start()
        pending = [asyncio.ensure_future(writer.run(add_person(n))) for n in range(50)]
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, writer.stop)
        await asyncio.gather(*pending)

    asyncio.run(main())
    assert count(database) == 50


def test_a_job_runs_at_the_clock_time_of_its_group(database: Database, clock: FakeClock) -> None:
    writer = Writer(database.write_engine, clock)
    clock.advance(minutes=3)
    assert writer.run_sync(lambda tx: tx.now_ms) == clock.now_ms()


def test_nothing_runs_without_a_writer_thread_unless_asked_synchronously(
    database: Database, clock: FakeClock
) -> None:
    writer = Writer(database.write_engine, clock)

    async def main() -> None:
        with pytest.raises(RuntimeError):
            await writer.run(add_person(1))

    asyncio.run(main())


# -- alarms first -------------------------------------------------------------------------------


def test_an_urgent_job_is_committed_ahead_of_the_jobs_waiting_before_it(
    database: Database, clock: FakeClock
) -> None:
    """The phones' fixes keep the queue full; an alarm's job waits for the group being
    committed, then goes first, in a group of its own."""
    order: list[str] = []
    busy, release = threading.Event(), threading.Event()

    def hold(tx: Tx) -> None:  # the group being committed when the alarm comes
        busy.set()
        release.wait(30)

    def job(name: str) -> Callable[[Tx], None]:
        def run(tx: Tx) -> None:
            order.append(name)
            add_person(len(order))(tx)

        return run

    async def main() -> None:
        writer = Writer(database.write_engine, clock)
        writer.start()
        try:
            holding = asyncio.ensure_future(writer.run(hold))
            await asyncio.to_thread(busy.wait, 30)
            fixes = [asyncio.ensure_future(writer.run(job(f"fix {n}"))) for n in (1, 2, 3)]
            alarm = asyncio.ensure_future(writer.run(job("alarm"), urgent=True))
            await asyncio.sleep(0)  # every job is in the queue before the writer looks again
            release.set()
            await asyncio.gather(holding, alarm, *fixes)
            assert writer.urgent_groups == 1
            assert writer.groups_committed == 3  # the held one, the alarm's, the fixes'
        finally:
            writer.stop()

    asyncio.run(main())
    assert order == ["alarm", "fix 1", "fix 2", "fix 3"]


def test_urgent_jobs_never_hold_the_others_back_for_more_than_one_group() -> None:
    def job(urgent: bool) -> Job[None]:
        return Job(lambda _tx: None, lambda _r, _e: None, urgent)

    waiting = Waiting()
    alarm_1, alarm_2, alarm_3 = job(True), job(True), job(True)
    fix_1, fix_2 = job(False), job(False)
    for item in (fix_1, alarm_1, fix_2):
        waiting.add(item)
    assert waiting.next_group() == [alarm_1]
    waiting.add(alarm_2)
    assert waiting.next_group() == [fix_1, fix_2]  # after an urgent group, the others' turn
    waiting.add(alarm_3)
    assert waiting.next_group() == [alarm_2, alarm_3]
    assert waiting.next_group() == []
    assert not waiting


def test_a_commit_that_made_alerts_rings_the_notifier_after_it_is_committed(
    database: Database, clock: FakeClock
) -> None:
    rung: list[int] = []  # how many people the database held when the bell rang
    writer = Writer(database.write_engine, clock, on_alerts=lambda: rung.append(count(database)))

    def alerting(tx: Tx) -> None:
        add_person(1)(tx)
        tx.alerted()

    writer.run_sync(add_person(2))
    assert rung == []  # no alerts, no ring
    writer.run_sync(alerting)
    assert rung == [2]  # after the commit: the notifier finds what it was rung for

    def alerting_then_failing(tx: Tx) -> None:
        add_person(3)(tx)
        tx.alerted()
        raise Conflict("no")

    with pytest.raises(Conflict):
        writer.run_sync(alerting_then_failing)
    assert rung == [2]  # rolled back: nothing to send


def void(_anything: object) -> None:
    return None


def test_a_group_is_answered_before_its_doorbell_and_a_caller_gone_spares_the_rest(
    database: Database, clock: FakeClock
) -> None:
    """Every caller of a group from one event loop is answered (one that went away
    meanwhile, too, without harm to the others), and only then is the doorbell rung; a
    revoked token is forgotten before the revocation is answered."""
    said: list[str] = []

    def job(n: int) -> Callable[[Tx], int]:
        person = add_person(n)

        def touching(tx: Tx) -> int:
            tx.touch(n)
            if n == 0:
                tx.revoked(7)
            return person(tx)

        return touching

    async def main() -> list[int | BaseException]:
        loop = asyncio.get_running_loop()
        rung = asyncio.Event()

        async def stream() -> None:  # a companion's live stream, woken by the doorbell
            await rung.wait()
            said.append("ring")

        writer = Writer(
            database.write_engine,
            clock,
            on_commit=lambda touched: said.append(f"forget {sorted(touched.devices)}"),
            # As the bell rings (bell.py): from the writer's thread, into the loop.
            on_answered=lambda _touched: void(loop.call_soon_threadsafe(rung.set)),
        )
        writer.start()
        listening = asyncio.ensure_future(stream())

        async def answered(n: int) -> int:  # a request: it awaits the writer itself
            result = await writer.run(job(n))
            said.append("answered")
            return result

        try:
            calls = [asyncio.ensure_future(answered(n)) for n in range(50)]
            await asyncio.sleep(0)  # every job submitted
            calls[3].cancel()  # her phone hung up
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            writer.stop()
            await listening

    results = asyncio.run(main())
    assert isinstance(results[3], asyncio.CancelledError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 3)
    assert count(database) == 50  # the job of the caller who went away was committed too
    assert said[0] == "forget [7]"
    first_ring = said.index("ring")
    assert said.count("answered") == 49
    # The group that revoked the token answered its callers before its ring.
    assert said[1:first_ring]
    assert set(said[1:first_ring]) == {"answered"}


def test_a_job_whose_data_changed_meanwhile_runs_again_on_what_is_there_now(
    database: Database, clock: FakeClock
) -> None:
    """Another process committed between a job's read and its write: nothing of the job was
    kept, and it runs again (a companion's "I'm on it" is not refused because her phone's SOS
    reached another process that instant). Each run decides afresh; a job that keeps
    finding it changed fails as it did; the phones' messages are not run again by `run` (their
    doors ask the phone to send again)."""
    tried: list[int] = []

    def changed_once(tx: Tx) -> int:
        made = add_person(len(tried))(tx)
        tried.append(made)
        if len(tried) == 1:
            raise Changed("the walk changed meanwhile; try again")
        return made

    def always_changed(tx: Tx) -> None:
        tried.append(0)
        raise Changed("the walk changed meanwhile; try again")

    async def main() -> tuple[object, tuple[object, int], tuple[object, int]]:
        writer = Writer(database.write_engine, clock)
        writer.start()
        try:
            first = await writer.run(changed_once)
            tried.clear()
            second = await asyncio.gather(writer.run(always_changed), return_exceptions=True)
            runs = len(tried)
            tried.clear()
            third = await asyncio.gather(
                writer.run(always_changed, memo=True), return_exceptions=True
            )
            return first, (second[0], runs), (third[0], len(tried))
        finally:
            writer.stop()

    first, (second, runs), (third, memo_runs) = asyncio.run(main())
    assert isinstance(first, int)
    # The first run's person was taken back with it; the second's was kept.
    emails = database.read_sync(lambda c: [r.email for r in c.execute(sa.select(people.c.email))])
    assert emails == ["p1@example.org"]
    assert isinstance(second, Changed)
    assert runs == CHANGED_TRIES
    assert isinstance(third, Changed)
    assert memo_runs == 2  # in its group, then alone with the memo emptied; not by `run`


def _is_closed(dbapi_conn: Any) -> bool:
    if hasattr(dbapi_conn, "closed"):  # psycopg
        return bool(dbapi_conn.closed)
    try:  # sqlite3 says so only when asked to do something
        dbapi_conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_a_read_still_running_when_the_service_stops_closes_its_connection_as_it_ends(
    db_url: str,
) -> None:
    """The service stops with a read still on a worker thread (a companion's page loading):
    once the read ends, its connection is closed, not left open in a pool nobody will use
    again, for the garbage collector to find later (an open PostgreSQL connection held until
    then, and a warning in whatever runs at that moment)."""
    db = Database(db_url)
    reading, release = threading.Event(), threading.Event()
    used: list[Any] = []

    def slow_read(conn: sa.Connection) -> int:
        used.append(conn.connection.dbapi_connection)
        reading.set()
        assert release.wait(10)
        return int(conn.exec_driver_sql("SELECT 1").scalar_one())

    reader = threading.Thread(target=db.read_sync, args=(slow_read,))
    reader.start()
    assert reading.wait(10)
    db.dispose()
    release.set()
    reader.join(10)
    assert not reader.is_alive()
    assert _is_closed(used[0])
