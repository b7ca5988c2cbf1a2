"""Offers: a companion offers to walk someone home; the walker accepts, declines (with a note
and a promise), mutes or blocks; either side withdraws or stops. See docs/offers.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Prose, When, WholeNumber
from walkwithme.api.params import BodyId, Id

# The same body as POST /api/walks, and the same way of reading its destination.
from walkwithme.api.walks import NewWalk, plan_walk, prepare_streets, started_view
from walkwithme.store.tx import Tx
from walkwithme.usecases import offer_mutes, offer_views, offers
from walkwithme.usecases.offer_mutes import Silence

router = APIRouter(prefix="/api/offers", tags=["offers"])


class Repeat(BaseModel):
    days: str | list[str] = Field(
        description="weekdays, weekend, daily, or day names: mon, tue, ... sun"
    )
    time: str = Field(max_length=10, description="HH:MM, the walker's local time")


class NewOffer(BaseModel):
    walker: BodyId = Field(description="the person id of someone you follow as a companion")
    at: When | None = Field(default=None, description="absent: now")
    repeat: Repeat | None = None


class Decline(BaseModel):
    note: Prose | None = Field(default=None, max_length=500)
    promise: When | None = Field(default=None, description="a time to walk together instead")


class Mute(BaseModel):
    hours: WholeNumber | None = Field(default=None, description="absent: for good")


@router.get("")
async def overview(person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """Offers waiting for your answer, the offers you made, and recurring offers both ways."""
    now = svc.clock.now_ms()
    return await svc.db.read(lambda c: offer_views.overview(c, person.id, now))


@router.post("", status_code=201)
async def offer(body: NewOffer, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    at = offers.LocalTime(body.at.day, body.at.time) if body.at else None
    repeat = offers.Repeat(body.repeat.days, body.repeat.time) if body.repeat else None
    return await svc.writer.run(
        lambda tx: offers.make_offer(tx, person.id, body.walker, at=at, repeat=repeat)
    )


@router.post("/{offer_id}/accept", status_code=201)
async def accept(
    offer_id: Id, body: NewWalk, person: PersonDep, svc: ServicesDep
) -> dict[str, Any]:
    """Accept with what a walk needs (as POST /api/walks): the walk starts now, followed by
    the person who offered."""
    plan = await plan_walk(svc, person, body)
    await prepare_streets(svc, person, plan)
    streets = svc.streets
    walk_id = await svc.writer.run(lambda tx: offers.accept(tx, person.id, offer_id, plan, streets))
    return {**await started_view(svc, walk_id, person.id), "offer_id": offer_id}


@router.post("/{offer_id}/decline")
async def decline(
    offer_id: Id, person: PersonDep, svc: ServicesDep, body: Decline | None = None
) -> dict[str, Any]:
    body = body or Decline()
    promise = offers.LocalTime(body.promise.day, body.promise.time) if body.promise else None
    note = body.note

    def job(tx: Tx) -> dict[str, Any]:
        return offers.decline(tx, person.id, offer_id, note, promise)

    return await svc.writer.run(job)


@router.post("/{offer_id}/withdraw")
async def withdraw(offer_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: offers.withdraw(tx, person.id, offer_id))


@router.delete("/{offer_id}/reminder", status_code=204)
async def cancel_reminder(offer_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: offers.cancel_reminder(tx, person.id, offer_id))


@router.post("/recurring/{series_id}/stop")
async def stop(series_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: offers.stop_series(tx, person.id, series_id))


# -- mutes and blocks --------------------------------------------------------------------------


@router.get("/silenced")
async def silenced(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """The people whose offers you muted or blocked, while it lasts."""
    now = svc.clock.now_ms()
    return await svc.db.read(lambda c: offer_mutes.silenced(c, person.id, now))


@router.put("/mutes/{person_id}")
async def mute(
    person_id: Id, person: PersonDep, svc: ServicesDep, body: Mute | None = None
) -> dict[str, Any]:
    hours = body.hours if body else None
    return await svc.writer.run(lambda tx: offer_mutes.mute(tx, person.id, person_id, hours))


@router.delete("/mutes/{person_id}", status_code=204)
async def unmute(person_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: offer_mutes.lift(tx, person.id, person_id, Silence.MUTE))


@router.put("/blocks/{person_id}")
async def block(person_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: offer_mutes.block(tx, person.id, person_id))


@router.delete("/blocks/{person_id}", status_code=204)
async def unblock(person_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: offer_mutes.lift(tx, person.id, person_id, Silence.BLOCK))
