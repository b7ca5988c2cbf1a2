"""A fault is a 5xx that makes a phone retry, and loses nothing."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import IN_CI, LOCAL, waiting_on_locks
from tests.people import HOME, START, Cast, between
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.services import build_services
from walkwithme.store.database import Database


def test_a_locked_database_answers_503_and_the_retry_is_kept_once(
    impatient: tuple[Cast, Path],
) -> None:
    cast, path = impatient
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira)
    fix = cast.fix(START)

    # A backup (or any other process) holds the write lock.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        answer = cast.client.post(
            "/api/fixes", json=fix, headers={"Authorization": f"Bearer {phone}"}
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "try again" in answer.json()["error"]
    assert "Traceback" not in answer.text

    assert cast.statuses(phone, fix) == ["accepted"]
    assert cast.statuses(phone, fix) == ["duplicate"]
    track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
    assert len(track) == 1


def test_a_watchdog_that_cannot_write_is_stuck_and_says_so(
    impatient: tuple[Cast, Path],
) -> None:
    """A due walk whose alarm can't be written: the watchdog's looks don't count, so /healthz
    fails and a dead man's switch stops hearing from us."""
    cast, path = impatient
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.start_walk(mira)
    watchdog = cast.services.watchdog
    assert watchdog.tick_sync() == []
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(5):  # the walk falls due; every look fails to write its check
            cast.clock.advance(minutes=1)
            assert watchdog.tick_sync() == []
        assert watchdog.stuck()
        assert cast.client.get("/healthz").status_code == 503
    finally:
        other.execute("ROLLBACK")
        other.close()
    # Written again: what her phone sent meanwhile may still be on its way (phones retry), so
    # she is asked only once it had a minute to come (a review of faults: a phone that never
    # stopped sending was asked about as silent).
    assert watchdog.tick_sync() == []
    assert not watchdog.stuck()
    cast.clock.advance(seconds=59)
    assert watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    assert watchdog.tick_sync() == ["check"]


@pytest.mark.parametrize("resent", [True, False], ids=["her phone sends again", "it doesn't"])
def test_after_a_database_fault_her_phones_held_positions_come_before_any_question(
    impatient: tuple[Cast, Path], resent: bool
) -> None:
    """Her phone sends every minute; another process holds the database for five minutes:
    each send is refused (503, to be sent again). Once the database is back, the watchdog's
    first look asked "Are you OK?" about a phone that never stopped (a review of faults). It
    waits a minute for the phone's held positions; if none come, she is asked."""
    cast, path = impatient
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira)
    assert cast.statuses(phone, cast.fix(START)) == ["accepted"]
    watchdog = cast.services.watchdog
    held = []
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for step in range(1, 6):
            cast.clock.advance(minutes=1)
            held.append(cast.fix(between(START, HOME, step / 10)))  # walking home
            refused = cast.client.post(
                "/api/fixes", json={"fixes": held}, headers={"Authorization": f"Bearer {phone}"}
            )
            assert refused.status_code == 503
            assert watchdog.tick_sync() == []
    finally:
        other.execute("ROLLBACK")
        other.close()
    cast.clock.advance(seconds=5)
    assert watchdog.tick_sync() == []  # the first look after the fault: held
    cast.clock.advance(seconds=5)
    if resent:
        assert set(cast.statuses(phone, *held)) == {"accepted"}
    cast.clock.advance(seconds=55)
    decided = watchdog.tick_sync()
    assert decided == ([] if resent else ["check"])
    kinds = [e["kind"] for e in cast.events(noor, walk)]
    assert ("check" in kinds) is not resent


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A data folder on a disk of its own, 16 MB, that a test can fill (a tmpfs: root only)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        message = f"can't mount a small disk here: {mounted.stderr.decode().strip()}"
        if IN_CI:
            pytest.fail(message + " (under CI the machine can)")
        pytest.skip(message)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_said_by_healthz_and_phones_are_told_to_send_again(
    small_disk: Path, clock: FakeClock
) -> None:
    """While the disk is full, every fix gets 503 (sent again by the phone, lost by nobody),
    and /healthz says so: a monitor must see it, not "ok" beside refused fixes. Once there is
    room, both are well again by themselves."""
    url = f"sqlite:///{small_disk / 'wwm.db'}"
    config = load_config({"WWM_DATA": str(small_disk), "WWM_DATABASE_URL": url})
    svc = build_services(config, clock)
    svc.background_watchdog = False
    try:
        with TestClient(create_app(svc), client=LOCAL) as client:
            cast = Cast(client, svc, clock)
            _mira, _noor, phone, _walk = cast.walking()
            assert client.get("/healthz").status_code == 200
            filler = small_disk / "filler"
            with filler.open("wb") as out, contextlib.suppress(OSError):
                while True:  # until the disk says it is full
                    out.write(b"\0" * 65536)
            clock.advance(seconds=5)
            fix = cast.fix(START)
            refused = client.post(
                "/api/fixes", json=fix, headers={"Authorization": f"Bearer {phone}"}
            )
            assert refused.status_code == 503, refused.text
            health = client.get("/healthz")
            assert health.status_code == 503
            assert health.json()["storage"]["writes"] is False
            filler.unlink()
            assert cast.statuses(phone, fix) == ["accepted"]
            assert client.get("/healthz").status_code == 200
    finally:
        svc.db.dispose()


def test_a_mistake_in_a_read_is_a_fault_of_ours_not_a_database_to_wait_for(
    tmp_path: Path,
) -> None:
    """SQLite says "no such column" as it says "database is locked": only the second is worth
    a phone's retry (a 503); the first is a 500 and a trace in the log, or phones and the MQTT
    bridge would try it again for ever."""
    db = Database(f"sqlite:///{tmp_path / 'wwm.db'}")
    try:
        with pytest.raises(sa.exc.OperationalError, match="no such"):
            db.read_sync(lambda conn: conn.exec_driver_sql("SELECT missing FROM nowhere").all())
    finally:
        db.dispose()


def test_her_companion_sees_her_walk_while_another_process_holds_the_database(
    tmp_path: Path, clock: FakeClock
) -> None:
    """His look is recorded through the writer, which waits on the lock: he waited for it
    (a minute) before seeing the walk (a review of faults). The walk is answered, and the
    look recorded once the database is back."""
    with waiting_on_locks(tmp_path, clock, 60_000) as (cast, path):
        client, svc = cast.client, cast.services
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        walk = cast.start_walk(mira)
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")
        released = threading.Event()

        def release() -> None:  # (a backstop: the answer must come before it)
            if not released.wait(20):
                other.execute("ROLLBACK")
                released.set()

        backstop = threading.Thread(target=release)
        backstop.start()
        try:
            seen = client.get(f"/api/walks/{walk['id']}", headers=noor.auth)
            answered_while_held = not released.is_set()
        finally:
            if not released.is_set():
                released.set()
                other.execute("ROLLBACK")
            backstop.join()
            other.close()
        assert seen.status_code == 200
        assert answered_while_held
        svc.writer.run_sync(lambda tx: None)  # after the look's job, in the writer's queue
        looked = client.get(f"/api/walks/{walk['id']}/looks", headers=mira.auth).json()
        assert [look["who"] for look in looked] == ["Noor"]
