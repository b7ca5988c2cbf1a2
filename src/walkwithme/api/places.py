"""A person's named places."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Line, Number
from walkwithme.api.params import Id
from walkwithme.usecases import places

router = APIRouter(prefix="/api/places", tags=["places"])


class NewPlace(BaseModel):
    name: Line = Field(min_length=1, max_length=100)
    lat: Number
    lon: Number
    radius: Number | None = Field(default=None, description="metres; 40 if not given")


@router.get("")
async def list_places(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await svc.db.read(lambda c: places.list_places(c, person.id))


@router.post("", status_code=201)
async def add_place(body: NewPlace, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(
        lambda tx: places.add_place(tx, person.id, body.name, body.lat, body.lon, body.radius)
    )


@router.delete("/{place_id}", status_code=204)
async def remove_place(place_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: places.remove_place(tx, person.id, place_id))
