"""Shared fixtures: a real database (SQLite, and PostgreSQL when it runs), a fake clock, the
real application behind an in-process client, and people to play the parts.

Each test gets a database of its own kind as the migrations leave it: a copy of one migrated
SQLite file, or its worker's PostgreSQL schema emptied (below), so no test dirties another.
Where no PostgreSQL server answers, those tests skip, except under CI (CI=true), where a missing
server is a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.people import Cast
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.security import use_cheap_hashing_for_tests
from walkwithme.services import Services, build_services
from walkwithme.store.database import Database
from walkwithme.store.migrate import upgrade
from walkwithme.store.writer import Writer
from walkwithme.streets import StreetMap, load_street_map, shipped_helsinki

use_cheap_hashing_for_tests()

LOCAL = ("127.0.0.1", 50000)  # a client on this machine
PG_URL = os.environ.get("WWM_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None


_PG_PROBLEM: str | bool | None = False  # False: not probed yet


def require_postgres() -> None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _postgres_available()
    if _PG_PROBLEM:
        message = f"PostgreSQL is not reachable at {PG_URL}: {_PG_PROBLEM}"
        if IN_CI:
            pytest.fail(message + " (under CI a missing server is a failure)")
        pytest.skip(message)


# Migrating a new database runs every Alembic script: about 0.3 s, on each of a thousand tests.
# So each worker migrates a database of each kind once. A SQLite test gets a copy of it (a
# backup, in a millisecond); a PostgreSQL test gets the worker's schema emptied, every table
# at once with its numbering restarted (copying a database costs PostgreSQL as much as the
# migrations). `empty_db_url` is for the tests that migrate by themselves.


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.write_engine)
    db.dispose()
    return path


def copy_of(template: Path, path: Path) -> str:
    """A new SQLite database at `path` holding what `template` holds (its WAL included)."""
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)
    return f"sqlite:///{path}"


@dataclass
class MigratedSchema:
    url: str
    empty: Callable[[], None]


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[MigratedSchema]:
    """This worker's migrated schema on the test PostgreSQL, and how to empty it."""
    with pg_schema("w_") as url:
        engine = sa.create_engine(url)
        upgrade(engine)
        tables = [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"]
        truncate = f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"

        def empty() -> None:
            with engine.begin() as conn:
                # A connection a test left in a transaction would make this wait: fail instead.
                conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
                conn.exec_driver_sql(truncate)

        yield MigratedSchema(url, empty)
        engine.dispose()


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test module marked `one_database` tests what lies above the store (validation, headers,
    # HTML): its tests run on SQLite only, since the queries they make run on both databases
    # in the tests of the API and the store.
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("one_database"):
        # As a mark, so that it takes the place of the fixture's own two (a call would add to them).
        metafunc.definition.add_marker(pytest.mark.parametrize("db_url", ["sqlite"], indirect=True))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        return copy_of(request.getfixturevalue("migrated_sqlite"), tmp_path / "test.db")
    schema: MigratedSchema = request.getfixturevalue("migrated_postgres")
    schema.empty()
    return schema.url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with pg_schema("e_") as url:
        yield url


@contextlib.contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A schema of its own on the test PostgreSQL (skipped without one, failed under CI),
    dropped afterwards: the URL that chooses it for every connection, in any process."""
    require_postgres()
    schema = prefix + secrets.token_hex(6)
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh, migrated SQLite database."""
    return copy_of(migrated_sqlite, tmp_path / "test.db")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_services(
    url: str, tmp_path: Path, clock: FakeClock, streets: StreetMap | None = None, **settings: str
) -> Services:
    env = {"WWM_DATA": str(tmp_path / "data"), "WWM_DATABASE_URL": url, **settings}
    svc = build_services(load_config(env), clock, streets=streets)
    svc.background_watchdog = False  # tests move the fake clock and call watchdog.tick_sync()
    return svc


@pytest.fixture(scope="session")
def helsinki() -> StreetMap:
    """The shipped street map, loaded once for every test that walks its streets."""
    return load_street_map(shipped_helsinki())


@pytest.fixture
def services(
    db_url: str, tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest
) -> Iterator[Services]:
    """The service; with the shipped Helsinki street map for tests marked `streets`."""
    streets = (
        request.getfixturevalue("helsinki") if request.node.get_closest_marker("streets") else None
    )
    svc = make_services(db_url, tmp_path, clock, streets)
    yield svc
    svc.db.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    # From this machine, as the operator's own tools are (they may read /metrics).
    app = create_app(services)
    with TestClient(app, base_url="http://127.0.0.1:8000", client=LOCAL) as test_client:
        yield test_client


@pytest.fixture
def cast(client: TestClient, services: Services, clock: FakeClock) -> Cast:
    return Cast(client, services, clock)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    upgrade(db.write_engine)
    yield db
    db.dispose()


@pytest.fixture
def writer(database: Database, clock: FakeClock) -> Writer:
    """A writer used from the test's own thread (no event loop): jobs run at once."""
    return Writer(database.write_engine, clock)


@contextmanager
def waiting_on_locks(
    tmp_path: Path, clock: FakeClock, busy_timeout_ms: int
) -> Iterator[tuple[Cast, Path]]:
    """A service on one SQLite file that waits this long for a lock held by someone else."""
    path = tmp_path / "wwm.db"
    url = f"sqlite:///{path}"
    config = load_config({"WWM_DATA": str(tmp_path), "WWM_DATABASE_URL": url})
    svc = build_services(config, clock, db=Database(url, busy_timeout_ms=busy_timeout_ms))
    svc.background_watchdog = False
    with TestClient(create_app(svc), client=LOCAL) as client:
        yield Cast(client, svc, clock), path
    svc.db.dispose()


@pytest.fixture
def impatient(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Cast, Path]]:
    """A service on SQLite that waits only 200 ms for a lock held by someone else."""
    with waiting_on_locks(tmp_path, clock, 200) as made:
        yield made


# OwnTracks over MQTT (tests/mqtt_world.py): the broker, a world of topics, Mira's phone.
from tests.mqtt_world import mqtt_broker, phone, world  # noqa: E402, F401
