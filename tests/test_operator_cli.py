"""The operator's first hour at the command line: one data location every command agrees on,
commands said as they can be typed, settings that can't be misspelled silently, `check`,
`backup` and `restore` while serving, and `people import`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa

from tests.conftest import pg_schema
from tests.people import HOME
from tests.service import WWM, Service, cli
from tests.test_service_e2e import prepare, sign_in
from walkwithme import cli_common
from walkwithme.config import load_config
from walkwithme.net import free_port
from walkwithme.store.migrate import script_head, upgrade


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WWM, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=120,
    )


def test_every_command_uses_one_data_folder_from_any_folder_and_says_which(tmp_path: Path) -> None:
    home = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "WWM_DATA": ""}
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    added = run("people", "add", "mira@example.org", "--json", cwd=one, env=home)
    assert added.returncode == 0, added.stderr
    assert f"Data: {tmp_path / 'xdg' / 'walkwithme'}" in added.stderr
    assert "new, created now" in added.stderr
    listed = run("people", "list", "--json", cwd=two, env=home)
    assert [p["email"] for p in json.loads(listed.stdout)] == ["mira@example.org"]
    # Who, never how to reach or judge them: no phone number, pace or thresholds.
    shown = {"id", "email", "name", "is_operator", "timezone", "status"}
    assert set(json.loads(listed.stdout)[0]) == shown
    assert "created now" not in listed.stderr
    assert not (one / "walkwithme-data").exists()
    assert not (two / "walkwithme-data").exists()


def test_a_folder_of_an_earlier_release_is_still_used_and_said(tmp_path: Path) -> None:
    legacy = tmp_path / "walkwithme-data"
    cli(legacy, "people", "add", "mira@example.org")
    listed = run("people", "list", "--json", cwd=tmp_path, env={"XDG_DATA_HOME": str(tmp_path)})
    assert [p["email"] for p in json.loads(listed.stdout)] == ["mira@example.org"]
    assert "set WWM_DATA to keep it" in listed.stderr


def test_a_misspelled_setting_is_named_with_what_was_meant() -> None:
    config = load_config({"WWM_PROT": "9000", "WWM_EMERGENCY_HOKO": "https://x.example"})
    assert config.port == 8000
    said = " ".join(config.warnings)
    assert "WWM_PROT is not a setting (did you mean WWM_PORT?)" in said
    assert "did you mean WWM_EMERGENCY_HOOK?" in said
    assert load_config({"WWM_TOKEN": "x", "WWM_DATA_FILE": "/dev/null"}).warnings == ()


def test_listening_for_other_machines_without_a_public_address_is_warned_of() -> None:
    said = " ".join(load_config({"WWM_HOST": "192.0.2.10"}).warnings)
    assert "WWM_PUBLIC_URL is not set" in said
    public = {"WWM_HOST": "192.0.2.10", "WWM_PUBLIC_URL": "https://walk.example.org"}
    assert load_config(public).warnings == ()
    assert load_config({"WWM_HOST": "127.0.0.1"}).warnings == ()


def test_a_port_that_is_no_number_says_so_in_words(tmp_path: Path) -> None:
    done = run("migrate", "--data", str(tmp_path), env={"WWM_PORT": "abc"})
    assert done.returncode == 2
    assert "WWM_PORT='abc': must be a port number" in done.stderr
    assert "invalid literal" not in done.stderr


def test_commands_are_said_as_they_can_be_typed_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / "venv" / "bin" / "walkwithme"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(program.relative_to(tmp_path)), "serve"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("WWM_DATABASE_URL", "postgresql+psycopg://wwm:hunter2@db.local/wwm")
    monkeypatch.delenv("WWM_CONFIG", raising=False)
    said = cli_common.command(None, "people add you@example.org --operator")
    # Not on PATH: its path; the database named (its password hidden), not a stray SQLite.
    assert said == (
        "WWM_DATABASE_URL='postgresql+psycopg://wwm:***@db.local/wwm' "
        "venv/bin/walkwithme people add you@example.org --operator"
    )
    monkeypatch.setenv("PATH", str(program.parent))
    monkeypatch.delenv("WWM_DATABASE_URL")
    assert cli_common.command(tmp_path / "d", "people list") == (
        f"walkwithme people list --data {tmp_path / 'd'}"
    )


def test_a_phones_token_comes_with_a_warning_while_no_phone_can_reach_the_service(
    tmp_path: Path,
) -> None:
    cli(tmp_path, "people", "add", "mira@example.org")
    local = run("devices", "add", "mira@example.org", "phone", "--data", str(tmp_path))
    assert "a phone can't reach http://127.0.0.1:8000" in local.stderr
    public = run(
        "devices",
        "add",
        "mira@example.org",
        "watch",
        "--data",
        str(tmp_path),
        env={"WWM_PUBLIC_URL": "https://walk.example.org"},
    )
    assert "https://walk.example.org/api/owntracks" in public.stdout
    assert "can't reach" not in public.stderr


def test_a_phone_bound_to_an_mqtt_topic_is_told_how_and_warned_if_nothing_would_hear_it(
    tmp_path: Path,
) -> None:
    """Bound to a topic the service doesn't follow, her phone would go unheard, and nothing
    said so; and it was told only how to set HTTP mode (an operator's first hour)."""
    cli(tmp_path, "people", "add", "anna@example.org")
    broker = {"WWM_MQTT_URL": "mqtt://127.0.0.1:1883", "WWM_MQTT_TOPICS": "owntracks/city/+"}

    def add(name: str, topic: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run(
            "devices", "add", "anna@example.org", name, "--owntracks-topic", topic,
            "--data", str(tmp_path), env=env,
        )  # fmt: skip

    followed = add("phone", "owntracks/city/anna", broker)
    assert followed.returncode == 0, followed.stderr
    said = " ".join(followed.stdout.split())
    assert "OwnTracks (MQTT mode)" in said
    assert "user ID city and device ID anna" in said
    assert "OwnTracks (HTTP mode)" not in said
    assert "warning" not in followed.stderr
    elsewhere = add("tablet", "owntracks/other/anna", broker)
    assert "this service follows owntracks/city/+ (WWM_MQTT_TOPICS), not owntracks/other/anna" in (
        " ".join(elsewhere.stderr.split())
    )
    no_broker = add("watch", "owntracks/city/watch", {})
    assert "WWM_MQTT_URL is not set" in no_broker.stderr


def test_serve_on_a_port_in_use_says_so_and_makes_nothing(tmp_path: Path) -> None:
    """It made a data folder and a database first, then said the port was in use (an
    operator's first hour)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--port", str(port), "--data", str(tmp_path / "new"))
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr
    assert not (tmp_path / "new").exists()


def test_migrate_says_what_it_did(tmp_path: Path) -> None:
    first = run("migrate", "--data", str(tmp_path / "d"))
    assert "Created the database's tables" in first.stdout
    again = run("migrate", "--data", str(tmp_path / "d"))
    assert "The database is up to date" in again.stdout


def test_help_and_lists_read_as_words(tmp_path: Path) -> None:
    helped = run("serve", "--help", env={"COLUMNS": "200"})
    assert "--drill" in helped.stdout
    assert "<bool>" not in helped.stdout
    offers = run("offers", "--help", env={"COLUMNS": "200"})
    assert "A person's offers: waiting for their answer, made by them, and recurring ones." in (
        offers.stdout
    )
    data = tmp_path / "d"
    cli(data, "people", "add", "mira@example.org")
    cli(data, "devices", "add", "mira@example.org", "phone")
    table = run("devices", "list", "mira@example.org", "--data", str(data), env={"COLUMNS": "200"})
    assert "phone" in table.stdout
    assert not any(len(w) >= 12 and w.isdigit() for w in table.stdout.split())  # no epoch ms
    assert "-" in table.stdout.split("phone")[1].split()[1]  # a date, 2026-12-04
    # A mistyped address is said as every other command says it, not an empty table.
    typo = run("devices", "list", "mria@example.org", "--data", str(data))
    assert typo.returncode == 1
    assert "nobody with the email mria@example.org" in typo.stderr


def test_a_new_account_takes_this_machines_time_zone(tmp_path: Path) -> None:
    made = run(
        "people",
        "add",
        "mira@example.org",
        "--data",
        str(tmp_path),
        "--json",
        env={"TZ": "Europe/Helsinki"},
    )
    assert json.loads(made.stdout)["timezone"] == "Europe/Helsinki"


def test_check_names_what_is_wrong_one_line_each(tmp_path: Path) -> None:
    data = tmp_path / "d"
    missing = run("check", "--data", str(data))
    assert missing.returncode == 1
    assert "failed  database" in missing.stdout
    assert "does not exist yet (walkwithme serve makes it)" in missing.stdout
    cli(data, "people", "add", "mira@example.org")
    served = Service(data).start()
    try:
        public = {"WWM_PUBLIC_URL": served.url}
        done = run("check", "--data", str(data), "--json", env=public)
    finally:
        served.stop()
    found = {f["what"]: f for f in json.loads(done.stdout)}
    assert done.returncode == 0, done.stdout
    assert found["database"]["verdict"] == "ok"
    assert "1 person" in found["database"]["said"]
    assert found["public address"]["verdict"] == "warning"  # it answers, but not over HTTPS
    assert "without HTTPS" in found["public address"]["said"]
    unreachable = run("check", "--data", str(data), env={"WWM_PUBLIC_URL": served.url})
    assert unreachable.returncode == 1
    assert "can't be reached from here" in unreachable.stdout


def test_a_backup_made_while_serving_restores_into_an_empty_folder_and_serves(
    tmp_path: Path,
) -> None:
    served = Service(tmp_path / "data")
    try:
        as_mira, _, _, walk_id = prepare(served)
        backed = run("backup", str(tmp_path / "bk"), "--data", str(served.data), "--json")
        assert backed.returncode == 0, backed.stderr
        assert "walkwithme.db" in json.loads(backed.stdout)["files"]
        assert (tmp_path / "bk").stat().st_mode & 0o077 == 0
        again = run("backup", str(tmp_path / "bk"), "--data", str(served.data))
        assert again.returncode == 1
        assert "not empty" in again.stderr
    finally:
        served.stop()
    restored = run("restore", str(tmp_path / "bk"), "--data", str(tmp_path / "new"))
    assert restored.returncode == 0, restored.stderr
    # Her walk was going on: served, it is judged again at once, as it was then (an alarm
    # resolved since the backup climbed on to the emergency hook: an operator's review).
    assert "It holds 1 walk going on when it was taken: `serve` watches them" in " ".join(
        restored.stdout.split()
    )
    over = run("restore", str(tmp_path / "bk"), "--data", str(tmp_path / "new"))
    assert over.returncode == 1
    assert "has a database already" in over.stderr
    back = Service(tmp_path / "new").start()
    try:
        walk = httpx2.get(f"{back.url}/api/walks/{walk_id}", headers=as_mira)
        assert walk.status_code == 200, walk.text  # her session, her walk: all there
        assert walk.json()["destination"]["lat"] == pytest.approx(HOME[0])
        assert walk.json()["state"] == "active"
    finally:
        back.stop()


def test_people_import_is_all_or_nothing_and_names_each_bad_line(tmp_path: Path) -> None:
    data = tmp_path / "d"
    cli(data, "people", "add", "taken@example.org")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "email,name,timezone,operator\n"
        "aino@example.org,Aino,Europe/Helsinki,\n"
        "not-an-email,X,,\n"
        "eero@example.org,Eero,Mars/Olympus,\n"
        "aino@example.org,Aino again,,\n"
        "taken@example.org,Taken,,\n"
    )
    only_bad = tmp_path / "only-bad.csv"
    only_bad.write_text("email,name\nnot-an-email,X\n")
    untouched = tmp_path / "untouched"
    refused = run("people", "import", str(only_bad), "--data", str(untouched))
    assert refused.returncode == 1
    assert "line 2" in refused.stderr
    assert not untouched.exists()  # no good row: no database opened, nor made
    refused = run("people", "import", str(bad), "--data", str(data))
    assert refused.returncode == 1
    # Every problem in one run, in the file's order: an address taken already too (it was
    # named only on a second run, once the others were mended: an operator's review).
    said = [line for line in refused.stderr.splitlines() if line.startswith("error: line")]
    assert [int(line.split(":")[1].split()[1]) for line in said] == [3, 4, 5, 6], said
    assert "error: line 6: taken@example.org has an account already" in said
    clash = tmp_path / "clash.csv"
    clash.write_text("email,name\nnew@example.org,New\ntaken@example.org,Taken\n")
    refused = run("people", "import", str(clash), "--data", str(data))
    assert refused.returncode == 1
    assert "line 3: taken@example.org has an account" in refused.stderr
    assert [
        p["email"] for p in json.loads(run("people", "list", "--data", str(data), "--json").stdout)
    ] == ["taken@example.org"]
    good = tmp_path / "good.csv"
    good.write_text(
        "email,name,timezone,operator\n"
        + "".join(f"p{i}@example.org,P{i},Europe/Helsinki,\n" for i in range(20))
        + "ops@example.org,Ops,,yes\n"
    )
    made = run("people", "import", str(good), "--data", str(data), "--json")
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert len(created) == 21
    assert created[-1]["is_operator"] is True
    assert created[0]["timezone"] == "Europe/Helsinki"
    served = Service(data).start()
    try:
        sign_in(served.url, created[7])  # each can sign in with the password shown once
    finally:
        served.stop()


def test_the_operator_exports_a_persons_data_for_them_into_a_private_file(tmp_path: Path) -> None:
    data = tmp_path / "d"
    cli(data, "people", "add", "mira@example.org", "--name", "Mira")
    out = tmp_path / "mira.zip"
    done = run("people", "export", "mira@example.org", "--out", str(out), "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o077 == 0
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("profile.json"))["name"] == "Mira"
    again = run("people", "export", "mira@example.org", "--out", str(out), "--data", str(data))
    assert again.returncode == 1
    assert "exists" in again.stderr


def test_a_database_url_it_cant_use_is_one_line_naming_the_forms_it_takes(
    tmp_path: Path,
) -> None:
    """`mysql://` was a ModuleNotFoundError's traceback; `postgres://`, as PostgreSQL's own
    tools and many hosts write it, "Can't load plugin: sqlalchemy.dialects:postgres"."""
    mysql = run("migrate", "--data", str(tmp_path), env={"WWM_DATABASE_URL": "mysql://w:pw@db/w"})
    assert mysql.returncode == 2
    assert mysql.stderr.strip().splitlines() == [
        "configuration error: WWM_DATABASE_URL=(hidden): mysql:// is no database this service "
        "runs on (SQLite or PostgreSQL): use sqlite:///PATH or "
        "postgresql+psycopg://user@host/dbname"
    ]
    # PostgreSQL's own form is taken, as psycopg's (the driver the service has).
    libpq = load_config({"WWM_DATABASE_URL": "postgres://wwm:pw@db.local/wwm?sslmode=require"})
    assert libpq.database_url == "postgresql+psycopg://wwm:pw@db.local/wwm?sslmode=require"
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # nothing listens there
    plain = run("migrate", env={"WWM_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/test"})
    assert plain.returncode == 2
    assert "Database: postgresql+psycopg://postgres@127.0.0.1" in plain.stderr
    assert "cannot start: the database postgresql+psycopg" in plain.stderr
    assert "can't be reached" in plain.stderr
    assert "plugin" not in plain.stderr


def test_a_data_folder_that_cant_be_made_is_one_line_never_created_now(tmp_path: Path) -> None:
    """A typo that puts the data folder under a file: it said "new, created now", then "Not a
    directory"."""
    a_file = tmp_path / "walkwithme.env"
    a_file.write_text("WWM_PORT=9000\n")
    done = run("people", "list", "--data", str(a_file / "data"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"cannot start: the data folder {a_file / 'data'} can't be made: {a_file} is a file, "
        "not a folder (WWM_DATA, --data)"
    ]
    made = run("people", "list", "--data", str(tmp_path / "new"))
    assert made.stderr.strip().splitlines()[-1].endswith("; new, created now")
    assert (tmp_path / "new" / "walkwithme.db").is_file()


def test_links_printed_beside_a_service_on_another_port_point_at_it(tmp_path: Path) -> None:
    """Started with --port, the service keeps where it listens in its data folder: an invite
    link and a phone's settings printed by the commands run beside it point there, not at
    the default port 8000 (an operator's review)."""
    data = tmp_path / "data"
    service = Service(data).start()
    try:
        invite = cli(data, "invites", "create")
        cli(data, "people", "add", "mira@example.org", stdin="")
        phone = run("devices", "add", "mira@example.org", "phone", "--data", str(data))
    finally:
        service.stop()
    assert invite["link"].startswith(f"{service.url}/signup?invite=")
    assert f"{service.url}/api/owntracks" in phone.stdout
    assert ":8000" not in phone.stdout


def test_a_service_on_every_address_is_found_at_this_machines_own(tmp_path: Path) -> None:
    """Listening on 0.0.0.0 (or ::), the address the commands build links on is 127.0.0.1
    (an IPv6 one in brackets): http://0.0.0.0:... is no address to open."""
    from walkwithme import startup

    every = ("0.0.0.0", "127.0.0.1")  # noqa: S104 (compared, not bound)
    for host, seen in (every, ("::", "127.0.0.1"), ("::1", "[::1]")):
        config = load_config({"WWM_DATA": str(tmp_path), "WWM_HOST": host, "WWM_PORT": "18888"})
        startup.remember_address(config)
        assert startup.served_at(config) == f"http://{seen}:18888"
    # `check` says the links are built on it too (it said WWM_PORT's default, 8000).
    said = run("check", "--data", str(tmp_path)).stdout
    assert "links in alerts say http://[::1]:18888" in said


def test_on_postgresql_serve_makes_its_data_folder_and_check_looks_at_it(tmp_path: Path) -> None:
    """On PostgreSQL, the data folder still keeps where `serve` listens and the VAPID key:
    `serve` died with a traceback ("No such file or directory: .../address") when it was
    not made yet, and `check` said nothing of it (an operator's review)."""
    data = tmp_path / "new" / "data"
    port = free_port()
    with pg_schema("o_") as url:
        env = {**os.environ, "WWM_DATABASE_URL": url}
        said = run("check", "--data", str(data), env={"WWM_DATABASE_URL": url}).stdout
        assert f"data folder: {data} does not exist yet (walkwithme serve makes it)" in said
        serve = subprocess.Popen(
            [*WWM, "serve", "--data", str(data), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            answered = wait_for_health(f"http://127.0.0.1:{port}", serve)
        finally:
            serve.terminate()
            out, _ = serve.communicate(timeout=30)
        assert answered, out
        assert "Traceback" not in out
        assert (data / "address").read_text() == f"http://127.0.0.1:{port}\n"
        assert data.stat().st_mode & 0o077 == 0
        said = run("check", "--data", str(data), env={"WWM_DATABASE_URL": url}).stdout
        assert f"{data}, private to this account" in said


def wait_for_health(url: str, proc: subprocess.Popen[str]) -> bool:
    """Whether the service at `url` answered /healthz before its process ended (or 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx2.HTTPError:
            time.sleep(0.2)
    return False


def test_people_list_piped_keeps_every_address_whole_and_the_version_is_said(
    tmp_path: Path,
) -> None:
    """Piped (`| grep`), the list was a table 80 columns wide: `firstname.lastna…` and
    `grep university` found nobody. And `--version` was "No such option"."""
    data = str(tmp_path / "data")
    address = "firstname.lastname.of.someone@university.example.org"
    added = run("people", "add", address, "--name", "Someone", "--data", data, stdin="")
    assert added.returncode == 0, added.stderr
    listed = run("people", "list", "--data", data).stdout.splitlines()
    assert listed[0].split("\t") == ["id", "email", "name", "operator", "time zone", "status"]
    assert [line.split("\t")[1:3] for line in listed[1:]] == [[address, "Someone"]]
    version = run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("walkwithme 0.")


def test_a_name_is_shown_as_typed_in_the_operators_tables_never_as_markup(tmp_path: Path) -> None:
    """A person named "Eve [/bold]" stopped `people list` with a traceback in a terminal, and
    "[link=...]" made her name a link in the operator's table (an outside review)."""
    data = str(tmp_path / "data")
    name = "Eve [/bold] [link=https://evil.example]x[/link]"
    added = run("people", "add", "eve@example.org", "--name", name, "--data", data, stdin="")
    assert added.returncode == 0, added.stderr
    shown = run("people", "list", "--data", data, env={"FORCE_COLOR": "1", "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert "Eve [/bold] [link=https://evil.example]x[/link]" in shown.stdout
    assert "\x1b]8;" not in shown.stdout  # no hyperlink made of it
    made = run("devices", "add", "eve@example.org", "[/x] phone", "--data", data)
    assert made.returncode == 0, made.stderr
    devices = run("devices", "list", "eve@example.org", "--data", data, env={"FORCE_COLOR": "1"})
    assert devices.returncode == 0, devices.stderr
    assert "[/x] phone" in devices.stdout


def test_serve_says_it_upgraded_the_schema_and_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    """deploy.md: serve migrates as it starts, and says so (it printed nothing of it); a port
    out of range is one line and exit 2 (it was a traceback: an operator's review)."""
    data = tmp_path / "data"
    data.mkdir()
    engine = sa.create_engine(f"sqlite:///{data / 'walkwithme.db'}")
    upgrade(engine, "0045")
    engine.dispose()
    # (A drill's clock in the folder: serve, having migrated its database, stops there.)
    (data / "fast-clock.json").write_text('{"jumped": true}')
    started = run("serve", "--data", str(data), "--port", str(free_port()))
    assert started.returncode == 2, started.stdout + started.stderr
    assert f"Upgraded the database's schema from 0045 to {script_head()}." in started.stdout
    (data / "fast-clock.json").unlink()
    wrong = run("serve", "--data", str(data), "--port", "99999")
    assert wrong.returncode == 2
    assert "Traceback" not in wrong.stderr + wrong.stdout
    assert "65535" in wrong.stderr  # (Typer names the range)


def test_a_backup_that_cant_be_written_or_read_is_said_in_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """A destination that can't be written gave a 46-line trace, and a damaged database a
    trace and a 0-byte walkwithme.db in the backup's folder (an operator's first hour)."""
    data = tmp_path / "data"
    made = run("people", "add", "mira@example.org", "--data", str(data))
    assert made.returncode == 0, made.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    refused = run("backup", str(blocked / "bk"), "--data", str(data))
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "(nothing was written)" in refused.stderr
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "walkwithme.db").write_bytes(b"this is no database" * 100)
    refused = run("backup", str(tmp_path / "bk2"), "--data", str(damaged))
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "the database can't be read" in refused.stderr
    assert not (tmp_path / "bk2" / "walkwithme.db").exists()
    restored = run("restore", str(damaged), "--data", str(tmp_path / "new"))
    assert restored.returncode == 1
    assert "Traceback" not in restored.stderr
