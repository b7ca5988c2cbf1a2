"""Engines for SQLite (the default) and PostgreSQL, and reads off the event loop.

SQLite (store/sqlite_engine.py) gets WAL (readers never wait for the writer), a busy
timeout, foreign keys, `secure_delete` and `synchronous=FULL`: a fix we acknowledged must
survive a power cut, and group commit makes the fsync affordable. Writes on SQLite start with
`BEGIN IMMEDIATE` so a write transaction takes the lock up front instead of failing half-way.

On PostgreSQL the writer's engine saves it round trips (store/pg_writes.py).
`synchronous_commit` is left as the server has it (on by default): a fix answered is a fix on
disk.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import anyio
import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger(__name__)
T = TypeVar("T")

READ_THREADS = 40  # anyio's default worker threads, which run the reads
SQLITE_VARIABLES = 999  # the parameters a statement may have in any SQLite (32,766 since 3.32)
LIVE_READ_THREADS = 4  # of which the live streams' reads take at most this many at once


class StorageUnavailable(Exception):
    """The database could not commit, or be read; nothing of the request was kept. Worth a
    retry (a 503 with Retry-After)."""


class Database:
    """A database's engines: one for the writer, one for concurrent reads."""

    def __init__(
        self,
        url: str,
        *,
        connect_args: dict[str, Any] | None = None,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        """`busy_timeout_ms`: how long SQLite waits for a lock held by another process (a
        CLI command, a backup) before the request fails with a 503 the phone retries. Well
        under a phone's own wait for an answer (about 30 s): with 30 s, two groups in a row
        answered a phone after a minute, when it had given up, and her SOS waited as long (a
        review of faults)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Made in the event loop that first reads for a live stream (one per loop).
        self._live_limiter: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = None
        if self.is_sqlite:
            from walkwithme.store.sqlite_engine import sqlite_engine  # it builds on this module

            self.write_engine = sqlite_engine(url, for_writes=True, busy_timeout_ms=busy_timeout_ms)
            self.read_engine = sqlite_engine(url, for_writes=False, busy_timeout_ms=busy_timeout_ms)
        else:
            from walkwithme.store import pg_writes  # it builds on this module

            self.write_engine = pg_writes.write_engine(url, connect_args or {})
            self.read_engine = sa.create_engine(
                url,
                pool_size=10,
                max_overflow=10,
                pool_pre_ping=True,
                connect_args=connect_args or {},
            )

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        """Run a read; StorageUnavailable (a 503, worth a retry) if the database can't be
        reached or read (PostgreSQL restarting, a disk gone): not a fault of the request."""
        try:
            with self.read_engine.connect() as conn:
                return fn(conn)
        except DBAPIError as exc:
            # Not a mistake in the query (SQLite says "no such column" as an OperationalError
            # too): that is a fault of ours, a 500 and a trace in the log, not a retry forever.
            if exc.connection_invalidated or is_transient(exc):
                log.warning("the database could not be read: %s", exc.orig)
                raise StorageUnavailable("the database is unavailable; try again") from exc
            raise

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run a read-only query function on a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(self.read_sync, fn)

    async def read_live(self, fn: Callable[[Connection], T]) -> T:
        """The same for the live streams (every companion's catch-up and checks): at most
        LIVE_READ_THREADS at once, queued beyond, so a wave of them (a restart, a walk's
        companions woken at once) doesn't take 40 threads that fight the writer for the GIL."""
        loop = asyncio.get_running_loop()
        if self._live_limiter is None or self._live_limiter[0] is not loop:
            self._live_limiter = (loop, anyio.CapacityLimiter(LIVE_READ_THREADS))
        return await anyio.to_thread.run_sync(self.read_sync, fn, limiter=self._live_limiter[1])

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
        """Close every connection: those in the pools now, and those in use as they return.
        (The engines stay usable, with new pools: commands and tests read after a stop.)"""
        for engine in {self.write_engine, self.read_engine}:
            retired = engine.pool
            engine.dispose()
            # A connection still in use (a read on a worker thread as the service stops) comes
            # back to the retired pool, which nobody will empty: closed as it does, not left
            # open for the garbage collector to find. Listened to once the new pool is made
            # (it copies the old one's listeners); those back in between, closed just after.
            event.listen(retired, "checkin", _close_returned)
            retired.dispose()


def _close_returned(dbapi_conn: Any, _record: Any) -> None:
    if dbapi_conn is not None:
        dbapi_conn.close()


Writes = list[tuple[Executable, list[dict[str, Any]]]]  # each statement with its sets of values


def commit_with(conn: Connection, writes: Writes) -> None:
    """Make these writes, then commit the connection's transaction: on SQLite each statement
    as one `executemany` on the DB-API cursor, then the commit; on PostgreSQL with whatever
    waits, in one query (store/pg_writes.py)."""
    if conn.dialect.name == "postgresql":
        from walkwithme.store import pg_writes  # it builds on this module

        pg_writes.commit(conn, writes)
        return
    for statement, rows in writes:
        if rows:
            prepared(statement)._form(conn).run_each(conn, rows)
    conn.commit()


_PREPARED: dict[int, tuple[Executable, Prepared]] = {}


def prepared(statement: Executable) -> Prepared:
    """The statement, compiled once (the writes kept for a commit are a few module-level
    statements, so this stays small)."""
    found = _PREPARED.get(id(statement))
    if found is None or found[0] is not statement:
        if len(_PREPARED) > 256:  # not a module-level statement after all: don't keep them
            _PREPARED.clear()
        found = _PREPARED[id(statement)] = (statement, Prepared(cast(ClauseElement, statement)))
    return found[1]


def refused(conn: Connection, dbapi_conn: Any, exc: Exception, sql: str, params: Any) -> DBAPIError:
    """A DB-API error raised outside SQLAlchemy's execution, as SQLAlchemy's would be: a lost
    connection is invalidated (the pool makes a new one) and said so."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(cast(Any, exc), dbapi_conn, None)
    if lost:
        conn.invalidate(exc)
    return cast(
        DBAPIError,
        DBAPIError.instance(
            sql,
            params,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ),
    )


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DB-API cursor of the
    connection it is given, inside that connection's transaction: for the few statements the
    writer runs for every fix, without SQLAlchemy's execution layer around each one (its cache
    lookup, execution context and result object were most of the writer's time in a profile of
    single fixes). Values and results go through the columns' types as SQLAlchemy's own would,
    and a DB-API error is raised as SQLAlchemy's (the writer tells a refused write by it).
    Listeners of `before_cursor_execute` are called as for any statement (not to change it).

    Plain statements only: every parameter a named `bindparam` (or, for an insert, a column
    named in `column_keys`), no expanding `IN` (write the values into the statement)."""

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._forms: dict[str, _Form] = {}

    def _form(self, conn: Connection) -> _Form:
        dialect = conn.dialect
        form = self._forms.get(dialect.name)
        if form is None:
            form = self._forms[dialect.name] = _Form(self.statement, dialect, self._column_keys)
        return form

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it; the rows it returns, each value as its column's type reads it."""
        form = self._form(conn)
        cursor = form.run(conn, values)
        try:
            return form.rows(cursor)
        finally:
            cursor.close()

    def mappings(self, conn: Connection, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The same, each row by its columns' names."""
        keys = self._form(conn).keys
        return [dict(zip(keys, row, strict=True)) for row in self.rows(conn, values)]

    def rows_inserting(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Any, ...]] | None:
        """For an `INSERT ... VALUES (...)`: insert these rows with one statement of many
        `VALUES` groups (a chunk of them for SQLite's 999 variables); the rows it returns.
        None where the dialect's parameters are not positional (PostgreSQL's are named: use
        SQLAlchemy's own executemany there)."""
        form = self._form(conn)
        if not form.positional or form.values_at is None:
            return None
        found: list[tuple[Any, ...]] = []
        per_chunk = max(1, SQLITE_VARIABLES // max(1, len(form.names)))
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            cursor = form.run_many(conn, chunk)
            try:
                found.extend(form.rows(cursor))
            finally:
                cursor.close()
        return found

    def said(
        self, conn: Connection, binder: Any, values: Mapping[str, Any], as_prepared: str = ""
    ) -> str:
        """PostgreSQL: the statement with these values written in by `binder` (a psycopg
        `ClientCursor`), to be sent later in a query of several (store/pg_writes.py);
        `as_prepared`: as an `EXECUTE` of the statement prepared under that name
        (`preparing`)."""
        form = self._form(conn)
        params = form.named(values)
        if conn._has_events or conn.engine._has_events:  # what listens still hears it
            conn.dispatch.before_cursor_execute(conn, binder, form.sql, params, None, False)
        if not as_prepared:
            return str(binder.mogrify(form.sql, params))
        _numbered, order = form.numbered()
        if not order:
            return f"EXECUTE {as_prepared}"
        return f"EXECUTE {as_prepared}({literals(binder, [params[n] for n in order])})"

    def preparing(self, conn: Connection, name: str) -> str:
        """PostgreSQL: the `PREPARE` of the statement under this name (its parameters' types
        as the server infers them), for `said(..., as_prepared=name)`."""
        numbered, _order = self._form(conn).numbered()
        return f"PREPARE {name} AS {numbered}"

    def rowcount(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run it; how many rows it changed."""
        cursor = self._form(conn).run(conn, values)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


def literals(binder: Any, values: Sequence[Any]) -> str:
    """PostgreSQL: the values as SQL literals, separated by commas, exactly as `binder` (a
    psycopg `ClientCursor`) writes them. A deferred fix is about thirty values (its row and
    its walk's new columns), and psycopg's `mogrify` took 35 to 50 us for them, about a sixth
    of a server process's time for a fix: the plain ones (a `bool`, an `int`, a finite
    `float`, `None`, a `str` without a backslash or a NUL, on a connection with
    `standard_conforming_strings`) are written here, as psycopg would; any other value by
    psycopg itself."""
    plain_strings = (
        binder.connection.pgconn.parameter_status(b"standard_conforming_strings") == b"on"
    )
    said: list[str] = []
    for value in values:
        kind = type(value)
        if value is None:
            said.append("NULL")
        elif kind is bool:  # (the walk's `first_only`, at every fix)
            said.append("true" if value else "false")
        elif kind is int:
            said.append(f" {value}" if value < 0 else str(value))  # psycopg's space: no `--`
        elif kind is float and math.isfinite(value):
            text = repr(value)
            said.append(f" {text}" if text[0] == "-" else text)
        elif kind is str and plain_strings and "\\" not in value and "\x00" not in value:
            said.append("'" + value.replace("'", "''") + "'")
        else:
            said.append(str(binder.mogrify("%s", [value])))
    return ", ".join(said)


class _Form:
    """A statement as one dialect runs it: its SQL, its parameters in order, its types."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, column_keys: list[str] | None
    ) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=column_keys))
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("an expanding parameter can't be prepared")
        self.sql = compiled.string
        self.dialect = dialect
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        self.positional = compiled.positional
        self.names = names
        processors = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        }
        self.binds = {name: proc for name, proc in processors.items() if proc is not None}
        # Each parameter in order, with its processor (None: the value as it is).
        self._order = [(name, self.binds.get(name)) for name in names]
        # Where the one group of values is in an insert's SQL (with positional parameters, as
        # `(?, ?, ...)`), to repeat it for many rows.
        start = self.sql.find(" VALUES (") if compiled.positional else -1
        end = self.sql.find(")", start) + 1 if start >= 0 else -1
        self.values_at = (start + len(" VALUES "), end) if start >= 0 and end > 0 else None
        self._types = [entry.type.dialect_impl(dialect) for entry in compiled._result_columns]
        self.keys = [entry.keyname for entry in compiled._result_columns]
        self._numbered: tuple[str, list[str]] | None = None
        # Worked out from the first result's description (a driver's type codes).
        self._results: list[Any] | None = None

    def numbered(self) -> tuple[str, list[str]]:
        """PostgreSQL: the SQL with `$1`, `$2`... for its named parameters, as `PREPARE` takes
        it, and their names in that order."""
        if self._numbered is None:
            order: list[str] = []

            def number(found: re.Match[str]) -> str:
                if found.group(0) == "%%":
                    return "%"
                if found.group(1) not in order:
                    order.append(found.group(1))
                return f"${order.index(found.group(1)) + 1}"

            self._numbered = (re.sub(r"%%|%\((\w+)\)s", number, self.sql), order)
        return self._numbered

    def _values(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        binds = self.binds
        if not binds:
            return values
        return {
            name: binds[name](values[name]) if name in binds else values[name]
            for name in self.names
        }

    def named(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """The values as the driver takes them, by name (PostgreSQL's parameters)."""
        return self._values(values)

    def _positional(self, values: Mapping[str, Any]) -> list[Any]:
        """The values in the parameters' order, as the driver takes them (no dict between:
        this runs for every row of every fix)."""
        return [values[name] if proc is None else proc(values[name]) for name, proc in self._order]

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        params: Any = self._positional(values) if self.positional else self._values(values)
        return self._execute(conn, self.sql, params)

    def run_each(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once for each row, as one `executemany` on the DB-API cursor."""
        params: Any = [
            self._positional(row) if self.positional else self._values(row) for row in rows
        ]
        dbapi_conn: Any = conn.connection.dbapi_connection
        cursor = dbapi_conn.cursor()
        try:
            if conn._has_events or conn.engine._has_events:  # what listens still hears it
                conn.dispatch.before_cursor_execute(conn, cursor, self.sql, params, None, True)
            cursor.executemany(self.sql, params)
        except self.dialect.loaded_dbapi.Error as exc:
            raise refused(conn, dbapi_conn, exc, self.sql, params) from exc
        finally:
            cursor.close()

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> Any:
        """An insert of these rows as one statement (positional parameters only)."""
        assert self.values_at is not None
        start, end = self.values_at
        group = self.sql[start:end]
        sql = self.sql[:start] + ", ".join([group] * len(rows)) + self.sql[end:]
        params = [value for row in rows for value in self._positional(row)]
        return self._execute(conn, sql, params)

    def _execute(self, conn: Connection, sql: str, params: Any) -> Any:
        dbapi_conn: Any = conn.connection.dbapi_connection
        cursor = dbapi_conn.cursor()
        try:
            if conn._has_events or conn.engine._has_events:  # what listens still hears it
                conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
            cursor.execute(sql, params)
        except self.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            # A lost connection is said so (the writer runs its group again on a new one).
            raise refused(conn, dbapi_conn, exc, sql, params) from exc
        return cursor

    def processors(self, cursor: Any) -> list[Any]:
        """The columns' result processors (None: the driver's value as it is)."""
        if self._results is None:
            codes = [column[1] for column in cursor.description or ()]
            self._results = [
                impl.result_processor(self.dialect, code)
                for impl, code in zip(self._types, codes, strict=True)
            ]
        return self._results

    def rows(self, cursor: Any) -> list[tuple[Any, ...]]:
        found = cursor.fetchall()
        processors = self.processors(cursor)
        if not any(processors):
            return [tuple(raw) for raw in found]
        return [
            tuple(
                value if processor is None or value is None else processor(value)
                for processor, value in zip(processors, raw, strict=True)
            )
            for raw in found
        ]


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def is_transient(exc: DBAPIError) -> bool:
    """A failure of the database, not of the statement: worth trying again later (a lock
    held, a disk full or gone read-only, a server unreachable or restarting)."""
    text = str(exc.orig).lower()
    return any(
        word in text
        for word in (
            "database is locked",
            "disk i/o",
            "database or disk is full",
            "connection",
            "readonly database",
            "read-only transaction",
            "server closed",
            "terminating",
            "the database system is",
        )
    )
