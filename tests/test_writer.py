"""The one writer: group commit, and one bad job never takes its neighbours down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from walkwithme.clock import FakeClock
from walkwithme.domain.errors import Conflict
from walkwithme.store.database import Database
from walkwithme.store.schema import insert_id, people
from walkwithme.store.writer import Tx, Writer


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
