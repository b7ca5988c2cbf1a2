"""The `walkwithme` command: what the operator types, and what a script reads back."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx2
import pytest

from tests.people import HOME, PIN, START
from tests.service import WWM, Service, cli

ROOT = Path(__file__).resolve().parent.parent


def test_people_and_devices_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ola = cli(data, "people", "add", "ola@example.org", "--name", "Ola", "--operator")
    assert ola["is_operator"] is True
    assert len(ola["password"]) >= 12
    chosen = cli(
        data, "people", "add", "mira@example.org", "--password-stdin", stdin="a long password\n"
    )
    assert chosen["password"] is None
    device = cli(data, "devices", "add", "mira@example.org", "phone")
    assert device["token"].startswith("dev_")
    listed = subprocess.run(
        [*WWM, "devices", "list", "mira@example.org", "--data", str(data), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"name": "phone"' in listed.stdout
    assert device["token"] not in listed.stdout  # shown once, never again
    told = subprocess.run(
        [*WWM, "devices", "add", "mira@example.org", "watch", "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Printed with the token: how to give it to the phone's app.
    assert "http://127.0.0.1:8000/api/owntracks" in told
    assert "http://127.0.0.1:8000/api/traccar" in told
    invite = cli(data, "invites", "create")
    assert invite["invite"].startswith("inv_")
    # The link to send, which opens the sign-up page with the invite in it.
    assert invite["link"] == f"http://127.0.0.1:8000/signup?invite={invite['invite']}"


def test_a_cli_error_is_a_message_not_a_trace(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "people", "add", "mira@example.org")
    again = subprocess.run(
        [*WWM, "people", "add", "mira@example.org", "--data", str(data)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1
    assert "exists already" in again.stderr
    assert "Traceback" not in again.stderr
    bad = subprocess.run(
        [*WWM, "migrate", "--data", str(data)],
        capture_output=True,
        text=True,
        env={"WWM_PORT": "none", "PATH": ""},
    )
    assert bad.returncode == 2
    assert "WWM_PORT" in bad.stderr
    # The demo's clock is a drill's: at most 100 times real time (tests/test_demo.py plays it).
    too_fast = subprocess.run(
        [*WWM, "demo", "--speed", "500", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "160"},
    )
    assert too_fast.returncode == 2
    assert "--speed" in too_fast.stderr
    assert "Traceback" not in too_fast.stderr


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    done = subprocess.run(
        [*WWM, "migrate", "--data", str(data)], capture_output=True, text=True, check=True
    )
    assert "Created the database's tables" in done.stdout
    assert (data / "walkwithme.db").exists()


@pytest.mark.slow
def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mira = cli(data, "people", "add", "mira@example.org", "--name", "Mira")
    noor = cli(data, "people", "add", "noor@example.org", "--name", "Noor")
    phone = cli(data, "devices", "add", "mira@example.org", "phone")["token"]
    service = Service(data, env={"WWM_LOG_LEVEL": "debug"}).start()
    try:
        url = service.url
        tokens = {}
        for who in (mira, noor):
            tokens[who["email"]] = httpx2.post(
                f"{url}/api/session", json={"email": who["email"], "password": who["password"]}
            ).json()["token"]
        as_mira = {"Authorization": f"Bearer {tokens['mira@example.org']}"}
        as_noor = {"Authorization": f"Bearer {tokens['noor@example.org']}"}
        httpx2.post(f"{url}/api/contacts", json={"email": "noor@example.org"}, headers=as_mira)
        asked = httpx2.get(f"{url}/api/contacts", headers=as_noor).json()[-1]
        httpx2.post(f"{url}/api/contacts/{asked['id']}/accept", headers=as_noor)
        walk = httpx2.post(
            f"{url}/api/walks",
            json={
                "destination": {"lat": HOME[0], "lon": HOME[1]},
                "from": {"lat": START[0], "lon": START[1]},
                "pin": PIN,
            },
            headers=as_mira,
        ).json()
        link = httpx2.post(f"{url}/api/walks/{walk['id']}/shares", json={}, headers=as_mira)
        share = link.json()["token"]
        assert httpx2.get(link.json()["url"]).status_code == 200
        httpx2.get(f"{url}/api/share/{share}x")
        httpx2.post(
            f"{url}/api/fixes",
            json={"t": 1, "lat": 0, "lon": 0},
            headers={"Authorization": f"Bearer {phone}"},
        )
    finally:
        service.stop()
    log = service.output()
    assert "/api/share/shr_***" in log  # the request was logged, its secret masked
    for secret in [share, phone, *tokens.values(), mira["password"]]:
        assert secret not in log
    assert not re.search(r"(shr|dev|wwm|inv)_[A-Za-z0-9_-]{8,}", log)


def test_every_command_is_documented() -> None:
    page = (ROOT / "docs" / "cli.md").read_text()
    for command in [
        "serve",
        "migrate",
        "people add",
        "people list",
        "devices add",
        "devices list",
        "devices revoke",
        "invites create",
        "offers list",
    ]:
        assert f"walkwithme {command}" in page, command


@pytest.mark.slow
def test_export_and_replay_find_the_service_where_the_settings_put_it(tmp_path: Path) -> None:
    """Without --server, the service these settings configure: on WWM_PORT (not 8000), or
    at WWM_PUBLIC_URL."""
    from tests.test_phone_apps import gpx
    from tests.test_service_e2e import prepare

    service = Service(tmp_path / "data")
    try:
        as_mira, _as_noor, phone, walk_id = prepare(service)
        recorded = tmp_path / "walk.gpx"
        recorded.write_text(gpx([(*START, None), (START[0] + 0.0002, START[1], None)]))
        replayed = subprocess.run(
            [*WWM, "replay", str(recorded), "--speed", "100", "--json"],
            env={**os.environ, "WWM_DEVICE_TOKEN": phone, "WWM_PUBLIC_URL": service.url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert replayed.returncode == 0, replayed.stderr
        assert '"accepted": 2' in replayed.stdout
        out = tmp_path / "out"
        out.mkdir()
        token = as_mira["Authorization"].removeprefix("Bearer ")
        exported = subprocess.run(
            [*WWM, "export", str(walk_id), "--out", str(out)],
            env={**os.environ, "WWM_TOKEN": token, "WWM_PORT": str(service.port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert exported.returncode == 0, exported.stderr
        assert (out / f"walk-{walk_id}.gpx").is_file()
    finally:
        service.stop()
