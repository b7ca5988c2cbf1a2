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
  the walk), which fails the whole transaction: the writer runs the group's jobs again, each
  alone and without deferring, where each sees what happened (usecases/walk_store.py).
- What is waiting, the group's last writes, its `NOTIFY`s and the `COMMIT`, and its `BEGIN`
  if nothing was sent before, go as one query (`commit`). A group of fixes is one round trip.
- A deferred fix is sent as an `EXECUTE` of a statement its connection prepared when it first
  sent one: as plain SQL, the server parsed and planned it for every fix, which took the
  server twice the time (benchmarks/README.md).

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

# In the connection's `info` (kept as long as its DB-API connection): the statements not yet
# sent, and the names of those it prepared.
_PENDING = "wwm pending writes"
_NAMES = "wwm prepared"
# Never the same name twice in a process: a query that failed may or may not have prepared
# what it held (`PREPARE` is not taken back with a transaction), so its names are forgotten.
_numbers = itertools.count(1)


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
        pending = conn.info.get(_PENDING)
        if pending and not isinstance(cursor, psycopg.ClientCursor):
            _send(conn, pending)

    return engine


@contextlib.contextmanager
def deferring(conn: Connection) -> Iterator[None]:
    """While the block runs, `defer` keeps statements to send later (anything it leaves
    waiting is dropped at the end: the transaction was rolled back, or `commit` sent it)."""
    conn.info[_PENDING] = []
    try:
        yield
    finally:
        conn.info.pop(_PENDING, None)


def defers(conn: Connection) -> bool:
    return _PENDING in conn.info


def defer(conn: Connection, statement: Prepared, values: Mapping[str, Any]) -> None:
    """Send this statement with the next one, or with the commit (only while `deferring`).
    Its outcome is not read: it must fail by itself if it is not the one planned.

    It is sent as an `EXECUTE` of a statement the connection prepared, with the first use:
    sent as it is, the server would parse and plan it again for every fix."""
    pending: list[str] = conn.info[_PENDING]
    names: dict[Prepared, str] = conn.info.setdefault(_NAMES, {})
    name = names.get(statement)
    if name is None:
        name = names[statement] = f"wwm_{next(_numbers)}"
        pending.append(statement.preparing(conn, name))
    pending.append(statement.said(conn, _binder(conn), values, as_prepared=name))


def still_connected(conn: Connection) -> None:
    """Raise as a lost connection if the server has ended it (or said anything) while it was
    kept between groups: known before anything of the group is sent, the group runs again on
    a new connection. An idle connection has nothing to read; a look at its socket waits for
    nothing."""
    dbapi_conn: Any = conn.connection.dbapi_connection
    pgconn = dbapi_conn.pgconn
    try:
        looking = select.poll()  # not select(): its descriptors end at 1,024
        looking.register(pgconn.socket, select.POLLIN)
        if looking.poll(0):
            pgconn.consume_input()
        if pgconn.status != ConnStatus.OK:
            raise psycopg.OperationalError("the server closed the connection unexpectedly")
    except psycopg.Error as exc:
        raise refused(conn, dbapi_conn, exc, "", None) from exc


def commit(conn: Connection, writes: Writes) -> None:
    """What is waiting, these writes and the `COMMIT` as one query; with the `BEGIN` too if
    the group sent nothing before (psycopg would send it in a round trip of its own)."""
    binder = None
    said: list[str] = conn.info.pop(_PENDING, None) or []
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
        _forget_prepared(conn, said)
        raise refused(conn, dbapi_conn, exc, sql, None) from exc
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


def _send(conn: Connection, pending: list[str]) -> None:
    said = list(pending)
    pending.clear()
    sql = ";\n".join(said)
    dbapi_conn: Any = conn.connection.dbapi_connection
    try:
        dbapi_conn.cursor().execute(sql, prepare=False)
    except psycopg.Error as exc:
        _forget_prepared(conn, said)
        raise refused(conn, dbapi_conn, exc, sql, None) from exc


def _forget_prepared(conn: Connection, said: list[str]) -> None:
    """After a query that failed: the statements it was to prepare are prepared again when
    next used, under new names (it may have prepared some, and left others)."""
    preparing = {line.split(" ", 2)[1] for line in said if line.startswith("PREPARE ")}
    names: dict[Prepared, str] = conn.info.get(_NAMES, {})
    for statement, name in list(names.items()):
        if name in preparing:
            del names[statement]
