"""Live streams over WebSocket: a walk's events and fixes, as they are committed.

A client says where it left off (`after_event`, `after_fix`) and gets everything after that,
then each new thing as it lands: a companion who reconnects misses nothing. The stream wakes
when the doorbell rings for its walk (and every few seconds regardless), reads from its cursors
in the database, and checks access every time: the moment a contact ends, a link is revoked or
expires, or the walk is over, the stream sends what is left of the walk, says why, and closes.

Messages: {"type": "walk", "walk": {...}} whenever the walk's summary changes,
{"type": "event", "event": {...}}, {"type": "fix", "fix": {...}},
and last {"type": "closed", "reason": "..."}. With `?together=true` (the pages ask for it),
fixes that land at once (a phone's queue sent in one batch, a catch-up) come in one message,
{"type": "fixes", "fixes": [{...}, ...]}: a hundred frames cost a hundred sends, where one
costs one (a fix alone still comes as "fix").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from sqlalchemy.engine import Connection
from starlette.websockets import WebSocketDisconnect

from walkwithme.api import seen
from walkwithme.api.auth import COOKIE, bearer, person_of, services
from walkwithme.api.live_frames import (
    Batch,
    Sent,
    frames_of,
    send,
    together_frame,
)
from walkwithme.api.live_recheck import Recheck
from walkwithme.api.params import Cursor, Id
from walkwithme.bell import Bell
from walkwithme.domain.errors import DomainError, Unauthorized
from walkwithme.domain.walks import LIVE_STATES
from walkwithme.services import Services
from walkwithme.store.database import StorageUnavailable
from walkwithme.store.tx import NewFixes
from walkwithme.usecases import looks, shares, walk_store, walks
from walkwithme.usecases.accounts import person_for_session, session_expires_at
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import shared_view, walk_view

router = APIRouter(tags=["live"])

Together = Annotated[
    bool, Query(description='fixes that land at once in one {"type": "fixes"} message')
]

RECHECK_S = 10.0
FIXES_A_READ = 1000  # fixes_after's limit
CLOSE_NO_ACCESS = 4403
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_MANY = 4429
# The database can't be read now (PostgreSQL out of reach): WebSocket's "try again later",
# said, not a socket dropped by an exception, so that a client connects again and misses
# nothing (its cursors).
CLOSE_TRY_AGAIN = 1013
_CANT_READ = "the server can't read the walk right now: connect again shortly"
# Live streams one viewer (a person, or a share link) may have open at once in a process: a
# companion's phone, laptop and a few tabs are far fewer. Without a bound, one share link held
# thousands of sockets, and the memory they buffer (an outside review).
MAX_STREAMS_PER_VIEWER = 20


# Reads what is new past the cursors. With `check`, it first decides again whether the viewer
# may see the walk (None: not any more) and reads the walk's summary; without, it reads only
# the new events and fixes (and the summary only if there are new events). `seen_live`: the
# viewer was following the walk while it was live.
Reader = Callable[[Connection, int, int, bool, bool, bool], Batch | None]


class _SignedOut(Exception):
    """The sign-in a person's stream was opened with has ended: her page can sign in again
    (closed with 4401, where a walk no longer hers to see is closed with 4403)."""


def _person_reader(walk_id: int, person_id: int, session: str, now: Callable[[], int]) -> Reader:
    audience: list[Audience] = []  # decided at the last check
    until: list[int | None] = [None]  # the track her own devices see ends here (walks.shown_until)

    def read(
        conn: Connection,
        after_event: int,
        after_fix: int,
        check: bool,
        seen_live: bool,
        new_events: bool,
    ) -> Batch | None:
        if audience and not check:
            # The walk's state can't have changed without an access ring: read what's new (the
            # timeline only when the bell said it grew).
            events = events_after(conn, walk_id, after_event, audience[0]) if new_events else []
            news = fixes_after(conn, walk_id, after_fix, until_seq=until[0])
            current = walk_store.get_walk(conn, walk_id) if events else None
            summary = walk_view(conn, current, audience[0], person_id) if current else None
            return Batch(summary, events, news, None, True, until[0])
        walk = walk_store.get_walk(conn, walk_id)
        if walk is None:
            return None
        signed_in = person_for_session(conn, session, now())
        if signed_in is None or signed_in.id != person_id:
            raise _SignedOut  # (or her password changed) since the stream opened
        valid_until = session_expires_at(conn, session)
        if check or not audience:
            decided = walks.audience_of(conn, walk, person_id)
            if decided is None and seen_live and not walk.live:
                # She was following until the walk ended: let her see how it ended, then close.
                decided = walks.audience_of(conn, walk, person_id, finished_ok=True)
            if decided is None:
                return None
            audience[:] = [decided]
        until[0] = walks.shown_until(walk, audience[0])
        scrubbed = walks.forgotten_for(walk, audience[0])
        events = events_after(conn, walk_id, after_event, audience[0], scrubbed=scrubbed)
        summary = walk_view(conn, walk, audience[0], person_id) if check or events else None
        state = walk.walker_state if audience[0] is Audience.WALKER else walk.state
        return Batch(
            summary,
            events,
            fixes_after(conn, walk_id, after_fix, until_seq=until[0]),
            None if state in LIVE_STATES else f"the walk is over ({state.value})",
            True,
            until[0],
            valid_until=valid_until,
        )

    return read


def _link_reader(token: str, now: Callable[[], int]) -> Reader:
    def read(
        conn: Connection,
        after_event: int,
        after_fix: int,
        check: bool,
        seen_live: bool,
        new_events: bool,
    ) -> Batch | None:
        try:
            walk, seen_as = shares.walk_for_link(conn, token, now(), finished_ok=seen_live)
        except DomainError:
            return None
        events = events_after(conn, walk.id, after_event, seen_as)
        state = walk.walker_state if seen_as is Audience.WALKER else walk.state
        return Batch(
            shared_view(conn, walk, seen_as) if check or events else None,
            events,
            fixes_after(conn, walk.id, after_fix, until_seq=walks.shown_until(walk, seen_as)),
            None if state in LIVE_STATES else f"the walk is over ({state.value})",
        )

    return read


async def _stream(
    ws: WebSocket,
    svc: Services,
    walk_id: int,
    read: Reader,
    after_event: int,
    after_fix: int,
    together: bool = False,
) -> None:
    """`together`: fixes that come at once are sent in one "fixes" message."""
    bell = svc.bell
    with bell.listen(walk_id) as rung:
        rang = _Rang(bell, walk_id)
        known = bell.fixes_known_until(walk_id)
        try:
            first = await svc.db.read_live(
                partial(_read_on, read, after_event, after_fix, True, False, True)
            )
        except _SignedOut:
            first = None
        except StorageUnavailable:
            await ws.accept()
            await _close(ws, _CANT_READ, CLOSE_TRY_AGAIN)
            return
        if first is None:
            await ws.close(code=CLOSE_NO_ACCESS, reason="no such walk")
            return
        await ws.accept()
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(ws, gone, rung))
        quiet = Recheck(rung, RECHECK_S)
        try:
            batch: Batch | None = first
            valid_until = first.valid_until
            sent = Sent(after_event, after_fix)
            # Every fix numbered up to here was sent, or was flagged (None: not known).
            covered: int | None = None
            while batch is not None:
                if batch.valid_until is not None:
                    valid_until = batch.valid_until
                if batch.from_bell:
                    covered = _covered(batch, known, sent.after_fix, covered)
                await sent.send(ws, batch, together)
                after_event, after_fix = sent.after_event, sent.after_fix
                if batch.closing:
                    await _close(ws, batch.closing, 1000)
                    return
                await rung.wait()
                rung.clear()
                timed_out = quiet.rang()
                if gone.is_set():
                    return
                # Access is decided again when it may have changed, when her session has run
                # out by the clock (looked at on every wake), after RECHECK_S without news,
                # and at least every RECHECK_S while news keeps coming (`Recheck`); a ring
                # for a new fix only reads what is new (a link's stream reads at every wake).
                access_changed, new_events, untold = rang.news()
                expired = valid_until is not None and svc.clock.now_ms() >= valid_until
                check = timed_out or expired or access_changed
                if batch.from_bell and covered is not None and not (check or new_events or untold):
                    handed = bell.fixes_after(walk_id, covered)
                    if handed is not None:
                        # Only new fixes, each as the database would give it: no read.
                        batch = _handed_over(batch, handed, after_fix, together)
                        covered = handed[-1].last if handed else covered
                        continue
                known = bell.fixes_known_until(walk_id)
                batch = await svc.db.read_live(
                    partial(_read_on, read, after_event, after_fix, check, True, new_events)
                )
            await _close(ws, "you can no longer see this walk", CLOSE_NO_ACCESS)
        except _SignedOut:
            await _close(ws, "signed out: sign in again to follow", CLOSE_UNAUTHORIZED)
        except StorageUnavailable:
            await _close(ws, _CANT_READ, CLOSE_TRY_AGAIN)
        except (WebSocketDisconnect, RuntimeError):
            return  # the client went away mid-send
        finally:
            watcher.cancel()
            quiet.cancel()


class _Rang:
    """What the doorbell has said of the walk since the stream last looked: whether who may
    see it may have changed (access), its timeline has news (events), or something was said
    that its fixes' ring alone doesn't carry (untold)."""

    def __init__(self, bell: Bell, walk_id: int) -> None:
        self.bell, self.walk_id = bell, walk_id
        self.seen = self._now()

    def _now(self) -> tuple[int, int, int]:
        bell, walk_id = self.bell, self.walk_id
        return (
            bell.access_generation(walk_id),
            bell.events_generation(walk_id),
            bell.untold_generation(walk_id),
        )

    def news(self) -> tuple[bool, bool, bool]:
        """Access, events, untold: each changed since last asked."""
        now, seen = self._now(), self.seen
        self.seen = now
        return now[0] != seen[0], now[1] != seen[1], now[2] != seen[2]


def _covered(batch: Batch, known: int, after_fix: int, covered: int | None) -> int | None:
    """After a read that started when the bell knew fixes up to `known`: every fix numbered
    up to there was read too (committed before it was rung), unless the read stopped at its
    limit."""
    if batch.fixes and len(batch.fixes) >= FIXES_A_READ:
        return int(batch.fixes[-1]["id"])
    return max(known, after_fix, covered or 0, *(int(f["id"]) for f in batch.fixes[-1:]))


def _handed_over(
    batch: Batch, handed: list[NewFixes], after_fix: int, together: bool = False
) -> Batch:
    until = batch.until_seq
    if together:
        news = [fix for added in handed for fix in _wanted(added.shown, after_fix, until)]
        whole = len(handed) == 1 and len(news) == len(handed[0].shown) > 1
        return Batch(
            None, [], news, None, True, until, None, together_frame(handed[0]) if whole else None
        )
    news = []
    frames: list[str] = []
    for added in handed:
        for fix, frame in zip(added.shown, frames_of(added), strict=True):
            if _past(fix, after_fix, until):
                news.append(fix)
                frames.append(frame)
    return Batch(None, [], news, None, True, until, frames)


def _wanted(shown: list[dict[str, Any]], after_fix: int, until: int | None) -> list[dict[str, Any]]:
    """The fixes past the stream's cursor, up to the end of the track it may see."""
    return [fix for fix in shown if _past(fix, after_fix, until)]


def _past(fix: dict[str, Any], after_fix: int, until: int | None) -> bool:
    return bool(fix["id"] > after_fix and (until is None or fix["id"] <= until))


def _read_on(
    read: Reader,
    after_event: int,
    after_fix: int,
    check: bool,
    seen_live: bool,
    new_events: bool,
    conn: Connection,
) -> Batch | None:
    return read(conn, after_event, after_fix, check, seen_live, new_events)


async def _watch_disconnect(ws: WebSocket, gone: asyncio.Event, rung: asyncio.Event) -> None:
    """Clients don't talk to us on this socket; we only listen for them leaving."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError):
        pass
    gone.set()
    rung.set()


async def _close(ws: WebSocket, reason: str, code: int) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await send(ws, {"type": "closed", "reason": reason})
        await ws.close(code=code, reason=reason[:120])


@router.websocket("/api/walks/{walk_id}/live")
async def walk_live(
    ws: WebSocket,
    walk_id: Id,
    after_event: Cursor = 0,
    after_fix: Cursor = 0,
    together: Together = False,
) -> None:
    svc = services(ws)
    try:
        person = await person_of(ws, websocket=True)
    except DomainError as exc:
        # Not signed in (4401: sign in again), or a sign-in that can't open it here (4403: a
        # phone's token, another site's page).
        code = CLOSE_UNAUTHORIZED if isinstance(exc, Unauthorized) else CLOSE_NO_ACCESS
        await ws.close(code=code, reason=exc.message[:120])
        return
    session = bearer(ws) or ws.cookies.get(COOKIE, "")
    reader = _person_reader(walk_id, person.id, session, svc.clock.now_ms)
    with _counted(svc, ("person", person.id)) as allowed:
        if not allowed:
            await _refuse_another(ws)
            return
        if await svc.db.read(lambda c: _follows(c, walk_id, person.id)):
            await seen.note(svc, walk_id, looks.LIVE, viewer_id=person.id)
        await _stream(ws, svc, walk_id, reader, after_event, after_fix, together)


_TOO_MANY = "too many live pages open at once: close some"


async def _refuse_another(ws: WebSocket) -> None:
    """Accepted, then closed with a code and words that say why (a socket closed before it is
    accepted is a bare 403, which a page can't tell from a refusal for good): the page says so,
    and tries again later, when another may have closed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await ws.accept()
        await ws.close(code=CLOSE_TOO_MANY, reason=_TOO_MANY)


@contextlib.contextmanager
def _counted(svc: Services, viewer: tuple[str, object]) -> Iterator[bool]:
    """One more live stream for this viewer, while it lasts; False: they have too many open
    (`MAX_STREAMS_PER_VIEWER`), and this one is refused."""
    open_now = svc.live_streams
    if open_now[viewer] >= MAX_STREAMS_PER_VIEWER:
        yield False
        return
    open_now[viewer] += 1
    try:
        yield True
    finally:
        open_now[viewer] -= 1
        if open_now[viewer] <= 0:
            del open_now[viewer]


def _follows(conn: Any, walk_id: int, person_id: int) -> bool:
    """Someone other than the walker who may see the walk: their look is recorded."""
    walk = walk_store.get_walk(conn, walk_id)
    audience = walks.audience_of(conn, walk, person_id) if walk else None
    return audience is Audience.COMPANION


@router.websocket("/api/share/{token}/live")
async def share_live(
    ws: WebSocket,
    token: str,
    after_event: Cursor = 0,
    after_fix: Cursor = 0,
    together: Together = False,
) -> None:
    svc = services(ws)
    now = svc.clock.now_ms
    try:
        walk, _seen_as = await svc.db.read(lambda c: shares.walk_for_link(c, token, now()))
    except DomainError as exc:
        await ws.close(code=CLOSE_NO_ACCESS, reason=exc.message[:120])
        return
    with _counted(svc, ("link", token)) as allowed:
        if not allowed:
            await _refuse_another(ws)
            return
        await seen.through_link(svc, walk.id, token)
        await _stream(ws, svc, walk.id, _link_reader(token, now), after_event, after_fix, together)
