"""Engines for SQLite (the default) and PostgreSQL, and reads off the event loop.

SQLite gets WAL (readers never wait for the writer), a busy timeout, foreign keys,
`secure_delete` and `synchronous=FULL`: a fix we acknowledged must survive a power cut, and
group commit makes the fsync affordable. Writes on SQLite start with `BEGIN IMMEDIATE` so a
write transaction takes the lock up front instead of failing half-way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")

READ_THREADS = 40  # anyio's default worker threads, which run the reads


def _sqlite_engine(url: str, *, for_writes: bool, busy_timeout_ms: int) -> Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        # Readers run on the worker threads (40 at most): one pooled connection each, kept
        # open, instead of opening a file and parsing the schema for a burst of reads.
        pool_size=1 if for_writes else READ_THREADS,
        max_overflow=0,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if for_writes:  # WAL is a property of the file: set once, by the writer
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # What is deleted is overwritten, not only unlinked: a forgotten walk's track must not
        # linger in free pages of the file (usecases/retention.py).
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if for_writes else "BEGIN")

    return engine


class Database:
    """A database's engines: one for the writer, one for concurrent reads."""

    def __init__(
        self,
        url: str,
        *,
        connect_args: dict[str, Any] | None = None,
        busy_timeout_ms: int = 30_000,
    ) -> None:
        """`busy_timeout_ms`: how long SQLite waits for a lock held by another process (a
        CLI command, a backup) before the request fails with a 503 the phone retries."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(
                url, for_writes=True, busy_timeout_ms=busy_timeout_ms
            )
            self.read_engine = _sqlite_engine(
                url, for_writes=False, busy_timeout_ms=busy_timeout_ms
            )
        else:
            self.write_engine = sa.create_engine(
                url,
                pool_size=10,
                max_overflow=10,
                pool_pre_ping=True,
                connect_args=connect_args or {},
            )
            self.read_engine = self.write_engine

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.read_engine.connect() as conn:
            return fn(conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run a read-only query function on a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(self.read_sync, fn)

    def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database and empty it, so pages as they were before a
        deletion don't stay in the WAL file. Best effort: with a reader in the middle of a
        transaction it does what it can, and the next one does the rest."""
        if not self.is_sqlite:
            return
        raw = self.read_engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"
