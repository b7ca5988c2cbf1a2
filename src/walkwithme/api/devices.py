"""A person's phones, and the door they post fixes through."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep, current_device, services
from walkwithme.api.errors import error_body
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.domain.errors import Conflict
from walkwithme.store.writer import Tx
from walkwithme.usecases import devices
from walkwithme.usecases.fixes import Outcome, parse_batch, record_fixes, unknown_fields

router = APIRouter(prefix="/api", tags=["devices"])

MAX_BATCH = 1000


class NewDevice(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    # OwnTracks' payload encryption: a key for the app (shown once, with the token).
    owntracks_encryption: bool = False


@router.get("/devices")
async def list_devices(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await svc.db.read(lambda c: devices.list_devices(c, person.id))


@router.post("/devices", status_code=201)
async def add_device(body: NewDevice, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    def job(tx: Tx) -> dict[str, Any]:
        device, token = devices.add_device(tx, person.id, body.name)
        made = {"id": device.id, "name": device.name, "token": token}
        if body.owntracks_encryption:
            made["owntracks_key"] = devices.set_owntracks_key(tx, person.id, device.id)
        return made

    return await svc.writer.run(job)


@router.post("/devices/{device_id}/owntracks-key")
async def new_owntracks_key(device_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, str]:
    """A new encryption key for her device's OwnTracks (shown once; the old one stops
    working): in the app, Encryption key."""
    key = await svc.writer.run(lambda tx: devices.set_owntracks_key(tx, person.id, device_id))
    return {"owntracks_key": key}


@router.delete("/devices/{device_id}", status_code=204)
async def revoke_device(device_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    # Its token is forgotten by every process once this commits (Tx.revoked).
    await svc.writer.run(lambda tx: devices.revoke_device(tx, person.id, device_id))


async def post_fixes(request: Request) -> JSON:
    """Take fixes from a device. Answers per item: accepted, flagged, duplicate, refused
    (malformed, with the field and why; a `t` in seconds says so) or not_kept (no live walk),
    with a warning naming any field nothing reads (another app's name for one, say). Answered
    only once the accepted ones are committed.

    The busiest door of the service, so a plain Starlette endpoint: no body model, no
    dependency injection (see FIXES_OPENAPI for its description)."""
    device = await current_device(request)
    svc = services(request)
    body = await request.body()  # limited as it streams in (api/body_limit.py)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return JSON(error_body("body is not valid JSON"), status_code=400)
    single = isinstance(payload, dict) and "fixes" not in payload
    if isinstance(payload, dict) and "fixes" in payload:
        items = payload["fixes"]
        if not isinstance(items, list):
            return JSON(error_body("fixes must be a list", "fixes"), status_code=422)
    elif isinstance(payload, dict):
        items = [payload]
    else:
        return JSON(error_body('send a fix or {"fixes": [...]}'), status_code=422)
    if len(items) > MAX_BATCH:
        return JSON(error_body(f"at most {MAX_BATCH} fixes a request", "fixes"), status_code=413)
    parsed = parse_batch(items, svc.clock.now_ms())
    if single and isinstance(parsed[0], Outcome):
        # One fix, not a batch: nothing else to keep, so a plain 400 naming the field.
        return JSON(error_body(parsed[0].reason or "malformed fix", parsed[0].field), 400)
    try:
        outcomes = await svc.writer.run(lambda tx: record_fixes(tx, device, parsed, svc.streets))
    except Conflict:
        # Another process changed the walk at that instant. A 4xx would make iOS drop the
        # fixes: ask the phone to send them again instead.
        return JSON(
            error_body("the walk changed meanwhile; send again"),
            status_code=503,
            headers={"Retry-After": "1"},
        )
    results = [o.as_json(i) for i, o in enumerate(outcomes)]
    for result, item in zip(results, items, strict=True):
        warning = unknown_fields(item)
        if warning:
            result["warning"] = warning
    return JSON({"results": results})


FIXES_OPENAPI: dict[str, Any] = {
    "post": {
        "tags": ["devices"],
        "summary": "Post fixes",
        "description": post_fixes.__doc__,
        "security": [{"deviceToken": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "description": 'One fix, or {"fixes": [fix, ...]} (up to 1,000). A fix: '
                        "t (epoch ms), lat, lon, accuracy (m), speed (m/s), bearing (deg), "
                        "altitude (m), battery (%).",
                        "type": "object",
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": '{"results": [{index, status, reason?, field?, warning?}]}: '
                "warning names fields that nothing reads (ignored)"
            },
            "400": {
                "description": "the body is not JSON, or its one fix (not a batch) is malformed: "
                '{"error", "field"}'
            },
            "413": {"description": "more than 1,000 fixes, or a body over 1 MB"},
            "422": {"description": 'neither a fix nor {"fixes": [...]}'},
            "401": {"description": "no device token, or a revoked one"},
            "503": {"description": "storage unavailable: retry, nothing was kept"},
        },
    }
}
