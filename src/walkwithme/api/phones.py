"""The doors the phone apps post to: OwnTracks (HTTP mode) and Traccar Client.

Their status codes decide whether the phone goes on reporting (docs/phones.md, "Status
codes"): 401 for OwnTracks credentials we don't know, 400 for a Traccar `id` we don't know (as
Traccar's own server answers) and for a body that can't be parsed at all, 503 for our
own passing faults (the phone keeps the message and sends it again), and 200 for every other
message, used or not (one we can't use is kept as the device's last refusal).
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from walkwithme.api import seen
from walkwithme.api.auth import bearer, services
from walkwithme.api.errors import error_body
from walkwithme.api.responses import JSON
from walkwithme.domain.errors import Conflict, DomainError
from walkwithme.domain.reporting import App
from walkwithme.ingest import PhoneMessage, Unreadable, owntracks, traccar
from walkwithme.services import Services
from walkwithme.usecases import devices, friends, looks, phones
from walkwithme.usecases.devices import Device

log = logging.getLogger(__name__)

router = APIRouter(tags=["phones"])


# Each door answers with a slash at its end too, as typed into an app's settings: a redirect
# would be taken by the old Traccar clients for a delivery (the fix, or her SOS, dropped from
# their queue) and by 10.x for a failure (its queue stuck behind it).
@router.post("/api/owntracks")
@router.post("/api/owntracks/", include_in_schema=False)
async def owntracks_door(request: Request) -> Response:
    """OwnTracks in HTTP mode. In the app: Mode HTTP, URL `https://<server>/api/owntracks`,
    any user name, and the device's token as the password (and its encryption key, if it has
    one). Answers a JSON array: `[]`, or commands while a walk is on: switch to Move mode, and
    (once a walk) the destination as a region; and, to a companion of a live walk, its
    walker's card and last location (to an app that wrote encrypted: the array sealed as one
    `encrypted` object)."""
    svc = services(request)
    device = await _device(svc, _basic_password(request) or bearer(request))
    if device is None:
        return _unauthorized(OWNTRACKS_UNKNOWN)
    answer = await _owntracks_answer(svc, device, request)
    # Her account is deleted but for her silent alarm (usecases/deletion.py): what it sent
    # still reaches the people looking for her; her phone is told what a deleted account's is.
    return _unauthorized(OWNTRACKS_UNKNOWN) if device.gone else answer


OWNTRACKS_UNKNOWN = "give the device's token as the password (Authentication)"
TRACCAR_UNKNOWN = "unknown device id: set the device's token as its identifier"


async def _owntracks_answer(svc: Services, device: Device, request: Request) -> Response:
    body = await request.body()  # limited as it streams in (api/body_limit.py)
    key = await svc.db.read(lambda c: devices.owntracks_key(c, device.id))
    try:
        message = owntracks.read(body, key)
    except Unreadable as exc:
        return JSON(error_body(str(exc)), status_code=400)
    if message is None:
        return JSON([])
    taken = await _take(svc, device, message)
    if isinstance(taken, Response):
        return taken
    # Where her walkers are goes only to her OwnTracks app (phones.take: `friends`).
    items = taken.commands() + (await _friends(svc, device) if taken.friends else [])
    return JSON(owntracks.answer(items, message, key))


async def _friends(svc: Services, device: Device) -> list[dict[str, Any]]:
    """The walkers whose walks the device's owner follows, for his OwnTracks map (the phone
    never polls: friends only come in the answers to its own posts). Each walk whose position
    he is given this way is a look she sees ("from an app")."""
    now = svc.clock.now_ms()
    found = await svc.db.read(lambda c: friends.friends_of(c, device.person_id, now))
    for friend in found:
        if friend.position is not None and not friend.over:
            await seen.note(svc, friend.walk_id, looks.API, viewer_id=device.person_id)
    return owntracks.friend_items(found)


# One route a method: a route with both shared one operation id, which broke /openapi.json.
@router.get("/api/traccar", operation_id="traccar_get")
@router.post("/api/traccar", operation_id="traccar_post")
@router.get("/api/traccar/", include_in_schema=False)
@router.post("/api/traccar/", include_in_schema=False)
async def traccar_door(request: Request) -> Response:
    """Traccar Client (OsmAnd protocol, any generation). In the app: server URL
    `https://<server>/api/traccar`, and the device's token as the device identifier."""
    svc = services(request)
    body = await request.body()  # limited as it streams in (api/body_limit.py)
    try:
        device_id, message = traccar.read(
            request.query_params, request.headers.get("content-type", ""), body
        )
    except Unreadable as exc:
        return JSON(error_body(str(exc)), status_code=400)
    if not device_id:
        return JSON(error_body("id is required: the device's token", "id"), status_code=400)
    device = await _device(svc, device_id)
    if device is None:
        return JSON(error_body(TRACCAR_UNKNOWN, "id"), status_code=400)
    if message.nothing_to_take:
        return Response(status_code=200)
    taken = await _take(svc, device, message)
    if device.gone:  # taken, and answered as a deleted account's phone is (above)
        return JSON(error_body(TRACCAR_UNKNOWN, "id"), status_code=400)
    if isinstance(taken, Response):
        return taken
    return Response(status_code=200)


async def _take(svc: Services, device: Device, message: PhoneMessage) -> phones.Taken | Response:
    streets, base_url = svc.streets, svc.config.base_url
    try:
        return await svc.writer.run(
            lambda tx: phones.take(tx, device, message, streets, base_url),
            urgent=message.sos,  # an SOS goes ahead of the phones' fixes, as from her page
            memo=True,  # it keeps the writer's memo of her walks true
        )
    except Conflict:
        # The walk changed at that instant: the phone keeps the message and sends it again.
        return JSON(
            error_body("the walk changed meanwhile; send again"),
            status_code=503,
            headers={"Retry-After": "1"},
        )
    except DomainError as exc:
        # Nothing a resend would change, and a 4xx would block the phone's queue.
        log.warning("a message from device %s could not be taken: %s", device.id, exc.message)
        return JSON([]) if message.client.app is App.OWNTRACKS else Response(status_code=200)


async def _device(svc: Services, token: str | None) -> Device | None:
    if not token or not token.startswith("dev_"):
        return None
    return await svc.device_tokens.device(token)


def _basic_password(request: Request) -> str | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, _, password = decoded.partition(":")
    return password or None


def _unauthorized(message: str) -> Response:
    return Response(
        orjson.dumps(error_body(message)),
        status_code=401,
        media_type="application/json",
        headers={"WWW-Authenticate": 'Basic realm="Walk With Me"'},
    )
