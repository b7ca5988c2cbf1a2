"""Jumping the clock: only in demo and drill mode, only the operator, only forward; kept across
a restart. In a normal serve the door doesn't exist."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from tests.people import Cast
from tests.service import WWM, Service, cli
from tests.test_service_e2e import sign_in
from walkwithme.clock import SystemClock, fast_clock
from walkwithme.watchdog import MAX_SLEEP_S


def test_a_normal_service_has_no_clock_jump(cast: Cast) -> None:
    ola = cast.person("Ola", operator=True)
    answer = cast.client.post("/api/clock/jump", json={"minutes": 60}, headers=ola.auth)
    assert answer.status_code == 404
    assert cast.services.clock.now_ms() == cast.clock.now_ms()


def test_in_a_drill_only_the_operator_jumps_and_only_forward(cast: Cast) -> None:
    cast.services.jumping_clock = cast.clock
    ola, mira = cast.person("Ola", operator=True), cast.person("Mira")
    before = cast.clock.now_ms()
    refused = cast.client.post("/api/clock/jump", json={"minutes": 60}, headers=mira.auth)
    assert refused.status_code == 403
    backwards = cast.client.post("/api/clock/jump", json={"minutes": -5}, headers=ola.auth)
    assert (backwards.status_code, backwards.json()["field"]) == (422, "minutes")
    jumped = cast.client.post("/api/clock/jump", json={"minutes": 60}, headers=ola.auth)
    assert jumped.status_code == 200
    assert jumped.json()["now"] == before + 3_600_000 == cast.clock.now_ms()


@pytest.mark.slow
def served_at_real_time(data: Path) -> subprocess.CompletedProcess[str]:
    """`serve` on the folder, without --drill or --clock-speed (refused: it exits at once)."""
    return subprocess.run(
        [*WWM, "serve", "--data", str(data), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_drill_service_jumps_and_remembers_it_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ola = cli(data, "people", "add", "ola@example.org", "--name", "Ola", "--operator")
    service = Service(data, "--drill", "--clock-speed", "10").start()
    try:
        as_ola = sign_in(service.url, ola)
        before = httpx2.get(f"{service.url}/healthz").json()["now"]
        jumped = httpx2.post(
            f"{service.url}/api/clock/jump", json={"minutes": 24 * 60}, headers=as_ola
        ).json()["now"]
        assert jumped >= before + 24 * 3_600_000
        service.stop()
        service.start()
        assert httpx2.get(f"{service.url}/healthz").json()["now"] >= jumped
        service.stop()
        # Served without --drill, its clock would run backwards against its walks: refused.
        refused = served_at_real_time(data)
        assert refused.returncode == 2
        assert "--drill" in refused.stderr
        # ...and `check`, which tells what a real deployment still needs, fails on it too
        # (it only warned, while `serve` refused the folder).
        checked = subprocess.run(
            [*WWM, "check", "--data", str(data)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode != 0
        assert "a drill jumped this data folder's clock" in checked.stdout
    finally:
        service.stop()


def test_a_folder_a_fast_clock_ran_ahead_is_refused_at_real_time_and_check_says_why(
    tmp_path: Path,
) -> None:
    """Served at --clock-speed 50 for a while, a folder's clock is ahead of real time: served
    at real time next, it would run back, its deadlines falling late. Refused, saying so,
    and `check` names the fast clock (it blamed the machine's clock, and suggested NTP)."""
    data = tmp_path / "data"
    cli(data, "people", "add", "ola@example.org")
    real_ms = time.time_ns() // 1_000_000
    state = {"speed": 50.0, "real_ms": real_ms - 60_000, "clock_ms": real_ms - 60_000}
    (data / "fast-clock.json").write_text(json.dumps(state))  # a minute of it: 49 min ahead
    refused = served_at_real_time(data)
    assert refused.returncode == 2
    assert "ran the clock of" in refused.stderr
    assert "ahead of real time: serve it with --clock-speed again" in refused.stderr
    checked = subprocess.run(
        [*WWM, "check", "--data", str(data)], capture_output=True, text=True, timeout=60
    )
    assert "a fast clock (--clock-speed) ran this data folder's clock" in checked.stdout
    assert "NTP" not in checked.stdout


def test_a_drill_clock_is_never_faster_than_a_hundred_times(tmp_path: Path) -> None:
    done = subprocess.run(
        [*WWM, "serve", "--drill", "--clock-speed", "500", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "at most 100x" in done.stderr


def test_a_fast_clocks_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """As the data folder's other files: 0600, made by a drill and after a jump too."""
    state = tmp_path / "data" / "fast-clock.json"
    was = os.umask(0o022)
    try:
        clock = fast_clock(10.0, state)
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        state.chmod(0o644)  # as an older version left it
        clock.jump(60_000)
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
    finally:
        os.umask(was)


def test_a_clock_jump_wakes_the_watchdog_to_look_at_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asleep until its next look (5 s with nothing due), the watchdog would judge what a
    drill's jump made due seconds late: minutes, on a drill's fast clock. The jump wakes it."""
    watchdog = cast.services.watchdog
    looked_at: list[int] = []
    looked: asyncio.Queue[None] | None = None

    async def look() -> list[str]:
        looked_at.append(cast.clock.now_ms())
        assert looked is not None
        looked.put_nowait(None)
        return []

    monkeypatch.setattr(watchdog, "tick", look)

    async def drill() -> None:
        nonlocal looked
        looked = asyncio.Queue()
        watchdog.start()
        try:
            await looked.get()  # its first look, as the service starts
            assert watchdog.sleep_s(None) == MAX_SLEEP_S  # then asleep: nothing is due
            cast.clock.advance(minutes=10)
            watchdog.clock_jumped(10 * 60_000)
            await looked.get()
        finally:
            await watchdog.stop()

    asyncio.run(asyncio.wait_for(drill(), timeout=MAX_SLEEP_S / 2))
    assert looked_at[1] - looked_at[0] == 10 * 60_000


def test_a_clock_that_shows_the_services_time_at_real_speed_counts_from_it() -> None:
    """The demo's people mirror the service's clock, jumped evenings ahead; at real speed the
    mirror showed today instead, and the story's second evening was refused as too early."""
    evenings_ahead = 3 * 24 * 3600 * 1000
    mirror = SystemClock(1.0, SystemClock().now_ms() + evenings_ahead)
    assert mirror.now_ms() - SystemClock().now_ms() > evenings_ahead - 60_000
