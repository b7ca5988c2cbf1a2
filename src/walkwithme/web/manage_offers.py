"""Offers on the pages: he offers to walk her home (now, at a time, every weekday); she
accepts (her walk starts with him following) or declines, with a note and maybe a promise.
The same use cases as /api/offers."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.params import Id
from walkwithme.api.walks import NewWalk, plan_walk, prepare_streets
from walkwithme.domain.errors import Invalid
from walkwithme.domain.offers import DAY_NAMES, DAY_SETS
from walkwithme.usecases import contacts, cover_channels, offer_views, offers, places
from walkwithme.usecases.accounts import Person
from walkwithme.web import words
from walkwithme.web.manage_common import (
    act,
    another_time,
    counted,
    next_walks_said,
    number,
    required,
    viewer,
)
from walkwithme.web.render import pages_of

# "mon" -> "Monday", as the days are said (domain/offers.py names them for the API).
_DAY_WORDS = dict(
    zip(
        DAY_NAMES,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def repeat_words(days: list[str]) -> str:
    """ "every weekday", "at weekends", "every day", "on Mondays and Thursdays"."""
    chosen = frozenset(DAY_NAMES.index(day) for day in days)
    if chosen == DAY_SETS["weekdays"]:
        return "every weekday"
    if chosen == DAY_SETS["weekend"]:
        return "at weekends"
    if chosen == DAY_SETS["daily"]:
        return "every day"
    named = [_DAY_WORDS.get(day, day) + "s" for day in days]
    return "on " + (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0])


router = APIRouter(include_in_schema=False)

REPEATS = {"weekdays": "every weekday", "weekend": "every weekend day", "daily": "every day"}


def walkers_of(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """The people he follows as a companion: those he may offer to walk home."""
    return [
        c["person"]
        for c in contacts.list_contacts(conn, person_id)
        if c["direction"] == "asked_me" and c["state"] == "accepted" and c["role"] == "companion"
    ]


def _at(at: int, now: int, tz: str) -> str:
    """An offer's time: "now" once it has come (an offer for now, or one whose time came)."""
    return "now" if at <= now else words.day_time(at, now, tz)


# An offer for more than this ahead is for later: accepted now, its walk starts now.
LATER_THAN_MS = 30 * 60_000


def _context(conn: Connection, person: Person, now: int) -> dict[str, Any]:
    tz = person.timezone
    overview = offer_views.overview(conn, person.id, now)
    waiting, promised = [], []
    # Accepting starts a walk that he follows: say so if nobody would hear its alarm.
    hearing = cover_channels.who_she_would_hear(
        conn, person.id, [o["from"]["id"] for o in overview["received"]]
    )
    for o in overview["received"]:
        item = {"id": o["id"], "name": o["from"]["name"], "at": _at(o["at"], now, tz)}
        if o["state"] == "pending":
            # Accepting starts the walk now: an offer for later (tomorrow at 21:00) said
            # "Accept: start walking" as if that were tomorrow's (a review of a first walk).
            later = o["at"] > now + LATER_THAN_MS
            waiting.append({**item, "hears": o["from"]["id"] in hearing, "later": later})
        elif o.get("reminder_at"):
            promised.append({**item, "promise": words.day_time(o["promise_at"], now, tz)})
    sent = [
        {
            "id": o["id"],
            "to": o["to"]["name"],
            "at": _at(o["at"], now, tz)
            if o["state"] == "pending"
            else words.day_time(o["at"], now, tz),
            "state": words.offer_state(o["state"], o["to"]["name"]),
            "pending": o["state"] == "pending",
            "note": o["note"],
            "promise": words.day_time(o["promise_at"], now, tz) if o["promise_at"] else None,
            "reminder": o["reminder_at"] is not None,
        }
        for o in overview["sent"][:20]
    ]
    recurring = [
        {
            "id": s["id"],
            "sentence": (
                f"You offer to walk {s['person']['name']} home"
                if s["direction"] == "by_me"
                else f"{s['person']['name']} offers to walk you home"
            )
            + f" {repeat_words(s['days'])} at {s['time']}",
        }
        for s in overview["recurring"]
    ]
    return {
        "next_walks": next_walks_said(overview["next_walks"], now, tz),
        "walkers": walkers_of(conn, person.id),
        "waiting": waiting,
        "promised": promised,
        "sent": sent,
        "recurring": recurring,
        "places": places.list_places(conn, person.id),
    }


@router.get("/offers")
async def offers_page(request: Request) -> Response:
    who = await viewer(request)
    if isinstance(who, Response):
        return who
    person, csrf = who
    svc = services(request)
    now = svc.clock.now_ms()
    context = await svc.db.read(lambda c: _context(c, person, now))
    return pages_of(request).render(request, "offers.html", person=person, csrf=csrf, **context)


def _offer_from(
    fields: dict[str, str],
) -> tuple[int, offers.LocalTime | None, offers.Repeat | None]:
    walker = counted(required(fields, "walker", "Whom to walk home", 20))
    if walker is None:
        raise Invalid("choose whom to walk home", field="walker")
    when = fields.get("when", "now")
    if when == "now":
        return walker, None, None
    time = required(fields, "time", "The time", 10)
    if when == "at":
        return walker, offers.LocalTime(fields.get("day", "today"), time), None
    if when in REPEATS:
        return walker, None, offers.Repeat(when, time)
    raise Invalid("when must be now, at a time, or every weekday", field="when")


@router.post("/offers")
async def make(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        walker, at, repeat = _offer_from(fields)
        await services(request).writer.run(
            lambda tx: offers.make_offer(tx, person.id, walker, at=at, repeat=repeat)
        )

    return await act(request, "/offers", action)


def _minutes(fields: dict[str, str]) -> int:
    minutes = counted(fields.get("minutes", "").strip() or "20")
    if minutes is None or not 1 <= minutes <= 600:
        raise Invalid("how long the walk takes is a number of minutes, 1 to 600", field="minutes")
    return minutes


def _new_walk(fields: dict[str, str]) -> NewWalk:
    """Where she is going (one of her places, or a point typed as coordinates), how long it
    takes, and her PIN."""
    place = fields.get("place", "").strip()
    if (place_id := counted(place)) is not None:
        where: dict[str, Any] = {"place_id": place_id}
    elif fields.get("lat", "").strip() or fields.get("lon", "").strip():
        where = {
            "lat": number(fields, "lat", "Latitude"),
            "lon": number(fields, "lon", "Longitude"),
            "name": "destination",
        }
    else:
        raise Invalid("choose where you are going: one of your places, or a point", field="place")
    pin = fields.get("pin", "").strip()
    if not re.fullmatch(r"[0-9]{4,8}", pin):
        raise Invalid("your PIN is 4 to 8 digits", field="pin")
    try:
        return NewWalk.model_validate(
            {"destination": where, "pin": pin, "minutes": _minutes(fields)}
        )
    except ValidationError as exc:
        raise Invalid("this destination can't be used", field="place") from exc


@router.post("/offers/{offer_id}/accept")
async def accept(offer_id: Id, request: Request) -> Response:
    svc = services(request)

    async def action(person: Person, fields: dict[str, str]) -> Response:
        plan = await plan_walk(svc, person, _new_walk(fields))
        await prepare_streets(svc, person, plan)
        streets = svc.streets
        walk_id = await svc.writer.run(
            lambda tx: offers.accept(tx, person.id, offer_id, plan, streets)
        )
        return RedirectResponse(f"/walks/{walk_id}", status_code=303)

    return await act(request, "/offers", action)


@router.post("/offers/{offer_id}/decline")
async def decline(offer_id: Id, request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        note = fields.get("note", "").strip() or None
        promise = another_time(fields, "promise", "promise")
        await services(request).writer.run(
            lambda tx: offers.decline(tx, person.id, offer_id, note, promise)
        )

    return await act(request, "/offers", action)


@router.post("/offers/{offer_id}/withdraw")
async def withdraw(offer_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(lambda tx: offers.withdraw(tx, person.id, offer_id))

    return await act(request, "/offers", action)


@router.post("/offers/{offer_id}/reminder/cancel")
async def cancel_reminder(offer_id: Id, request: Request) -> Response:
    """Either of the two calls off a promise's reminder before it comes."""

    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(
            lambda tx: offers.cancel_reminder(tx, person.id, offer_id)
        )

    return await act(request, "/offers", action)


@router.post("/offers/recurring/{series_id}/stop")
async def stop(series_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(lambda tx: offers.stop_series(tx, person.id, series_id))

    return await act(request, "/offers", action)
