"""The page a check's alert links to: "Are you OK?", answered with her PIN from any browser.

A phone app like OwnTracks can't show the question, so the link in her notification matters.
The link is a capability for this one thing: it shows nothing of the walk, and it works only
while the walk is live. Dressed like the other pages (web/templates/answer.html); when no
question waits for her answer, it says so instead of asking again.
"""

from __future__ import annotations

from typing import NamedTuple

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from starlette.responses import HTMLResponse

from walkwithme.api.auth import ServicesDep, services
from walkwithme.api.walks import refused_as_locked, with_pin
from walkwithme.domain.errors import DomainError, Forbidden, Invalid, TooSoon
from walkwithme.domain.rules import Reason
from walkwithme.domain.walks import WalkState
from walkwithme.notify.messages import why_asked
from walkwithme.services import Services
from walkwithme.store.tx import Tx
from walkwithme.usecases import alarms, cover_channels, judging, moments, timeline, walk_store
from walkwithme.usecases.accounts import get_person
from walkwithme.usecases.moments import Pin
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.web import walker_words, words
from walkwithme.web.render import pages_of
from walkwithme.web.session import read_form
from walkwithme.web.walk_context import acknowledged_by

router = APIRouter(include_in_schema=False)

ASK = "Enter your PIN to tell the people following your walk."


def _page(request: Request, status: int = 200, **shown: str | bool) -> HTMLResponse:
    return pages_of(request).render(request, "answer.html", status=status, **shown)


def _said(request: Request, message: str, status: int) -> HTMLResponse:
    return _page(request, status, message=message)


def _asked(walk: Walk) -> bool:
    """Whether a question (or an alarm she can end) waits for her answer, as her own devices
    are shown the walk (after her duress PIN, as her real PIN would have left it)."""
    return walk.walker_judged.check_reason is not None or walk.walker_state is WalkState.ALARM


class Read(NamedTuple):
    walk: Walk  # the walk the link is for
    heard: bool  # whether a companion of hers has alerts that work
    tz: str  # her time zone: by when to answer is said on her clock
    on_it: str = ""  # during her alarm: who said "I'm on it", as her walk page says it


def _read(conn: Connection, token: str) -> Read:
    walk = judging.walk_for_answer(conn, token)
    her = get_person(conn, walk.walker_id)
    tz = her.timezone if her is not None else walk.timezone
    heard = cover_channels.heard_as_shown(conn, walk)
    if walk.walker_state is not WalkState.ALARM:
        return Read(walk, heard, tz)
    # Her own timeline (after her duress PIN, the cover's): what her walk page says of it.
    events = timeline.events_after(conn, walk.id, 0, Audience.WALKER)
    return Read(walk, heard, tz, words.on_it(acknowledged_by(events, None)))


def _asking(request: Request, read: Read, status: int = 200, **shown: str | bool) -> HTMLResponse:
    """The question, why it is asked and by when, or that the alarm is on already; and, for
    someone who is not OK, SOS."""
    walk, heard, tz, on_it = read
    pin = True
    until = ""
    left: dict[str, str | bool] = {}
    if walk.walker_alarm_reason == Reason.WRONG_PINS.value:
        # No PIN ends it (moments.take): no form asks for one, and SOS stays.
        heading, why, pin = walker_words.LOCKED_TITLE, walker_words.LOCKED_WHY, False
    elif walk.walker_state is WalkState.ALARM and not heard:
        heading = "None of your companions has alerts that work"
        why = "Nobody is told of this alarm: call someone. If you are OK, enter your PIN."
    elif walk.walker_state is WalkState.ALARM:
        # Not "they are looking for you": they were sent an alert, which they may not have
        # read (a review found her told so while nobody had; her walk page says who is on it).
        heading = "The people following your walk are told"
        why = on_it
        if not on_it.startswith("Nobody"):
            why += " If you are OK, enter your PIN."
        else:
            why += " If you can, call one of them, or the emergency number."
    else:
        heading = "Are you OK?"
        why = why_asked(walk.walker_judged.check_reason, timer=walk.destination is None) or ""
        # By when, on her clock, as her walk page says it.
        by = walker_words.answer_by(walk, tz)
        until = f"Answer by {by}: after that, they are alerted." if by else ""
        # ...and how long is left, counted down by the service's clock (static/answer.js).
        by_ms = walker_words.answer_by_ms(walk)
        if by_ms is not None:
            left = {"until_ms": str(by_ms), "now": str(services(request).clock.now_ms())}
    said: dict[str, str | bool] = {"heading": heading, "why": why, "until": until, **left}
    said.update({"message": ASK, "heard": heard, "refused": status >= 400, **shown})
    return _page(request, status, form=True, pin=pin, **said)


@router.get("/answer/{token}")
async def form(token: str, request: Request, svc: ServicesDep) -> HTMLResponse:
    try:
        read = await svc.db.read(lambda c: _read(c, token))
    except DomainError as exc:
        return _said(request, exc.message, exc.status)
    if not _asked(read.walk):
        return _page(
            request,
            heading="Already answered",
            message="Nothing waits for your answer: the people following your walk know.",
            walk_url=f"/walks/{read.walk.id}",  # the way on (it was a dead end after Back)
        )
    return _asking(request, read)


async def _sos(token: str, request: Request, svc: Services) -> HTMLResponse:
    """Not OK: SOS, from the page her question came with (no PIN, as on her walk page)."""
    try:
        walk = await svc.db.read(lambda c: judging.walk_for_answer(c, token))
        await svc.writer.run(lambda tx: alarms.sos(tx, walk.id, walk.walker_id), urgent=True)
        heard = await svc.db.read(
            lambda c: cover_channels.heard_as_shown(c, walk_store.get_walk(c, walk.id))
        )
    except DomainError as exc:
        return _said(request, exc.message, exc.status)
    if not heard:
        return _page(
            request,
            heading="SOS sent, but nobody is told",
            message="None of your companions has alerts that work: call someone now, or "
            "the emergency number.",
        )
    return _page(
        request,
        heading="SOS sent",
        message="The people following your walk are told that you need help. If you can, "
        "call the emergency number.",
    )


@router.post("/answer/{token}")
async def answer(token: str, request: Request, svc: ServicesDep) -> HTMLResponse:
    try:
        fields = await read_form(request)
    except DomainError as exc:
        return _said(request, exc.message, exc.status)
    if fields.get("sos"):
        return await _sos(token, request, svc)
    pin = fields.get("pin", "")[:16]
    try:
        read = await svc.db.read(lambda c: _read(c, token))
        walk = read.walk

        def job(tx: Tx, which: Pin) -> str:
            return moments.ok(tx, walk.id, walk.walker_id, which)

        await with_pin(svc, walk.id, walk.walker_id, pin, "answer", job)
    except TooSoon as exc:
        # The question stays, with how long to wait: the form is there to try again.
        page = _asking(request, read, exc.status, message=exc.message)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except Invalid as exc:  # no PIN in the form: asked again, nothing counted
        return _asking(request, read, exc.status, message="Enter your PIN.")
    except Forbidden as exc:
        if exc.field != "pin" and not refused_as_locked(exc):
            return _said(request, exc.message, exc.status)
        # Asked again as the walk is now: a third wrong PIN raised an alarm no PIN ends, and
        # then the page says who can end it instead of asking for a PIN.
        read = await svc.db.read(lambda c: _read(c, token))
        return _asking(request, read, 403, message="That PIN is not right. Try again.")
    except DomainError as exc:
        return _said(request, exc.message, exc.status)
    return _page(
        request,
        heading="Thank you",
        message="The people following your walk see that you are OK.",
        # The way back to her walk (the page ended there: an outside review); the same
        # whichever of her PINs she gave.
        walk_url=f"/walks/{walk.id}",
    )
