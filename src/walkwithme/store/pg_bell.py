"""The doorbell across processes, on PostgreSQL.

Several `serve` processes may share one PostgreSQL database. A companion connected to one of
them must hear of a fix committed by another at once, not at their stream's next recheck; and a
device revoked through one must stop working in all of them.

So each writer says what its group touched with NOTIFY, in the committing transaction itself:
PostgreSQL delivers a notice only when that transaction commits, in commit order, and never
for one rolled back. Each process LISTENs on a connection of its own (a thread) and rings its
own bell with what the others committed. Like the bell, a notice says only "walk W has news":
the listeners read the news from the database. A notice lost while the listening connection
was down costs latency, never data: after it reconnects, every stream it serves checks again.

The channel is named after the database schema (`current_schema()`), so two services sharing
one database in different schemas don't wake each other. SQLite has one process (`serve`
holds the data folder's lock, startup.py), and no need of any of this.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from walkwithme.store.writer import Touched

log = logging.getLogger(__name__)

# The channel's name, worked out by the server from the schema the connection uses.
CHANNEL = "'walkwithme_' || substr(md5(current_schema()), 1, 12)"
MAX_PAYLOAD = 7_000  # PostgreSQL refuses a payload of 8,000 bytes or more
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)  # waits between attempts to listen again


def origin() -> str:
    """This process's name in its notices, so it skips its own (its writer rang already)."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def notices(origin: str, touched: Touched) -> list[bytes]:
    """What a group touched, as notices of at most MAX_PAYLOAD bytes each."""
    walks = sorted(touched.walks)
    devices = sorted(touched.devices)

    def notice(part: list[int], gone: list[int]) -> bytes:
        return orjson.dumps(
            {
                "o": origin,
                "w": part,
                "a": [w for w in part if w in touched.access],
                "e": [w for w in part if w in touched.events],
                "d": gone,
            }
        )

    size = max(len(walks), len(devices), 1)  # ids a notice, halved until every one fits
    while True:
        out = [
            notice(walks[i : i + size], devices[i : i + size])
            for i in range(0, max(len(walks), len(devices), 1), size)
        ]
        if size == 1 or all(len(body) <= MAX_PAYLOAD for body in out):
            return out
        size = (size + 1) // 2


def announcer(origin: str) -> Callable[[Connection, Touched], None]:
    """The writer's `announce`: NOTIFY in the committing transaction."""
    statement = sa.text(f"SELECT pg_notify({CHANNEL}, :payload)")

    def announce(conn: Connection, touched: Touched) -> None:
        for payload in notices(origin, touched):
            conn.execute(statement, {"payload": payload.decode()})

    return announce


def read(payload: str, origin: str) -> Touched | None:
    """A notice as what it touched; None if it is this process's own (or unreadable)."""
    try:
        said: dict[str, Any] = orjson.loads(payload)
        if said.get("o") == origin:
            return None
        return Touched(
            walks=set(said["w"]),
            access=set(said["a"]),
            events=set(said["e"]),
            devices=set(said["d"]),
            fixes_told=False,  # its fixes are read from the database
        )
    except (orjson.JSONDecodeError, KeyError, TypeError):
        log.warning("an unreadable notice on the doorbell's channel was ignored")
        return None


class Listener:
    """Listens for the other processes' notices on a connection of its own, in a thread.

    `on_news(touched)`: what another process committed. `on_reconnect()`: notices may have
    been missed (the connection dropped): every stream should check again."""

    def __init__(
        self,
        url: str,
        origin: str,
        on_news: Callable[[Touched], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        self._engine = sa.create_engine(url, poolclass=NullPool)
        self._origin = origin
        self._on_news = on_news
        self._on_reconnect = on_reconnect
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while a connection listens (tests wait on it)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wwm-pg-bell", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._engine.dispose()

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                self._listen(first=attempt == 0)
                attempt = 0
            except Exception as exc:
                self.listening.clear()
                wait = RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)]
                log.warning("the doorbell across processes lost its connection (%s)", exc)
                attempt += 1
                self._stopping.wait(wait)

    def _listen(self, *, first: bool) -> None:
        raw = self._engine.raw_connection()
        try:
            conn: Any = raw.driver_connection  # psycopg's own connection
            conn.autocommit = True
            channel = conn.execute(f"SELECT {CHANNEL}").fetchone()[0]
            conn.execute(f'LISTEN "{channel}"')
            self.listening.set()
            if not first:
                self._on_reconnect()  # what was said while nobody listened is lost
            while not self._stopping.is_set():
                for notice in conn.notifies(timeout=1.0):
                    touched = read(notice.payload, self._origin)
                    if touched is not None:
                        self._on_news(touched)
        finally:
            self.listening.clear()
            raw.close()
