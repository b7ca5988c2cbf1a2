"""Bring a database's schema up to date with Alembic (`walkwithme migrate`, and at start-up).

At start-up the database is nearly always up to date already: its revision is compared with
the newest migration's, read from the scripts' own `revision = ...` lines, and only a database
that is behind (or a set of scripts that this can't read: a merge, an unusual line) goes
through Alembic, which takes a fifth of a second to import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^revision\s*(?::[^=]*)?=\s*"([^"]+)"\s*$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*(?::[^=]*)?=\s*(?:None|"([^"]+)")\s*$', re.MULTILINE)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


class NewerDatabase(Exception):
    """The database's schema is one no migration here makes: a newer release made it (Alembic
    would only say it "can't locate revision")."""

    def __init__(self, at: str) -> None:
        super().__init__(
            f"the database was made by a newer release of Walk With Me (schema {at}; this one "
            f"knows up to {script_head()}): run that release, or restore the backup taken "
            "before upgrading"
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and is_up_to_date(engine):
        return
    refuse_newer(recorded_revision(engine))
    from alembic import command

    config = alembic_config(engine)
    with engine.connect() as conn, _references_checked_at_the_end(conn), conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        _refuse_broken_references(conn)


@contextmanager
def _references_checked_at_the_end(conn: Connection) -> Iterator[None]:
    """On SQLite, foreign keys off while migrating: a migration that rebuilds a table (Alembic's
    batch mode drops the old one) would otherwise delete, by `ON DELETE CASCADE`, every row
    that refers to it (a walk's track and timeline, with `walks`). Checked before committing
    instead. SQLite ignores the pragma inside a transaction: it is set before one begins."""
    if conn.dialect.name != "sqlite":
        yield
        return
    dbapi_conn: Any = conn.connection.dbapi_connection
    was_on = dbapi_conn.execute("PRAGMA foreign_keys").fetchone()[0]
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        dbapi_conn.execute(f"PRAGMA foreign_keys={'ON' if was_on else 'OFF'}")


def _refuse_broken_references(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(
            f"the upgrade would leave {len(broken)} rows referring to rows that are not there "
            f"(first: {broken[0][0]} row {broken[0][1]}); nothing was changed"
        )


def is_up_to_date(engine: Engine) -> bool:
    head = script_head()
    return head is not None and recorded_revision(engine) == head


def refuse_newer(at: str | None) -> None:
    """Raise NewerDatabase if the database is at a revision none of these scripts makes."""
    if at is not None and at not in known_revisions():
        raise NewerDatabase(at)


def known_revisions() -> set[str]:
    """Every revision these scripts make (an older database is at one of them)."""
    found: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found.update(_REVISION.findall(path.read_text()))
    return found


def script_head() -> str | None:
    """The newest migration's revision, without Alembic; None unless the scripts make one
    chain with one end."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text()
        revision, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0]:
            downs.add(down[0])
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 and downs <= revisions else None


def recorded_revision(engine: Engine) -> str | None:
    """The revision the database says it is at; None if it has none (a new database)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
