"""Her share links, from her walk page: made (the link shown once: only its hash is kept),
listed in words, taken back. The same use case as /api/walks/{id}/shares."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.errors import error_body
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.domain.errors import DomainError, Invalid, NotFound
from walkwithme.store.tx import Tx
from walkwithme.usecases import shares
from walkwithme.usecases.accounts import Person
from walkwithme.web import walk_pages, walker_pages, walker_words
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import signed_form, signed_in

router = APIRouter(include_in_schema=False)


def _hours(fields: dict[str, str]) -> float | None:
    chosen = fields.get("hours", "walk")
    if chosen not in dict(walker_words.SHARE_CHOICES):
        raise Invalid("choose how long the link works", field="hours")
    return None if chosen == "walk" else float(chosen)


async def _shares_answer(
    request: Request, walk_id: int, person: Person, csrf: str, new_link: dict[str, Any] | None
) -> Response:
    """To the page's script: the share part of her page again, in JSON; else her page (with
    a new link, shown this once), or back to it."""
    svc = services(request)
    if not walk_pages.wants_json(request):
        if new_link is not None:
            return await walker_pages.her_walk_page(walk_id, request, new_link=new_link)
        return RedirectResponse(f"/walks/{walk_id}#share", status_code=303)
    now = svc.clock.now_ms()

    def read(conn: Connection) -> list[dict[str, Any]]:
        walker_pages.hers(conn, walk_id, person.id)
        return shares.list_links(conn, walk_id, now)

    links = await svc.db.read(read)
    html = pages_of(request).fragment(
        "_shares.html",
        action=f"/walks/{walk_id}",
        csrf=csrf,
        share_choices=walker_words.SHARE_CHOICES,
        links=walker_words.links_said(links, now, person.timezone),
        new_link=new_link,
    )
    said = "Your link is made: copy it and send it." if new_link else "Taken back."
    return JSON({"said": said, "html": html})


async def _on_her_links(request: Request, walk_id: int, job: Any) -> Response:
    back = f"/walks/{walk_id}"
    try:
        person, fields = await signed_form(request)
        svc = services(request)
        made = await svc.writer.run(lambda tx: job(tx, person.id, fields))
        who = await signed_in(request)
        assert who is not None
        new_link = None
        if made is not None:
            new_link = {
                "url": f"{svc.config.base_url}/api/share/{made['token']}",
                "until": walker_words.until(
                    made["expires_at"], svc.clock.now_ms(), person.timezone
                ),
            }
        return await _shares_answer(request, walk_id, person, who[1], new_link)
    except DomainError as exc:
        if walk_pages.wants_json(request):
            return waits(JSON(error_body(exc.message, exc.field), status_code=exc.status), exc)
        if isinstance(exc, NotFound):
            return walk_pages.not_found(request)
        return waits(walker_pages.said_page(request, exc.message, exc.status, back), exc)


@router.post("/walks/{walk_id}/shares")
async def make_link(walk_id: Id, request: Request) -> Response:
    """A share link for her walk, as POST /api/walks/{id}/shares makes it."""

    def job(tx: Tx, me: int, fields: dict[str, str]) -> dict[str, Any]:
        return shares.create_link(tx, walk_id, me, _hours(fields))

    return await _on_her_links(request, walk_id, job)


@router.post("/walks/{walk_id}/shares/{link_id}/revoke")
async def take_back_link(walk_id: Id, link_id: Id, request: Request) -> Response:
    """Takes a link back, as DELETE /api/walks/{id}/shares/{link} does."""

    def job(tx: Tx, me: int, _fields: dict[str, str]) -> None:
        shares.revoke_link(tx, walk_id, me, link_id)

    return await _on_her_links(request, walk_id, job)
