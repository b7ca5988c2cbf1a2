"""The companion's walk page and what can be done from it: "I'm on it", "Mark safe", replies.

The page reads the walk through `walks.visible_walk`, the API's one rule of who sees a walk:
anyone else gets the same 404 as for a walk that doesn't exist. The forms post to the same use
cases the API calls, then send the browser back to the page (POST, redirect, GET); the page's
script posts them in place instead, and is answered in JSON (static/inplace.js).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.errors import error_body
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.api.seen import note as seen_note
from walkwithme.domain.errors import DomainError, NotFound
from walkwithme.domain.walks import QUICK_REPLIES
from walkwithme.store.tx import Tx
from walkwithme.usecases import helping, looks, walks
from walkwithme.usecases.accounts import Person
from walkwithme.usecases.on_it import acknowledge
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import walk_view
from walkwithme.web import walk_over
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import read_form, signed_form, signed_in
from walkwithme.web.walk_context import Seen, measure_left, streets_near_last, walk_context

router = APIRouter(include_in_schema=False)


def seen_by(conn: Connection, walk_id: int, person_id: int) -> tuple[Seen, Audience]:
    walk, audience = walks.visible_walk(conn, walk_id, person_id)
    until = walks.shown_until(walk, audience)
    return (
        Seen(
            walk_view(conn, walk, audience, person_id),
            events_after(
                conn, walk_id, 0, audience, limit=1000, scrubbed=walks.forgotten_for(walk, audience)
            ),
            fixes_after(conn, walk_id, 0, limit=10_000, until_seq=until),
            walks.reach_walker(conn, walk, audience, through_link=False, viewer_id=person_id),
        ),
        audience,
    )


def to_sign_in(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)


def not_found(request: Request) -> Response:
    return pages_of(request).render(request, "nothing.html", status=404)


@router.get("/walks/{walk_id}")
async def walk_page(walk_id: Id, request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_sign_in(request)
    person, csrf = who
    svc = services(request)
    try:
        seen, audience = await svc.db.read(lambda c: seen_by(c, walk_id, person.id))
    except NotFound:
        return await over_or_not_found(request, walk_id, person)
    if audience is Audience.COMPANION:  # her own page isn't a look; his is (usecases/looks.py)
        await seen_note(svc, walk_id, looks.PAGE, viewer_id=person.id)
    left = await measure_left(seen, svc.streets)
    context = walk_context(
        seen,
        left_m=left,
        near=streets_near_last(seen, svc.streets),
        now=svc.clock.now_ms(),
        tz=person.timezone,
        can_act=audience is Audience.COMPANION,
        me=person.id,
        urls={
            "live": f"/api/walks/{walk_id}/live",
            "map": f"/api/walks/{walk_id}/map",
            "tiles": svc.config.tiles_url,
            # The streets she is near, asked again as she moves (with a street map only).
            **({"near_url": f"/api/walks/{walk_id}/near"} if svc.streets else {}),
            # His other walks' alarms, said on this page too (home.needs_you).
            **({"needs_you": "/needs-you"} if audience is Audience.COMPANION else {}),
        },
    )
    return pages_of(request).render(
        request, "walk.html", person=person, csrf=csrf, action=f"/walks/{walk_id}", **context
    )


def wants_json(request: Request) -> bool:
    """The page's own script posting a form in place (static/inplace.js): it asks for JSON."""
    return request.headers.get("accept", "").split(",")[0].strip() == "application/json"


async def over_or_not_found(request: Request, walk_id: int, person: Person) -> Response:
    """A companion of a walk that is over learns that it is over and how (walk_over.py);
    anyone else, the same 404 as for a walk that never existed."""
    svc = services(request)
    over = await svc.db.read(lambda c: walk_over.over_for(c, walk_id, person.id))
    if over is None:
        return not_found(request)
    said = walk_over.context(over, svc.clock.now_ms(), person.timezone, person.id)
    return pages_of(request).render(request, "walk_over.html", person=person, **said)


def _back(fields: dict[str, str], walk_id: int) -> str:
    """Back to the page the form was on: the walk's, or the alarm link's (a guardian's)."""
    given = fields.get("back", "")
    return given if re.fullmatch(r"/api/share/[\w-]+", given) else f"/walks/{walk_id}"


async def _back_of(request: Request, walk_id: int) -> str:
    """`_back` of a form that was refused (its body is read once, and kept)."""
    try:
        return _back(await read_form(request), walk_id)
    except DomainError:  # a form that can't be read: the walk's page
        return f"/walks/{walk_id}"


async def _act(request: Request, walk_id: int, job: Any, done: Any) -> Response:
    """Runs the form's use case. A browser without the page's script is sent back to the page
    (POST, redirect, GET); the script, posting in place, is answered with what came of it in
    words (`done(fields)`), or why not: {"said": ...} or {"error": ...}."""
    svc = services(request)
    try:
        person, fields = await signed_form(request)
        back = _back(fields, walk_id)
        await svc.writer.run(lambda tx: job(tx, person.id, fields))
    except DomainError as exc:
        # Also when his sign-in ended: "Sign in again" leads him back to the alarm's link.
        back = await _back_of(request, walk_id)
        if wants_json(request):
            return waits(JSON(error_body(exc.message, exc.field), status_code=exc.status), exc)
        if isinstance(exc, NotFound):
            return not_found(request)
        page = pages_of(request).render(
            request, "said.html", status=exc.status, message=exc.message, back=back
        )
        return waits(page, exc)
    if wants_json(request):
        return JSON({"said": done(fields)})
    return RedirectResponse(back, status_code=303)


@router.post("/walks/{walk_id}/ack")
async def on_it(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, person_id: int, _fields: dict[str, str]) -> None:
        acknowledge(tx, walk_id, person_id)

    def done(_fields: dict[str, str]) -> str:
        return "Done: everyone following the walk sees that you are on it."

    return await _act(request, walk_id, job, done)


@router.post("/walks/{walk_id}/resolve")
async def mark_safe(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, person_id: int, fields: dict[str, str]) -> None:
        home = fields.get("home") == "yes"
        helping.resolve(tx, walk_id, person_id, fields.get("note", ""), home=home)

    def done(fields: dict[str, str]) -> str:
        if fields.get("home") == "yes":
            return (
                "Done: the alarm is over and so is the walk; everyone on it is told, with your "
                "note."
            )
        return "Done: the alarm is over; everyone on the walk is told, with your note."

    return await _act(request, walk_id, job, done)


@router.post("/walks/{walk_id}/message")
async def reply(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, person_id: int, fields: dict[str, str]) -> None:
        text = fields.get("text", "")
        walks.post_message(tx, walk_id, person_id, text, text in QUICK_REPLIES)

    def done(fields: dict[str, str]) -> str:
        return f"Sent: “{fields.get('text', '')}”"

    return await _act(request, walk_id, job, done)
