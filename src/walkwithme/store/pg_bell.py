"""The doorbell across processes, on PostgreSQL.

Several `serve` processes may share one PostgreSQL database. A companion connected to one of
them must hear of a fix committed by another at once, not at their stream's next recheck; and a
device revoked through one must stop working in all of them.

So each writer says what its group touched with NOTIFY, in the committing transaction itself:
PostgreSQL delivers a notice only when that transaction commits, in commit order, and never
for one rolled back. Each process LISTENs on a connection of its own (a thread) and rings its
own bell with what the others committed. Like the bell, a notice says "walk W has news", and
the listeners read the news from the database, except the fixes a group added, which the
notice carries when they fit (as this process's own commits hand them to its streams). A
notice lost while the listening connection was down costs latency, never data: after it
reconnects, every stream it serves checks again.

A process alone on the database sends no notices: nobody would hear them, and at one fix a
request the notice, its delivery to its own listener and that listener waking up cost a fifth
of each fix's time on the server (benchmarks/README.md). So each listener says "hi" when it
starts listening (and again after a reconnect), and a process that hears another's hi answers
"here". A process that hears another for the first time notices from then on, for as long as
it runs, and says "again" through its writer: in a group of its own, after which every group
it commits carries its notices, and before which every group it committed is in the database
when the others hear it; they then check every stream again, so that nothing it committed
while it thought itself alone waits for a stream's recheck. A process that does not listen
(a command) always notices, since it cannot know who listens, and says so (`DEAF`): hearing
it is no reason to notice.

The channel is named after the database schema (`current_schema()`), so two services sharing
one database in different schemas don't wake each other. SQLite has one process (`serve`
holds the data folder's lock, startup.py), and no need of any of this.
"""

from __future__ import annotations

import logging
import os
import secrets
import select
import threading
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.pq import ConnStatus
from sqlalchemy.pool import NullPool

from walkwithme.store.database import Writes
from walkwithme.store.tx import NewFixes, Touched, Tx

log = logging.getLogger(__name__)

# The channel's name, worked out by the server from the schema the connection uses.
CHANNEL = "'walkwithme_' || substr(md5(current_schema()), 1, 12)"
MAX_PAYLOAD = 7_000  # PostgreSQL refuses a payload of 8,000 bytes or more
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)  # waits between attempts to listen again


def origin() -> str:
    """This process's name in its notices, so it skips its own (its writer rang already)."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def listener_name(origin: str) -> str:
    """The listening connection's `application_name` on the server."""
    return f"walkwithme doorbell {origin}"


def notices(origin: str, touched: Touched) -> list[bytes]:
    """What a group touched, as notices of at most MAX_PAYLOAD bytes each. Each carries the
    fixes the group added to its walks, as companions are shown them, when they fit: the other
    processes' streams then send them without reading them back (one read per fix per process
    was a third of two processes' work). A walk whose fixes would fill a notice alone (a long
    queue sent at once) is told in one that says only "news", and its streams read."""
    walks = sorted(touched.walks)
    if not touched.fixes_told:
        return _notices(origin, touched, walks, sorted(touched.devices), fixes=False)
    big = {w for w in walks if len(orjson.dumps(_fixes_of(touched, [w]))) > MAX_PAYLOAD // 2}
    told = _notices(origin, touched, [w for w in walks if w not in big], sorted(touched.devices))
    return told + (_notices(origin, touched, sorted(big), [], fixes=False) if big else [])


def _fixes_of(touched: Touched, walks: list[int]) -> list[list[Any]]:
    return [
        [w, added.first, added.last, added.shown]
        for w in walks
        for added in touched.fixes.get(w, ())
    ]


def _notices(
    origin: str, touched: Touched, walks: list[int], devices: list[int], *, fixes: bool = True
) -> list[bytes]:
    def notice(part: list[int], gone: list[int], *, with_fixes: bool = fixes) -> bytes:
        body: dict[str, Any] = {
            "o": origin,
            "w": part,
            "a": [w for w in part if w in touched.access],
            "e": [w for w in part if w in touched.events],
            "d": gone,
        }
        if with_fixes:
            body["f"] = _fixes_of(touched, part)
        return orjson.dumps(body)

    def fit(part: list[int], gone: list[int]) -> list[bytes]:
        """The part in one notice, or halved until each fits ("news" alone always does)."""
        body = notice(part, gone)
        if len(body) <= MAX_PAYLOAD:
            return [body]
        if len(part) + len(gone) <= 1:
            return [notice(part, gone, with_fixes=False)]
        half_w, half_d = (len(part) + 1) // 2, (len(gone) + 1) // 2
        return fit(part[:half_w], gone[:half_d]) + fit(part[half_w:], gone[half_d:])

    # Filled one walk at a time up to about a notice's worth, then each made to fit.
    out: list[bytes] = []
    part: list[int] = []
    size = 0
    for walk_id in walks:
        cost = 3 * (len(str(walk_id)) + 1)
        if fixes:
            cost += len(orjson.dumps(_fixes_of(touched, [walk_id]))) + 1
        if part and size + cost > MAX_PAYLOAD - 200:
            out += fit(part, [])
            part, size = [], 0
        part.append(walk_id)
        size += cost
    if part or devices or not out:
        out += fit(part, devices)
    return out


_NOTIFY = sa.text(f"SELECT pg_notify({CHANNEL}, :payload)")


# Before the origin of a notice from a process that doesn't listen (a command, or a `serve`
# whose listening connection is down): heard as news, but not as a process met, which would
# make the hearer notice for as long as it runs although nobody listens to it.
DEAF = "~"


def announcer(
    origin: str,
    alone: Callable[[], bool] = lambda: False,
    listening: Callable[[], bool] = lambda: True,
) -> Callable[[Touched], Writes]:
    """The writer's `announce`: the NOTIFYs it sends in the committing transaction, with its
    `COMMIT` (in one round trip: store/pg_writes.py `commit`); none while `alone()` (this
    process listens and has heard no other: `Listener.alone`)."""

    def announce(touched: Touched) -> Writes:
        if alone():
            return []
        said = notices(origin if listening() else DEAF + origin, touched)
        return [(_NOTIFY, [{"payload": payload.decode()} for payload in said])]

    return announce


GREETINGS = ("hi", "here", "again")


def greeting(origin: str, word: str) -> bytes:
    """A notice that says only who is there: "hi" (I have started listening: who else is
    there?), "here" (the answer), or "again" (I notice from now on: look again at what I
    committed before)."""
    return orjson.dumps({"o": origin, word: 1})


def saying(origin: str, word: str) -> Callable[[Tx], None]:
    """The writer's job that says a greeting, with its commit (after every group it committed
    before it)."""

    def say(tx: Tx) -> None:
        tx.later(_NOTIFY, payload=greeting(origin, word).decode())

    return say


def read(payload: str, origin: str) -> Touched | None:
    """A notice as what it touched; None if it is this process's own (or unreadable, or a
    greeting)."""
    said = _said(payload)
    if said is None or said.get("o") == origin:
        return None
    return _touched(said)


def _said(payload: str) -> dict[str, Any] | None:
    try:
        said = orjson.loads(payload)
    except orjson.JSONDecodeError:
        said = None
    if not isinstance(said, dict):
        log.warning("an unreadable notice on the doorbell's channel was ignored")
        return None
    return said


def _touched(said: dict[str, Any]) -> Touched | None:
    if any(word in said for word in GREETINGS):
        return None
    try:
        fixes: dict[int, list[NewFixes]] = {}
        for walk_id, first, last, shown in said.get("f", ()):
            fixes.setdefault(int(walk_id), []).append(NewFixes(int(first), int(last), shown))
        return Touched(
            walks=set(said["w"]),
            access=set(said["a"]),
            events=set(said["e"]),
            devices=set(said["d"]),
            fixes=fixes,
            fixes_told="f" in said,  # else its fixes are read from the database
        )
    except (KeyError, TypeError, ValueError):
        log.warning("an unreadable notice on the doorbell's channel was ignored")
        return None


class Listener:
    """Listens for the other processes' notices on a connection of its own, in a thread.

    `on_news(touched)`: what another process committed. `on_reconnect()`: notices may have
    been missed (the connection dropped, or another process says "again"): every stream
    should check again. `say(word)`: the writer should say this greeting (`saying`)."""

    def __init__(
        self,
        url: str,
        origin: str,
        on_news: Callable[[Touched], None],
        on_reconnect: Callable[[], None],
        say: Callable[[str], None] = lambda _word: None,
    ) -> None:
        # Named, so that an operator sees which connection it is, and whose (`pg_stat_activity`).
        self._engine = sa.create_engine(
            url, poolclass=NullPool, connect_args={"application_name": listener_name(origin)}
        )
        self._origin = origin
        self._on_news = on_news
        self._on_reconnect = on_reconnect
        self._say = say
        self._stopping = threading.Event()
        # Written to by `stop`, so that a listener waiting for news wakes at once to stop:
        # shutting down (and every test on PostgreSQL) doesn't wait out its poll.
        self._wake: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while a connection listens (tests wait on it)
        self.met = threading.Event()  # set once another process was heard: never cleared

    def alone(self) -> bool:
        """Listening, and no other process heard since this one started: nobody would hear
        this process's notices. (Not listening: who listens is not known.)"""
        return self.listening.is_set() and not self.met.is_set()

    def start(self) -> None:
        """Listen, once (again, or after `stop`, does nothing)."""
        if self._thread is not None or self._stopping.is_set():
            return
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._run, name="wwm-pg-bell", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        thread, wake = self._thread, self._wake
        if wake is not None:
            os.write(wake[1], b"!")
        if thread is not None:
            thread.join(timeout=5)
        self._engine.dispose()
        # A thread still connecting (a server that doesn't answer) polls the pipe when it
        # gets there and sees it is stopping: the pipe is left to it, not closed under it.
        if wake is not None and (thread is None or not thread.is_alive()):
            for end in wake:
                os.close(end)
            self._wake = None

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
            hello = greeting(self._origin, "hi").decode()  # who else is there?
            conn.execute(f"SELECT pg_notify({CHANNEL}, %s)", [hello])
            self.listening.set()
            if not first:
                self._on_reconnect()  # what was said while nobody listened is lost
            # Straight on libpq, not psycopg's `notifies()`: every commit of this process
            # comes back here too, and at one fix a request this thread's work on them took
            # the GIL from the writer and the event loop at the moment they had the answer
            # (9% of the GIL's time in a profile). This process's own are skipped unread.
            for early in conn.notifies(timeout=0):  # any that came with LISTEN's answer
                self._heard(early.payload)
            pgconn = conn.pgconn
            own = b'{"o":' + orjson.dumps(self._origin)
            waiting = select.poll()  # not select(): its descriptors end at 1,024
            waiting.register(pgconn.socket, select.POLLIN)
            if self._wake is not None:
                waiting.register(self._wake[0], select.POLLIN)
            while not self._stopping.is_set():
                if not waiting.poll(1000) or self._stopping.is_set():
                    continue
                pgconn.consume_input()  # raises if the connection was lost
                if pgconn.status != ConnStatus.OK:  # never wait on a dead one's socket again
                    raise psycopg.OperationalError("the doorbell's connection was closed")
                while (notice := pgconn.notifies()) is not None:
                    if not notice.extra.startswith(own):
                        self._heard(notice.extra.decode())
        finally:
            self.listening.clear()
            raw.close()

    def _heard(self, payload: str) -> None:
        said = _said(payload)
        if said is None or said.get("o") == self._origin:
            return
        if not self.met.is_set() and not str(said.get("o", "")).startswith(DEAF):
            self.met.set()  # from now on this process's writer notices
            log.info("another process shares the database: this one's commits are told to it")
            self._say("again")  # the others look again at what it committed alone
        if "hi" in said:
            self._say("here")
        if "again" in said:
            self._on_reconnect()
        touched = _touched(said)
        if touched is not None:
            self._on_news(touched)
