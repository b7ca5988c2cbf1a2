"""Walks: start, look, talk, and the walker's PIN moments (inside, end, extend)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.params import BodyId, Cursor, Id
from walkwithme.domain.errors import Forbidden, Invalid
from walkwithme.domain.walks import QUICK_REPLIES, Destination, check_extension, check_pin_format
from walkwithme.security import hash_secret, verify_secret
from walkwithme.services import Services
from walkwithme.store.writer import Tx
from walkwithme.usecases import alarms, alerts, places, routes, walks
from walkwithme.usecases.accounts import Person
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import walk_view

router = APIRouter(prefix="/api/walks", tags=["walks"])


class Point(BaseModel):
    lat: float
    lon: float


class Where(BaseModel):
    place_id: BodyId | None = None
    lat: float | None = None
    lon: float | None = None
    radius: float | None = Field(default=None, description="metres; 40 if not given")
    name: str | None = Field(default=None, max_length=100)


class NewWalk(BaseModel):
    destination: Where | None = Field(
        default=None, description="absent: a timer walk, checked on at `due_at` or after `minutes`"
    )
    pin: str = Field(description="4 to 8 digits; asked for to say you're inside, end or extend")
    origin: Point | None = Field(default=None, alias="from")
    minutes: int | None = Field(default=None, description="expected duration, if not from `from`")
    due_at: int | None = Field(
        default=None, description="epoch ms: when to check on you (a timer walk)"
    )
    companions: list[BodyId] | None = Field(default=None, description="person ids; all if absent")


class PinBody(BaseModel):
    pin: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=500)


class Extend(BaseModel):
    pin: str = Field(max_length=16)
    minutes: int


class Message(BaseModel):
    text: str = Field(max_length=500)
    quick: bool = False


async def _destination(svc: Services, person: Person, where: Where) -> Destination:
    if where.place_id is not None:
        place = await svc.db.read(lambda c: places.get_place(c, person.id, where.place_id or 0))
        return Destination(place["lat"], place["lon"], place["radius"], place["name"])
    if where.lat is None or where.lon is None:
        raise Invalid("destination needs a place_id, or lat and lon", field="destination")
    return Destination(
        where.lat,
        where.lon,
        places.DEFAULT_RADIUS_M if where.radius is None else where.radius,
        where.name,
    )


@router.post("", status_code=201)
async def start(body: NewWalk, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    check_pin_format(body.pin)
    dest = await _destination(svc, person, body.destination) if body.destination else None
    pin_hash = await anyio.to_thread.run_sync(hash_secret, body.pin)
    plan = walks.WalkPlan(
        destination=dest,
        pin_hash=pin_hash,
        pace_mps=person.pace_mps,
        timezone=person.timezone,
        origin=(body.origin.lat, body.origin.lon) if body.origin else None,
        minutes=body.minutes,
        due_at=body.due_at,
        companion_ids=tuple(body.companions) if body.companions is not None else None,
    )
    streets = svc.streets
    if streets is not None and dest is not None:
        # The destination's distance field is made here, off the writer, so that starting
        # the walk and every fix after it only look it up.
        await anyio.to_thread.run_sync(streets.field_to, dest.lat, dest.lon)
    walk_id = await svc.writer.run(lambda tx: walks.start_walk(tx, person.id, plan, streets))
    view = await _view(svc, walk_id, person.id)
    if not await svc.db.read(lambda c: alerts.someone_would_hear(c, walk_id)):
        view["warnings"] = [
            "Nobody would hear an alarm: none of your companions has a notification channel "
            "that has worked yet. Ask them to add one and send a test."
        ]
    return view


async def _view(svc: Services, walk_id: int, person_id: int) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        walk, audience = walks.visible_walk(conn, walk_id, person_id)
        return walk_view(conn, walk, audience)

    return await svc.db.read(read)


@router.get("")
async def my_walks(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Your own walks, newest first, and the live walks you follow."""

    def read(conn: Any) -> list[dict[str, Any]]:
        return [walk_view(conn, w, a) for w, a in walks.walks_of(conn, person.id)]

    return await svc.db.read(read)


@router.get("/quick-replies")
async def quick_replies(person: PersonDep) -> list[str]:
    return list(QUICK_REPLIES)


@router.get("/{walk_id}")
async def show(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await _view(svc, walk_id, person.id)


@router.get("/{walk_id}/events")
async def timeline(
    walk_id: Id, person: PersonDep, svc: ServicesDep, after: Cursor = 0
) -> list[dict[str, Any]]:
    def read(conn: Any) -> list[dict[str, Any]]:
        _walk, audience = walks.visible_walk(conn, walk_id, person.id)
        return events_after(conn, walk_id, after, audience)

    return await svc.db.read(read)


@router.get("/{walk_id}/fixes")
async def track(
    walk_id: Id, person: PersonDep, svc: ServicesDep, after: Cursor = 0
) -> list[dict[str, Any]]:
    def read(conn: Any) -> list[dict[str, Any]]:
        walks.visible_walk(conn, walk_id, person.id)
        return fixes_after(conn, walk_id, after)

    return await svc.db.read(read)


@router.get("/{walk_id}/route")
async def route(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, object]:
    """One good way home along the streets, from where the walk started to its destination:
    `{"points": [[lat, lon], ...], "length_m": ...}`. 404 without a street map, for a timer
    walk, or when either end is beyond the map."""
    found = await svc.db.read(lambda c: routes.walk_route(c, walk_id, person.id, svc.streets))
    return found.as_json()


@router.post("/{walk_id}/messages", status_code=201)
async def message(
    walk_id: Id, body: Message, person: PersonDep, svc: ServicesDep
) -> dict[str, Any]:
    event_id = await svc.writer.run(
        lambda tx: walks.post_message(tx, walk_id, person.id, body.text, body.quick)
    )
    return {"event_id": event_id}


async def _with_pin(
    svc: Services, walk_id: int, person: Person, pin: str, action: str, job: Any
) -> Any:
    """Check the walker's PIN (off the writer: argon2 is slow), then do `job` or record the
    refusal. Only the walker herself gets this far."""
    stored = await svc.db.read(lambda c: walks.pin_hash_of(c, walk_id, person.id))
    if not await anyio.to_thread.run_sync(verify_secret, stored, pin):
        await svc.writer.run(lambda tx: alarms.refuse_pin(tx, walk_id, person.id, action))
        raise Forbidden("wrong PIN", field="pin")
    return await svc.writer.run(job)


@router.post("/{walk_id}/inside")
async def inside(walk_id: Id, body: PinBody, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """She is inside: the walk is over and safe. Takes her PIN."""

    def job(tx: Tx) -> None:
        walks.confirm_inside(tx, walk_id, person.id, body.note)

    await _with_pin(svc, walk_id, person, body.pin, "inside", job)
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/end")
async def end(walk_id: Id, body: PinBody, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """End the walk early. Takes her PIN."""

    def job(tx: Tx) -> None:
        walks.end_walk(tx, walk_id, person.id, body.note)

    await _with_pin(svc, walk_id, person, body.pin, "end", job)
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/extend")
async def extend(walk_id: Id, body: Extend, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """More time before she is expected. Takes her PIN."""

    check_extension(body.minutes)

    def job(tx: Tx) -> int:
        return walks.extend_walk(tx, walk_id, person.id, body.minutes)

    await _with_pin(svc, walk_id, person, body.pin, "extend", job)
    return await _view(svc, walk_id, person.id)


class Ok(BaseModel):
    pin: str = Field(max_length=16)


class Resolution(BaseModel):
    note: str = Field(min_length=1, max_length=500)


@router.post("/{walk_id}/ok")
async def ok(walk_id: Id, body: Ok, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """ "I'm OK", with her PIN: answers the watchdog's check, or ends an alarm she is in."""

    def job(tx: Tx) -> str:
        return alarms.walker_is_ok(tx, walk_id, person.id)

    answered = await _with_pin(svc, walk_id, person, body.pin, "ok", job)
    view = await _view(svc, walk_id, person.id)
    view["answered"] = answered
    return view


@router.post("/{walk_id}/sos")
async def sos(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """The walker's SOS: the alarm at once, no PIN, no question first."""
    await svc.writer.run(lambda tx: alarms.sos(tx, walk_id, person.id))
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/ack")
async def acknowledge(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """A companion's "I'm on it" during an alarm."""
    await svc.writer.run(lambda tx: alarms.acknowledge(tx, walk_id, person.id))
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/resolve")
async def resolve(
    walk_id: Id, body: Resolution, person: PersonDep, svc: ServicesDep
) -> dict[str, Any]:
    """A companion who found her safe ends the alarm, saying how."""
    await svc.writer.run(lambda tx: alarms.resolve(tx, walk_id, person.id, body.note))
    return await _view(svc, walk_id, person.id)


__all__ = ["Audience", "router"]
