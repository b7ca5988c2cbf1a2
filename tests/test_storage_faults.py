"""Storage that fails says so: writes the database refuses answer 503 with Retry-After (a
phone sends again, nothing is lost), /healthz turns 503, and a service that can't start says
why in one line. The data folder is for the service's own account."""

from __future__ import annotations

import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import LOCAL, make_services
from tests.people import START, Cast
from tests.service import WWM, Service
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.store.migrate import script_head


@pytest.fixture
def read_only(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Cast, TestClient, str]]:
    """Mira walking (on a database that takes writes); then the same database, opened read
    only, as a data folder on a disk gone read-only would be."""
    path = tmp_path / "wwm.db"
    svc = make_services(f"sqlite:///{path}", tmp_path, clock)
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as client:
        cast = Cast(client, svc, clock)
        mira, _noor, phone, walk = cast.walking()
    svc.db.dispose()
    frozen = make_services(f"sqlite:///file:{path}?mode=ro&uri=true", tmp_path, clock)
    with TestClient(create_app(frozen), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
        yield Cast(c, frozen, clock), c, phone
    frozen.db.dispose()


def test_a_write_the_database_refuses_is_503_and_healthz_says_so(
    read_only: tuple[Cast, TestClient, str],
) -> None:
    cast, client, phone = read_only
    refused = client.post(
        "/api/fixes", json=cast.fix(START), headers={"Authorization": f"Bearer {phone}"}
    )
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert "try again" in refused.json()["error"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["ok"] is False
    assert health.json()["storage"] == {"writes": False, "failing_since": cast.clock.now_ms()}
    # A monitor elsewhere is told only that it is not well.
    outside = TestClient(client.app, client=("203.0.113.9", 4000)).get("/healthz")
    assert (outside.status_code, outside.json()["ok"]) == (503, False)


def test_healthz_is_well_when_the_database_takes_writes(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["storage"] == {"writes": True, "failing_since": None}


def start(
    data: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    service = Service(data, env=env)
    return subprocess.run(
        [*WWM, "serve", "--data", str(data), "--port", str(service.port), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=service.env,
        check=False,
    )


def one_line_naming(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2
    said = done.stderr.strip()
    assert "Traceback" not in said
    assert len(said.splitlines()) == 1, said
    for word in words:
        assert word in said, said
    assert "listening on" not in done.stdout


@pytest.mark.slow
def test_an_unreachable_postgresql_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # nothing listens there
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    done = start(tmp_path / "data", env={"WWM_DATABASE_URL": url})
    one_line_naming(done, "cannot start", "can't be reached", f"127.0.0.1:{port}")


@pytest.mark.slow
def test_a_bad_log_level_is_one_clear_line(tmp_path: Path) -> None:
    done = start(tmp_path / "data", env={"WWM_LOG_LEVEL": "chatty"})
    one_line_naming(done, "WWM_LOG_LEVEL")


@pytest.mark.slow
def test_a_port_in_use_is_said_before_listening_on(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = Service(tmp_path / "data")
        done = subprocess.run(
            [*WWM, "serve", "--data", str(tmp_path / "data"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=service.env,
            check=False,
        )
    one_line_naming(done, "cannot start", f"port {port}", "in use")


@pytest.mark.slow
def test_a_data_folder_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    done = start(tmp_path / "data")
    one_line_naming(done, "cannot start")


@pytest.mark.slow
def test_the_data_folder_and_its_files_are_for_the_service_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    service = Service(data).start()
    try:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        made = [p for p in data.iterdir() if p.name.startswith("walkwithme")]
        assert any(p.name.endswith(".db") for p in made), made
        for path in made:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        service.stop()


@pytest.mark.slow
def test_a_database_of_a_newer_release_is_said_so_by_check_migrate_and_serve(
    tmp_path: Path,
) -> None:
    """An older release run on the database a newer one upgraded: each command says what
    happened and what to do, in one line, not "can't locate revision" or "at schema 0041,
    not 0040 (walkwithme migrate)"."""
    data = tmp_path / "data"
    subprocess.run([*WWM, "migrate", "--data", str(data)], check=True, capture_output=True)
    head = script_head()
    newer = f"{int(head or '0') + 1:04d}"
    engine = sa.create_engine(f"sqlite:///{data / 'walkwithme.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": newer})
    engine.dispose()
    said = (
        f"the database was made by a newer release of Walk With Me (schema {newer}; this one "
        f"knows up to {head}): run that release, or restore the backup taken before upgrading"
    )
    one_line_naming(start(data), "cannot start", said)
    migrated = subprocess.run(
        [*WWM, "migrate", "--data", str(data)], capture_output=True, text=True, check=False
    )
    assert migrated.returncode == 2
    assert migrated.stderr.strip().splitlines()[-1] == f"error: {said}"
    assert "locate revision" not in migrated.stderr
    checked = subprocess.run(
        [*WWM, "check", "--data", str(data)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 1
    assert said in checked.stdout
    assert "walkwithme migrate" not in checked.stdout
