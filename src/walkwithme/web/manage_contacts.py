"""Contacts on the pages: ask someone by email to be a companion or a guardian, answer those
who asked you, end a contact, mute or block someone's offers. The same use cases as
/api/contacts and /api/offers/mutes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.params import Id
from walkwithme.domain.errors import Invalid, NotFound
from walkwithme.store.tx import Tx
from walkwithme.usecases import contacts, offer_mutes
from walkwithme.usecases.accounts import Person
from walkwithme.usecases.offer_mutes import Silence
from walkwithme.usecases.walk_store import live_walk_of
from walkwithme.web import words
from walkwithme.web.home import answer_said, answered_at
from walkwithme.web.manage_common import act, asks_you, required, viewer
from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)

MUTES = {"8": 8, "24": 24, "168": 168}  # hours, as offered on the page


def _silence(kind: str, until: int | None, now: int, tz: str) -> str:
    if kind == Silence.BLOCK.value:
        return "blocked"
    return "muted " + ("for good" if until is None else "until " + words.day_time(until, now, tz))


def _context(conn: Connection, person: Person, now: int) -> dict[str, Any]:
    silenced = {
        s["person"]["id"]: _silence(s["kind"], s["until"], now, person.timezone)
        for s in offer_mutes.silenced(conn, person.id, now)
    }
    mine, theirs, waiting = [], [], []
    for c in contacts.list_contacts(conn, person.id):
        item = {
            "id": c["id"],
            "person_id": c["person"]["id"],
            "name": c["person"]["name"],
            "email": c["person"]["email"],
            "role": c["role"],
            "asks": asks_you(c["person"]["name"], c["role"]),
            "pending": c["state"] == "pending",
            "silenced": silenced.get(c["person"]["id"]),
        }
        if c["direction"] == "asked_by_me":
            mine.append(item)
        elif item["pending"]:
            waiting.append(item)
        else:
            theirs.append(item)
    walk = live_walk_of(conn, person.id)
    # As her own devices are shown it: after her duress PIN ended it for them, she is not on
    # a walk (the silent alarm holds those she ends in it all the same: contacts.standing).
    walking = walk is not None and walk.walker_live
    return {"mine": mine, "theirs": theirs, "waiting": waiting, "walking": walking}


@router.get("/contacts")
async def contacts_page(request: Request) -> Response:
    who = await viewer(request)
    if isinstance(who, Response):
        return who
    person, csrf = who
    svc = services(request)
    now = svc.clock.now_ms()
    context = await svc.db.read(lambda c: _context(c, person, now))
    asked = request.query_params.get("asked") == "1"
    # Not "and hear of them through your alerts": this page doesn't know whether they would.
    done = await answer_said(request, person.id, heard=False)
    return pages_of(request).render(
        request, "contacts.html", person=person, csrf=csrf, asked=asked, done=done, **context
    )


@router.post("/contacts")
async def ask(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        email = required(fields, "email", "Their email", 254)
        role = fields.get("role", "companion")
        await services(request).writer.run(
            lambda tx: contacts.ask_alike(tx, person.id, email, role)
        )

    # The same page for every address (contacts.ask_alike): it says what happens next.
    return await act(request, "/contacts?asked=1", action)


@router.post("/contacts/{contact_id}/answer")
async def answer(contact_id: Id, request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> Response:
        choice = fields.get("answer")
        if choice not in ("accept", "refuse"):
            raise Invalid("answer accept or refuse", field="answer")
        accept = choice == "accept"
        answered = await services(request).writer.run(
            lambda tx: contacts.answer(tx, person.id, contact_id, accept=accept)
        )
        # Said on the page, as the home page says it: a decline said nothing here.
        return RedirectResponse(answered_at("/contacts", answered, accept), status_code=303)

    return await act(request, "/contacts", action)


@router.post("/contacts/{contact_id}/end")
async def end(contact_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(lambda tx: contacts.end(tx, person.id, contact_id))

    return await act(request, "/contacts", action)


def _lift(walker_id: int, person_id: int, kind: Silence) -> Callable[[Tx], None]:
    def job(tx: Tx) -> None:
        with suppress(NotFound):  # lifting what isn't there: nothing to do
            offer_mutes.lift(tx, walker_id, person_id, kind)

    return job


@router.post("/contacts/people/{person_id}/offers")
async def silence(person_id: Id, request: Request) -> Response:
    """Mute (for some hours or for good), block, or hear again someone's offers."""

    async def action(person: Person, fields: dict[str, str]) -> None:
        choice = fields.get("offers", "")
        writer = services(request).writer
        if choice == "block":
            await writer.run(lambda tx: offer_mutes.block(tx, person.id, person_id))
        elif choice == "mute":
            hours = MUTES.get(fields.get("hours", ""))
            await writer.run(lambda tx: offer_mutes.mute(tx, person.id, person_id, hours))
        elif choice == "hear":
            for kind in (Silence.MUTE, Silence.BLOCK):
                await writer.run(_lift(person.id, person_id, kind))
        else:
            raise Invalid("choose mute, block, or hear their offers again", field="offers")

    return await act(request, "/contacts", action)
