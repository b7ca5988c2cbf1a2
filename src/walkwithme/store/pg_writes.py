"""PostgreSQL: the writer's round trips.

The one writer commits group after group, and its thread waits out every round trip to the
server in turn; each wait on the socket lets the other threads take the GIL, which the writer
must then win back. A phone's fix a request was three waits (psycopg's `BEGIN`, the fix's
statement, the `COMMIT`), and a group of fixes one more for each fix. So:

- The engine keeps its one connection and does not ping it before each group. A connection
  the server ended is found before anything of the group is sent (`still_connected`, a look
  at the socket that waits for nothing) or by the group's first statement; the writer then
  runs the group again on a new connection (store/writer.py).
- A phone's fix is not sent when its job runs, but with whatever the group sends next: its
  next statement, or its `COMMIT` (`defer`). The writer does not read what such a statement
  did. It assumes the fix went in and its walk was saved, and `wwm_expect` (migration 0029)
  makes the statement fail if not (the fix was stored already, or another process changed
  the walk), which fails the whole transaction: the writer runs the group again without
  deferring, where each job sees what happened (usecases/walk_store.py), and if that fails
  too, each job alone (store/writer.py).
- What is waiting, the group's last writes, its `NOTIFY`s and the `COMMIT`, and its `BEGIN`
  if nothing was sent before, go as one query (`commit`). A group of fixes is one round trip.
- A deferred fix is sent as an `EXECUTE` of a statement its connection prepared when it first
  sent one: as plain SQL, the server parsed and planned it for every fix, which took the
  server twice the time (benchmarks/README.md). A name is kept for the connection only once
  the query carrying its `PREPARE` went through.

The values are bound by psycopg on this side, as literals: a query of several statements has
no parameters. An error is raised as SQLAlchemy's, as from `Connection.execute`: the server
runs none of the statements after it, and nothing of the transaction is kept.
"""

from __future__ import annotations

import contextlib
import itertools
import select
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from walkwithme.store.database import Prepared, Writes, prepared, refused

# In the connection's `info` (kept as long as its DB-API connection): what waits to be sent
# (while the writer runs a group), and the statements it prepared, by their names.
_PENDING = "wwm pending writes"
_NAMES = "wwm prepared"
# Never the same name twice in a process: a query that failed may have prepared what it held
# or not (`PREPARE` is not taken back with a transaction), so its names are not kept.
_numbers = itertools.count(1)


class _Pending:
    """The statements waiting to be sent, and the names of those they prepare (kept for the
    connection only once the query that prepares them went through)."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.preparing: dict[Prepared, str] = {}
        # What writes the values in (store/database.py `literals`), made once a group, at
        # its first deferred statement, rather than once a fix.
        self.binder: psycopg.ClientCursor[Any] | None = None

    def take(self) -> tuple[list[str], dict[Prepared, str]]:
        taken = self.said, self.preparing
        self.said, self.preparing = [], {}
        return taken


def write_engine(url: str, connect_args: dict[str, Any]) -> Engine:
    """The writer's engine: one connection, kept (the most recently used one first, a few
    more for a migration or a second writer in tests), not pinged before use; what waits is
    sent before any other statement."""
    engine = sa.create_engine(
        url,
        pool_size=1,
        max_overflow=4,
        pool_use_lifo=True,
        pool_pre_ping=False,
        connect_args=connect_args,
    )

    @event.listens_for(engine, "before_cursor_execute")
    def _pending_first(
        conn: Connection, cursor: Any, _sql: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        # Whatever the group runs next reads what is waiting as done: it is sent first. (A
        # `ClientCursor` is a binder saying what will be sent later, not a statement now.)
        pending: _Pending | None = conn.info.get(_PENDING)
        if pending is not None and pending.said and not isinstance(cursor, psycopg.ClientCursor):
            _send(conn, *pending.take())

    return engine


@contextlib.contextmanager
def deferring(conn: Connection) -> Iterator[None]:
    """While the block runs, `defer` keeps statements to send later (anything it leaves
    waiting is dropped at the end: the transaction was rolled back, or `commit` sent it)."""
    info = conn.info  # not read again at the end: the connection may be invalidated by then
    info[_PENDING] = _Pending()
    try:
        yield
    finally:
        info.pop(_PENDING, None)


def defers(conn: Connection) -> bool:
    return _PENDING in conn.info


def defer(conn: Connection, statement: Prepared, values: Mapping[str, Any]) -> None:
    """Send this statement with the next one, or with the commit (only while `deferring`).
    Its outcome is not read: it must fail by itself if it is not the one planned.

    It is sent as an `EXECUTE` of a statement the connection prepared, with the first use:
    sent as it is, the server would parse and plan it again for every fix."""
    pending: _Pending = conn.info[_PENDING]
    names: dict[Prepared, str] = conn.info.setdefault(_NAMES, {})
    name = names.get(statement) or pending.preparing.get(statement)
    if name is None:
        name = pending.preparing[statement] = f"wwm_{next(_numbers)}"
        pending.said.append(statement.preparing(conn, name))
    if pending.binder is None:
        pending.binder = _binder(conn)
    pending.said.append(statement.said(conn, pending.binder, values, as_prepared=name))


def still_connected(conn: Connection) -> None:
    """Raise as a lost connection if the server has ended it while it was kept between
    groups: known before anything of the group is sent, the group runs again on a new
    connection. An idle connection has nothing to read, and a look at its socket waits for
    nothing. A server that ends a connection (a restart, `pg_terminate_backend`) says why,
    then closes it: both are read here."""
    dbapi_conn: Any = conn.connection.dbapi_connection
    pgconn = dbapi_conn.pgconn
    looking = select.poll()  # not select(): its descriptors end at 1,024
    looking.register(pgconn.socket, select.POLLIN)
    try:
        for _ in range(3):  # what it said, then its end
            if not looking.poll(0):
                break
            pgconn.consume_input()
        if pgconn.status != ConnStatus.OK:
            raise psycopg.OperationalError("the server closed the connection")
    except psycopg.Error as exc:
        dbapi_conn.close()  # so that it is known as lost, and replaced
        raise refused(conn, dbapi_conn, exc, "", None) from exc


def commit(conn: Connection, writes: Writes) -> None:
    """What is waiting, these writes and the `COMMIT` as one query; with the `BEGIN` too if
    the group sent nothing before (psycopg would send it in a round trip of its own)."""
    pending: _Pending | None = conn.info.pop(_PENDING, None)
    said, preparing = pending.take() if pending is not None else ([], {})
    binder = None
    for statement, rows in writes:
        if rows and binder is None:
            binder = _binder(conn)
        for values in rows:
            said.append(prepared(statement).said(conn, binder, values))
    if not said:
        conn.commit()
        return
    dbapi_conn: Any = conn.connection.dbapi_connection
    idle = dbapi_conn.info.transaction_status == TransactionStatus.IDLE
    sql = ";\n".join(["BEGIN", *said, "COMMIT"] if idle else [*said, "COMMIT"])
    try:
        if idle:
            # Nothing sent yet: no transaction on the server, and psycopg would open one
            # with a round trip first. It sends the query as it is in autocommit; the query
            # is the transaction, `BEGIN` to `COMMIT`.
            dbapi_conn.autocommit = True
            try:
                dbapi_conn.cursor().execute(sql, prepare=False)
            finally:
                _leave_autocommit(dbapi_conn)
        else:
            dbapi_conn.cursor().execute(sql, prepare=False)
    except psycopg.Error as exc:
        raise refused(conn, dbapi_conn, exc, sql, None) from exc
    _prepared_now(conn, preparing)
    conn.commit()  # SQLAlchemy's transaction ends; psycopg has nothing left to commit


def _binder(conn: Connection) -> psycopg.ClientCursor[Any]:
    dbapi_conn: Any = conn.connection.dbapi_connection
    return psycopg.ClientCursor(dbapi_conn)


def _leave_autocommit(dbapi_conn: Any) -> None:
    """Back out of autocommit; a transaction the query left failed is rolled back first."""
    with contextlib.suppress(psycopg.Error):
        if dbapi_conn.info.transaction_status != TransactionStatus.IDLE:
            dbapi_conn.execute("ROLLBACK")
        dbapi_conn.autocommit = False


def _send(conn: Connection, said: list[str], preparing: dict[Prepared, str]) -> None:
    sql = ";\n".join(said)
    dbapi_conn: Any = conn.connection.dbapi_connection
    try:
        dbapi_conn.cursor().execute(sql, prepare=False)
    except psycopg.Error as exc:
        raise refused(conn, dbapi_conn, exc, sql, None) from exc
    _prepared_now(conn, preparing)


def _prepared_now(conn: Connection, preparing: dict[Prepared, str]) -> None:
    """The statements a query that went through prepared: kept, by name, for the connection
    (a `PREPARE` that was never sent, or sent in a query that failed, is not)."""
    if preparing:
        conn.info.setdefault(_NAMES, {}).update(preparing)
