"""A SQLite engine as the service uses one: the writer's (one connection, `BEGIN IMMEDIATE`,
WAL) or the readers' (one pooled connection per worker thread), each connection set up alike."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from walkwithme.store.database import READ_THREADS, refused


def sqlite_engine(url: str, *, for_writes: bool, busy_timeout_ms: int) -> Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        # Readers run on the worker threads (40 at most): one pooled connection each, kept
        # open, instead of opening a file and parsing the schema for a burst of reads.
        # The writer keeps one connection (store/writer.py); a migration, the CLI's checks or
        # a second writer in tests may take another while it does.
        pool_size=1 if for_writes else READ_THREADS,
        max_overflow=2 if for_writes else 0,
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

    begin = "BEGIN IMMEDIATE" if for_writes else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight on the DB-API connection, as the writer's statements are (`Prepared`):
        # through SQLAlchemy's execution it took the writer 39 µs a group (median, in the
        # ingest benchmark at one connection), a fifth of its commit with the fsync.
        dbapi_conn: Any = conn.connection.dbapi_connection
        try:
            dbapi_conn.execute(begin)
        except sqlite3.Error as exc:  # e.g. locked past the busy timeout: as SQLAlchemy's
            raise refused(conn, dbapi_conn, exc, begin, None) from exc

    return engine
