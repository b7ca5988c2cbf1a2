"""A fault is a 5xx that makes a phone retry, and loses nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.people import START, Cast


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
    assert watchdog.tick_sync() == ["check"]
    assert not watchdog.stuck()
