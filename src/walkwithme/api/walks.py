"""Walks: start, look, talk, and the walker's PIN moments (inside, end, extend)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api import seen
from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Line, Number, Prose, When, WholeNumber, YesNo
from walkwithme.api.params import BodyId, Cursor, Id
from walkwithme.domain.errors import DomainError, Forbidden, Invalid, NotFound
from walkwithme.domain.profiles import apply, hers, parse_overrides
from walkwithme.domain.walks import QUICK_REPLIES, Destination, check_extension, check_pin_format
from walkwithme.hashing import Lane
from walkwithme.services import Services
from walkwithme.store.tx import Tx
from walkwithme.usecases import (
    alarms,
    cover_channels,
    devices,
    helping,
    looks,
    moments,
    on_it,
    places,
    routes,
    starting,
    walk_store,
    walks,
)
from walkwithme.usecases.accounts import Person, duress_pin_hash_of
from walkwithme.usecases.moments import Pin
from walkwithme.usecases.offers import LocalTime
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import shared_view, walk_view

router = APIRouter(prefix="/api/walks", tags=["walks"])


class Point(BaseModel):
    lat: Number
    lon: Number


class Where(BaseModel):
    place_id: BodyId | None = None
    lat: Number | None = None
    lon: Number | None = None
    radius: Number | None = Field(default=None, description="metres; 40 if not given")
    name: Line | None = Field(default=None, max_length=100)


class NewWalk(BaseModel):
    destination: Where | None = Field(
        default=None, description="absent: a timer walk, checked on at `due_at` or after `minutes`"
    )
    pin: str = Field(description="4 to 8 digits; asked for to say you're inside, end or extend")
    duress_pin: str | None = Field(
        default=None,
        description="4 to 8 digits, not your PIN: works like your PIN while it raises a silent "
        "alarm (if absent, the one in your profile, if any)",
    )
    origin: Point | None = Field(default=None, alias="from")
    minutes: WholeNumber | None = Field(
        default=None, description="expected duration, if not from `from`"
    )
    due_at: WholeNumber | None = Field(
        default=None, description="epoch ms: when to check on you (a timer walk)"
    )
    companions: list[BodyId] | None = Field(default=None, description="person ids; all if absent")
    rules: dict[str, Any] | None = Field(
        default=None,
        description="this walk's own thresholds, over yours and the server's: {\"silent\": "
        '"4m", "night": {"silent": 150}} (docs/alarms.md)',
    )


class PinBody(BaseModel):
    pin: str = Field(max_length=16)
    note: Prose | None = Field(default=None, max_length=500)


class Inside(PinBody):
    next: When | None = Field(
        default=None, description="her next walk with the walk's companions: both reminded then"
    )


class Extend(BaseModel):
    pin: str = Field(max_length=16)
    minutes: WholeNumber


class Message(BaseModel):
    text: Prose = Field(min_length=1, max_length=500)
    quick: YesNo = False


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


async def plan_walk(svc: Services, person: Person, body: NewWalk) -> starting.WalkPlan:
    """A checked request to start a walk (here, or by accepting an offer), PINs hashed."""
    check_pin_format(body.pin)
    if body.duress_pin is not None:
        check_pin_format(body.duress_pin, field="duress_pin")
        if body.duress_pin == body.pin:
            raise Invalid("your duress PIN must differ from your PIN", field="duress_pin")
    own = parse_overrides(body.rules) if body.rules is not None else None
    profiles = apply(hers(svc.config.profiles, person.pace_mps, person.overrides), own)
    dest = await _destination(svc, person, body.destination) if body.destination else None
    pin_hash = await svc.hashing.hash(Lane.PINS, body.pin)
    duress_hash = await _duress_hash(svc, person, body)
    return starting.WalkPlan(
        destination=dest,
        pin_hash=pin_hash,
        duress_pin_hash=duress_hash,
        pace_mps=person.pace_mps,
        timezone=person.timezone,
        origin=(body.origin.lat, body.origin.lon) if body.origin else None,
        minutes=body.minutes,
        due_at=body.due_at,
        companion_ids=tuple(body.companions) if body.companions is not None else None,
        profiles=profiles,
    )


async def started_view(svc: Services, walk_id: int, person_id: int) -> dict[str, Any]:
    """The walker's view of a walk she just started, saying plainly if nobody would hear an
    alarm."""
    view = await _view(svc, walk_id, person_id)
    heard, phones = await svc.db.read(
        lambda c: (
            cover_channels.heard_as_shown(c, walk_store.get_walk(c, walk_id)),
            devices.advice_for(c, person_id),
        )
    )
    warnings = (
        []
        if heard
        else [
            "Nobody would hear an alarm: none of your companions has alerts that work (set "
            "up, tested, and not failing now). Ask them to set theirs up and send a test."
        ]
    )
    # Her phone's app decides how often it reports: how to set it for the walk, plainly.
    warnings += phones
    if warnings:
        view["warnings"] = warnings
    return view


async def prepare_streets(svc: Services, person: Person, plan: starting.WalkPlan) -> None:
    """The destination's distance field is made here, off the writer, so that starting the
    walk and every fix after it only look it up; and only for someone who could start a walk
    now (a field costs time and a place in the cache of the live walks' fields)."""
    if svc.streets is None or plan.destination is None:
        return
    if not await svc.db.read(lambda c: starting.could_start(c, person.id)):
        return  # starting will be refused, with its reason
    dest = plan.destination
    await anyio.to_thread.run_sync(svc.streets.field_to, dest.lat, dest.lon)


@router.post("", status_code=201)
async def start(body: NewWalk, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    plan = await plan_walk(svc, person, body)
    await prepare_streets(svc, person, plan)
    streets = svc.streets
    walk_id = await svc.writer.run(lambda tx: starting.start_walk(tx, person.id, plan, streets))
    return await started_view(svc, walk_id, person.id)


async def _duress_hash(svc: Services, person: Person, body: NewWalk) -> str | None:
    """The walk's own duress PIN, or the one in her profile (which her PIN must not be)."""
    if body.duress_pin is not None:
        return await svc.hashing.hash(Lane.PINS, body.duress_pin)
    profile: str | None = await svc.db.read(lambda c: duress_pin_hash_of(c, person.id))
    if profile is not None and await svc.hashing.verify(Lane.PINS, profile, body.pin):
        # Her duress PIN given as the walk's PIN (by her, or by someone making her start a
        # walk): saying so would name it. The walk starts, without a duress PIN.
        return None
    return profile


async def _view(svc: Services, walk_id: int, person_id: int) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        walk, audience = walks.visible_walk(conn, walk_id, person_id)
        return walk_view(conn, walk, audience, person_id)

    return await svc.db.read(read)


@router.get("")
async def my_walks(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Your own walks, newest first, and the live walks you follow."""

    def read(conn: Any) -> list[dict[str, Any]]:
        return [walk_view(conn, w, a, person.id) for w, a in walks.walks_of(conn, person.id)]

    return await svc.db.read(read)


@router.get("/quick-replies")
async def quick_replies(person: PersonDep) -> list[str]:
    return list(QUICK_REPLIES)


@router.get("/{walk_id}")
async def show(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    view = await _view(svc, walk_id, person.id)
    if view.get("you_are") == Audience.COMPANION.value:
        await seen.note(svc, walk_id, looks.API, viewer_id=person.id)
    return view


@router.get("/{walk_id}/events")
async def timeline(
    walk_id: Id, person: PersonDep, svc: ServicesDep, after: Cursor = 0
) -> list[dict[str, Any]]:
    def read(conn: Any) -> list[dict[str, Any]]:
        walk, audience = walks.visible_walk(conn, walk_id, person.id)
        scrubbed = walks.forgotten_for(walk, audience)
        return events_after(conn, walk_id, after, audience, scrubbed=scrubbed)

    return await svc.db.read(read)


@router.get("/{walk_id}/fixes")
async def track(
    walk_id: Id, person: PersonDep, svc: ServicesDep, after: Cursor = 0
) -> list[dict[str, Any]]:
    def read(conn: Any) -> tuple[list[dict[str, Any]], Audience]:
        walk, audience = walks.visible_walk(conn, walk_id, person.id)
        shown = walks.shown_until(walk, audience)
        return fixes_after(conn, walk_id, after, until_seq=shown), audience

    track, audience = await svc.db.read(read)
    if audience is Audience.COMPANION:
        await seen.note(svc, walk_id, looks.API, viewer_id=person.id)
    return track


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
    return {"event_id": event_id}  # its number on the timeline the sender sees


async def which_pin(svc: Services, walk_id: int, walker_id: int, pin: str) -> Pin | None:
    """Her PIN, her duress PIN, or neither (None). Both are always checked, so the time it
    takes doesn't tell them apart; off the writer, as argon2 is slow."""
    real, duress = await svc.db.read(lambda c: walks.pin_hashes_of(c, walk_id, walker_id))
    is_real = await svc.hashing.verify(Lane.PINS, real, pin)
    is_duress = await svc.hashing.verify(Lane.PINS, duress or real, pin)
    if is_real:
        return Pin.REAL
    return Pin.DURESS if duress and is_duress else None


async def with_pin(
    svc: Services, walk_id: int, walker_id: int, pin: str, action: str, job: Any
) -> Any:
    """Her PIN, for `action`: counted (429 while the wait after wrong ones lasts), checked,
    then `job(tx, which)`, or the refusal recorded and answered (403). Only the walker herself
    (or her check's answer link) gets this far. No PIN at all (a page's form sent empty) is no
    attempt: it is asked for, not counted towards the three that raise the alarm."""
    if not pin.strip():
        raise Invalid("enter your PIN", field="pin")
    await svc.writer.run(lambda tx: moments.claim_attempt(tx, walk_id, walker_id))
    which = await which_pin(svc, walk_id, walker_id, pin)
    try:
        done = await svc.writer.run(
            lambda tx: moments.take(tx, walk_id, walker_id, which, action, job)
        )
    except DomainError:
        if which is not None:  # refused for what came with it, and yet the PIN was hers
            await svc.writer.run(
                lambda tx: moments.pin_kept(tx, walk_id, walker_id, which), urgent=True
            )
        raise
    if isinstance(done, moments.Refused):
        raise Forbidden(done.value, field="pin" if done is moments.Refused.WRONG_PIN else None)
    return done


def refused_as_locked(refusal: Forbidden) -> bool:
    """`with_pin`'s refusal during an alarm wrong PINs raised (any PIN: no PIN ends it)."""
    return refusal.message == moments.Refused.LOCKED.value


@router.post("/{walk_id}/inside")
async def inside(walk_id: Id, body: Inside, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """She is inside: the walk is over and safe. Takes her PIN; `next`, the time of her next
    walk with its companions (docs/offers.md)."""
    next_walk = LocalTime(body.next.day, body.next.time) if body.next is not None else None

    def job(tx: Tx, pin: Pin) -> None:
        moments.inside(tx, walk_id, person.id, body.note, pin, next_walk)

    await with_pin(svc, walk_id, person.id, body.pin, "inside", job)
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/end")
async def end(walk_id: Id, body: PinBody, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """End the walk early. Takes her PIN."""

    def job(tx: Tx, pin: Pin) -> None:
        moments.end(tx, walk_id, person.id, body.note, pin)

    await with_pin(svc, walk_id, person.id, body.pin, "end", job)
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/extend")
async def extend(walk_id: Id, body: Extend, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """More time before she is expected. Takes her PIN."""

    check_extension(body.minutes)

    def job(tx: Tx, pin: Pin) -> int:
        return moments.extend(tx, walk_id, person.id, body.minutes, pin)

    await with_pin(svc, walk_id, person.id, body.pin, "extend", job)
    return await _view(svc, walk_id, person.id)


class Ok(BaseModel):
    pin: str = Field(max_length=16)


class Resolution(BaseModel):
    note: Prose = Field(min_length=1, max_length=500)
    home: bool = Field(
        default=False, description="she is home, inside: the walk is over too (not only the alarm)"
    )


@router.post("/{walk_id}/ok")
async def ok(walk_id: Id, body: Ok, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """ "I'm OK", with her PIN: answers the watchdog's check, or ends an alarm she is in."""

    def job(tx: Tx, pin: Pin) -> str:
        return moments.ok(tx, walk_id, person.id, pin)

    answered = await with_pin(svc, walk_id, person.id, body.pin, "ok", job)
    view = await _view(svc, walk_id, person.id)
    view["answered"] = answered
    return view


@router.post("/{walk_id}/sos")
async def sos(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """The walker's SOS: the alarm at once, no PIN, no question first."""
    await svc.writer.run(lambda tx: alarms.sos(tx, walk_id, person.id), urgent=True)
    return await _view(svc, walk_id, person.id)


@router.post("/{walk_id}/ack")
async def acknowledge(walk_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """A companion's (or a guardian's) "I'm on it" during an alarm."""
    await svc.writer.run(lambda tx: on_it.acknowledge(tx, walk_id, person.id))
    return await _helper_view(svc, walk_id, person.id)


async def _helper_view(svc: Services, walk_id: int, person_id: int) -> dict[str, Any]:
    """A companion's view; a guardian, who doesn't follow her walks, gets what the alarm's
    link shows."""

    def read(conn: Any) -> dict[str, Any]:
        walk = walk_store.get_walk(conn, walk_id)
        audience = walks.audience_of(conn, walk, person_id) if walk else None
        if walk is not None and audience is not None:
            return walk_view(conn, walk, audience, person_id)
        if walk is not None and helping.is_guardian(conn, walk, person_id):
            return shared_view(conn, walk)
        raise NotFound("no such walk")

    return await svc.db.read(read)


@router.post("/{walk_id}/resolve")
async def resolve(
    walk_id: Id, body: Resolution, person: PersonDep, svc: ServicesDep
) -> dict[str, Any]:
    """A companion (or, during an alarm, a guardian) who found her safe ends the alarm, saying
    how."""
    await svc.writer.run(
        lambda tx: helping.resolve(tx, walk_id, person.id, body.note, home=body.home)
    )
    try:
        return await _helper_view(svc, walk_id, person.id)
    except NotFound:
        # Someone whose contact ended during the alarm was in it until now; no longer.
        return {"id": walk_id, "resolved": True}


__all__ = ["Audience", "router"]
