"""The phone apps, for walks where a browser is not enough (it stops reporting when the screen
is off or the tab is closed): how to set OwnTracks or Traccar Client for this server, and a
device of hers to put in them, its token shown once (as `POST /api/devices` does)."""

from __future__ import annotations

import base64
import json

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.api.auth import services
from walkwithme.domain.errors import DomainError
from walkwithme.usecases import devices
from walkwithme.web.render import pages_of
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


@router.get("/phones/apps")
async def apps(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_sign_in(request)
    person, csrf = who
    base = services(request).config.base_url.rstrip("/")
    return pages_of(request).render(
        request, "phone_apps.html", person=person, csrf=csrf, base=base, made=None
    )


@router.post("/phones/apps")
async def make_device(request: Request) -> Response:
    pages = pages_of(request)
    try:
        person, fields = await signed_form(request)
        made, token = await services(request).writer.run(
            lambda tx: devices.add_device(tx, person.id, APP_DEVICE)
        )
    except DomainError as exc:
        return pages.render(request, "said.html", status=exc.status, message=exc.message, back="/")
    base = services(request).config.base_url.rstrip("/")
    return pages.render(
        request,
        "phone_apps.html",
        person=person,
        csrf=fields.get("csrf", ""),
        base=base,
        made={
            "name": made.name,
            "token": token,
            "owntracks": owntracks_link(base, person.email, token),
        },
    )
