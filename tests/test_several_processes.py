"""Several `serve` processes on one PostgreSQL database (store/pg_bell.py), and one on SQLite.

Real processes over real HTTP and WebSocket: a phone posts to the first, its companion follows
on the second and sees every fix as it lands (not at the stream's 10 s recheck); a device
revoked through the first is refused by the second at once, although the second remembered
its token. On SQLite a second `serve` on the same data folder refuses to start.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import pg_schema
from tests.people import HOME, START, between
from tests.service import WWM, Service
from tests.sinks import webhook_sink
from tests.test_crash import wait_for
from tests.test_service_e2e import now_ms, post_fix, prepare

pytestmark = pytest.mark.slow

# Far less than the stream's recheck (api/live.py, 10 s), which is how a fix committed by
# another process reached a companion before: five fixes in a row can't all beat it by luck.
SOONER_THAN_A_RECHECK_S = 3.0


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A schema of its own on the test PostgreSQL, chosen for every process and command."""
    with pg_schema("multi_") as url:
        monkeypatch.setenv("WWM_DATABASE_URL", url)  # the CLI and both services inherit it
        yield url


def next_fix(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=SOONER_THAN_A_RECHECK_S))
        if message["type"] == "fix":
            return message["fix"]  # type: ignore[no-any-return]


def test_a_companion_on_another_process_sees_each_fix_as_it_lands(
    postgres: str, tmp_path: Path
) -> None:
    first, second = Service(tmp_path / "one"), Service(tmp_path / "two")
    try:
        as_mira, as_noor, phone, walk_id = prepare(first)
        second.start()
        live = second.url.replace("http", "ws") + f"/api/walks/{walk_id}/live"
        with connect(live, additional_headers=as_noor) as ws:
            t = now_ms(first.url)
            post_fix(first.url, phone, between(START, HOME, 0.05), t)
            assert next_fix(ws)["t"] == t  # listening: from here on each fix is timed
            for step in range(1, 6):
                where = between(START, HOME, 0.05 + step / 20)
                assert post_fix(first.url, phone, where, t + step * 5_000) == "accepted"
                seen = next_fix(ws)
                assert (seen["t"], seen["lat"]) == (t + step * 5_000, pytest.approx(where[0]))

        # The second process remembers the phone's token once it has taken a fix with it ...
        assert post_fix(second.url, phone, between(START, HOME, 0.5), t + 40_000) == "accepted"
        mine = httpx2.get(f"{first.url}/api/devices", headers=as_mira).json()
        revoked = httpx2.delete(f"{first.url}/api/devices/{mine[0]['id']}", headers=as_mira)
        assert revoked.status_code == 204
        # ... and forgets it as soon as the first commits the revocation, not a minute later.
        refused = None
        for _ in range(20):
            refused = httpx2.post(
                f"{second.url}/api/fixes",
                json={"t": t + 45_000, "lat": START[0], "lon": START[1], "accuracy": 6},
                headers={"Authorization": f"Bearer {phone}"},
            )
            if refused.status_code == 401:
                break
            httpx2.get(f"{second.url}/healthz")  # a moment, without sleeping on a deadline
        assert refused is not None
        assert refused.status_code == 401, refused.text
    finally:
        second.stop()
        first.stop()


def test_three_processes_raise_her_alarm_once_even_when_one_is_killed(
    postgres: str, tmp_path: Path
) -> None:
    """Her phone goes quiet; the process it talked to is killed; the other two judge the walk
    (each could) and her companion's alarm goes out once, in time."""
    with webhook_sink() as sink:
        # One data folder: one fast clock (its origin is kept there) for all three.
        three = [
            Service(
                tmp_path / "data",
                "--clock-speed",
                "60",
                env={"WWM_ALLOW_PRIVATE_ADDRESSES": "true"},
            )
            for _ in range(3)
        ]
        try:
            _as_mira, as_noor, _phone, _walk_id = prepare(three[0])
            for other in three[1:]:
                other.start()
            channel = httpx2.post(
                f"{three[1].url}/api/channels",
                json={"kind": "webhook", "target": sink.url + "/noor"},
                headers=as_noor,
            )
            assert channel.status_code == 201, channel.text
            three[0].kill()
            wait_for(sink, 1)  # silence, a check nobody answers, then the alarm: minutes
            # A few more minutes of the service's clock: nobody sends it a second time.
            httpx2.get(f"{three[1].url}/healthz")
            later = now_ms(three[1].url) + 3 * 60_000
            while now_ms(three[2].url) < later:
                httpx2.get(f"{three[2].url}/healthz")  # polling the clock, not sleeping
        finally:
            for service in three:
                service.stop()
    alarms = [json.loads(r.body) for r in sink.received]
    assert [a["kind"] for a in alarms] == ["alarm"], alarms
    assert alarms[0]["walker"]["name"] == "Mira"


def second_serve(data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`walkwithme serve` on `data` (and `env`), run to its end: a second one, refused."""
    second = Service(data)
    return subprocess.run(
        [*WWM, "serve", "--data", str(data), "--port", str(second.port)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**second.env, **env},
        check=False,
    )


def test_a_second_serve_on_one_sqlite_database_refuses_to_start(tmp_path: Path) -> None:
    running = Service(tmp_path / "data").start()
    try:
        done = second_serve(tmp_path / "data")
        assert done.returncode == 2
        said = done.stderr.strip()
        assert len(said.splitlines()) == 1, said
        assert running.proc is not None
        assert "another walkwithme serve" in said
        assert f"process {running.proc.pid}" in said
        assert "PostgreSQL" in said
        # The first goes on serving.
        assert httpx2.get(f"{running.url}/healthz").status_code == 200
    finally:
        running.stop()
    # Once it has stopped, the data folder is free again.
    again = Service(tmp_path / "data").start()
    again.stop()


def test_a_second_serve_on_the_same_sqlite_file_from_another_data_folder_refuses_too(
    tmp_path: Path,
) -> None:
    """Two data folders may name one database file (WWM_DATABASE_URL): the second is
    refused as if it shared the folder (its companions would hear of the first's fixes only
    at their streams' recheck, and two watchdogs would judge the same walks)."""
    database = f"sqlite:///{tmp_path / 'data' / 'walkwithme.db'}"
    running = Service(tmp_path / "data").start()
    try:
        done = second_serve(tmp_path / "other", WWM_DATABASE_URL=database)
        assert done.returncode == 2, done.stderr
        said = done.stderr.strip()
        assert running.proc is not None
        assert f"another walkwithme serve (process {running.proc.pid})" in said
        assert "walkwithme.db" in said
        assert httpx2.get(f"{running.url}/healthz").status_code == 200
    finally:
        running.stop()


def test_a_big_group_is_told_in_notices_postgresql_takes() -> None:
    from walkwithme.store import pg_bell
    from walkwithme.store.tx import NewFixes, Touched

    def shown(seq: int) -> dict[str, object]:
        return {"id": seq, "t": 1_780_000_000_000 + seq, "lat": 60.17, "lon": 24.94, "acc": 8.0}

    # Fixes of 300 walks as companions are shown them, and one walk with more than a notice
    # holds (a long queue sent at once).
    fixes = {w: [NewFixes(5, 6, [shown(5), shown(6)])] for w in range(1_000_000, 1_000_300)}
    fixes[1_000_500] = [NewFixes(1, 200, [shown(n) for n in range(1, 201)])]
    touched = Touched(
        walks=set(range(1_000_000, 1_003_000)),
        access={1_000_001},
        events=set(range(1_000_000, 1_003_000, 2)),
        devices={7, 8},
        fixes=fixes,
    )
    said = pg_bell.notices("me", touched)
    assert 1 < len(said) < 60  # a few statements in the committing transaction, not thousands
    assert all(len(n) <= pg_bell.MAX_PAYLOAD for n in said)
    heard = Touched()
    handed: dict[int, list[NewFixes]] = {}
    untold: set[int] = set()
    for notice in said:
        assert pg_bell.read(notice.decode(), "me") is None  # its own: already rung
        one = pg_bell.read(notice.decode(), "another")
        assert one is not None
        heard.update(one)
        if one.fixes_told:
            handed.update(one.fixes)
        else:
            untold |= one.walks
    assert (heard.walks, heard.access, heard.events, heard.devices) == (
        touched.walks,
        touched.access,
        touched.events,
        touched.devices,
    )
    # The other processes' streams are handed the fixes as this one's are, without a read...
    assert handed == {w: added for w, added in fixes.items() if w != 1_000_500}
    # ...except where they didn't fit: that notice says "news", and its streams read.
    assert untold == {1_000_500}
