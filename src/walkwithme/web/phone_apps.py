"""The phone apps, for walks where a browser is not enough (it stops reporting when the screen
is off or the tab is closed): how to set OwnTracks or Traccar Client for this server, and a
device of hers to put in them, its token shown once (as `POST /api/devices` does)."""

from __future__ import annotations

import base64
import json
from typing import Any

import segno
from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.params import Id
from walkwithme.domain.errors import DomainError
from walkwithme.usecases import devices
from walkwithme.usecases.accounts import Person
from walkwithme.usecases.browser import BROWSER
from walkwithme.web import words
from walkwithme.web.manage_common import act
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import signed_form, signed_in
from walkwithme.web.walk_pages import to_sign_in

router = APIRouter(include_in_schema=False)

APP_DEVICE = "Phone app"


def owntracks_link(base: str, email: str, token: str) -> str:
    """OwnTracks' own configuration link: opening it on the phone sets the app up (HTTP mode,
    this server, the device's token as password, Move mode)."""
    settings = {
        "_type": "configuration",
        "mode": 3,  # HTTP
        "url": f"{base}/api/owntracks",
        "auth": True,
        "username": email,
        "password": token,
        "monitoring": 2,  # Move mode
    }
    inline = base64.urlsafe_b64encode(json.dumps(settings).encode()).decode()
    return f"owntracks:///config?inline={inline}"


def qr_code(text: str, label: str) -> Markup:
    """A QR code of `text` as inline SVG (drawn here: nothing is fetched), for the phone's
    camera when the page is open on another screen."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", border=4, omitsize=True
    )
    # Only paths drawn by segno (the text is in their shape, never in the markup) and our own
    # constant label: nothing a person typed reaches this markup.
    labelled = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return Markup(labelled)  # noqa: S704


APPS = {"owntracks": "OwnTracks", "traccar": "Traccar Client"}
REMOVED = "Removed: that phone's token no longer works, here or in any app."


def _app_said(device: dict[str, Any]) -> str:
    """Which app reports for this phone, in words."""
    if device["app"] in APPS:
        return APPS[device["app"]]
    if device["name"] == BROWSER:
        return "the walk page, in a browser"
    return "an app that didn't say its name" if device["last_seen_at"] else "not set up yet"


async def _phones(request: Request, person: Person) -> list[dict[str, str | int]]:
    """Her phones in words: which app, when it last reported, why its last message didn't
    count (if one didn't)."""
    svc = services(request)
    now = svc.clock.now_ms()
    found = await svc.db.read(lambda c: devices.list_devices(c, person.id))
    return [
        {
            "id": d["id"],
            "name": d["name"],
            "app": _app_said(d),
            "seen": words.when(int(d["last_seen_at"]), now, person.timezone)
            if d["last_seen_at"]
            else "never yet",
            "refusal": str(d["last_refusal"] or ""),
            "clock": str(d["clock"] or ""),
        }
        for d in found
    ]


@router.get("/phones/apps")
async def apps(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_sign_in(request)
    person, csrf = who
    base = services(request).config.base_url.rstrip("/")
    done = REMOVED if request.query_params.get("done") == "removed" else None
    return pages_of(request).render(
        request,
        "phone_apps.html",
        person=person,
        csrf=csrf,
        base=base,
        made=None,
        phones=await _phones(request, person),
        done=done,
    )


@router.post("/phones/{device_id}/remove")
async def remove_device(device_id: Id, request: Request) -> Response:
    """A phone lost, sold or no longer used: its token stops working at once (every process
    hears of it), as `DELETE /api/devices/{id}` does."""

    async def action(person: Person, _fields: dict[str, str]) -> Response | None:
        await services(request).writer.run(
            lambda tx: devices.revoke_device(tx, person.id, device_id)
        )
        return RedirectResponse("/phones/apps?done=removed", status_code=303)

    return await act(request, "/phones/apps", action)


@router.post("/phones/apps")
async def make_device(request: Request) -> Response:
    pages = pages_of(request)
    try:
        person, fields = await signed_form(request)
        made, token = await services(request).writer.run(
            lambda tx: devices.add_device(tx, person.id, APP_DEVICE)
        )
    except DomainError as exc:
        page = pages.render(request, "said.html", status=exc.status, message=exc.message, back="/")
        return waits(page, exc)
    base = services(request).config.base_url.rstrip("/")
    return pages.render(
        request,
        "phone_apps.html",
        person=person,
        csrf=fields.get("csrf", ""),
        base=base,
        phones=await _phones(request, person),
        made={
            "name": made.name,
            "token": token,
            "owntracks": owntracks_link(base, person.email, token),
            "owntracks_qr": qr_code(
                owntracks_link(base, person.email, token), "QR code: OwnTracks set up"
            ),
            "traccar_qr": qr_code(f"{base}/api/traccar", "QR code: Traccar's server URL"),
        },
    )
