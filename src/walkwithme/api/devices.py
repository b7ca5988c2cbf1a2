"""A person's phones; the door they post fixes through is api/fixes_door.py (its description
for the API's document is here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Line, YesNo
from walkwithme.api.params import Id
from walkwithme.store.tx import Tx
from walkwithme.usecases import devices

router = APIRouter(prefix="/api", tags=["devices"])


class NewDevice(BaseModel):
    name: Line = Field(min_length=1, max_length=100)
    # OwnTracks' payload encryption: a key for the app (shown once, with the token).
    owntracks_encryption: YesNo = False


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


FIXES_DESCRIPTION = """Take fixes from a device. Answers per item: accepted, flagged, duplicate,
refused (malformed, with the field and why; a `t` in seconds says so) or not_kept (no live
walk), with a warning naming any field nothing reads (another app's name for one, say).
Answered only once the accepted ones are committed. (Served by api/fixes_door.py.)"""

FIXES_OPENAPI: dict[str, Any] = {
    "post": {
        "tags": ["devices"],
        "summary": "Post fixes",
        "description": FIXES_DESCRIPTION,
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
