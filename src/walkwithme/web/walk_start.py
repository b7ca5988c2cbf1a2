"""Starting a walk from the pages: where to, who follows, her PIN, and a time to check on her;
"nobody would hear an alarm" said before she starts; and an offer accepted (which starts the
walk with the person who offered following); declining is web/manage_offers.py's.

The walk is planned and started as POST /api/walks and POST /api/offers/{id}/accept do
(api/walks.plan_walk, usecases/starting.start_walk, usecases/offers.accept).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.walks import NewWalk, plan_walk, prepare_streets
from walkwithme.domain.errors import DomainError, Invalid, NotFound
from walkwithme.domain.offers import local_instants
from walkwithme.domain.people import ContactRole, ContactState
from walkwithme.store.tx import Tx
from walkwithme.streets.streetmap import StreetMap
from walkwithme.usecases import (
    channels,
    contacts,
    cover_channels,
    offer_views,
    offers,
    places,
    starting,
    walk_store,
)
from walkwithme.usecases.accounts import Person
from walkwithme.web import walk_pages, words
from walkwithme.web.manage_common import counted
from walkwithme.web.mapdata import named_near, picking_centre
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import signed_form, signed_in

router = APIRouter(include_in_schema=False)

NOBODY_HEARS = (
    "Nobody would hear an alarm: none of the companions you chose has alerts that work (set "
    "up, tested, and not failing now). Ask them to set theirs up and send a test, or choose "
    "someone who has."
)


NOBODY_CHOSEN = (
    "Nobody would hear an alarm: you have chosen nobody to follow this walk. Tick someone "
    "whose alerts work."
)


# -- start a walk ------------------------------------------------------------------------------


def _companions(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    mine = [
        c
        for c in contacts.list_contacts(conn, person_id)
        if c["direction"] == "asked_by_me"
        and c["role"] == ContactRole.COMPANION.value
        and c["state"] == ContactState.ACCEPTED.value
    ]
    ids = [int(c["person"]["id"]) for c in mine]
    hearing = cover_channels.who_she_would_hear(conn, person_id, ids)
    return [
        {"id": i, "name": c["person"]["name"], "hears": i in hearing}
        for i, c in zip(ids, mine, strict=True)
    ]


def _offer(conn: Connection, person_id: int, offer_id: int | None, now: int) -> Any:
    if offer_id is None:
        return None
    for offer in offer_views.received(conn, person_id, now):
        if offer["id"] == offer_id and offer["state"] == "pending":
            return {"id": offer_id, "from": offer["from"]}
    raise NotFound("this offer is no longer waiting for your answer")


def _start_context(conn: Connection, person_id: int, offer_id: int | None, now: int) -> Any:
    offer = _offer(conn, person_id, offer_id, now)
    companions = _companions(conn, person_id)
    offerer = offer["from"]["id"] if offer else None
    for c in companions:
        c["chosen"] = offer is None or c["id"] == offerer
        c["fixed"] = c["id"] == offerer  # accepting his offer: he follows
    return {
        "offer": offer,
        "places": places.list_places(conn, person_id),
        "companions": companions,
        "busy": (lambda w: w.id if w is not None and w.walker_live else None)(
            walk_store.live_walk_of(conn, person_id)
        ),
        # "Are you OK?" reaches her with her walk page closed only through a channel of her
        # own (any: as her walk page says it, the same to her devices under either PIN).
        "reachable": bool(channels.list_channels(conn, person_id)),
    }


def _offer_id(raw: str | None) -> int | None:
    return counted(raw)


@router.get("/walks/new")
async def new_walk(request: Request, offer: str | None = None) -> Response:
    who = await signed_in(request)
    if who is None:
        return walk_pages.to_sign_in(request)
    person, csrf = who
    svc = services(request)
    now = svc.clock.now_ms()
    try:
        context = await svc.db.read(lambda c: _start_context(c, person.id, _offer_id(offer), now))
    except NotFound as exc:
        return _said(request, exc.message, 404, "/")
    return _start_page(request, person, csrf, context)


def _start_page(
    request: Request,
    person: Person,
    csrf: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    fields: dict[str, str] | None = None,
) -> Response:
    """The form; after a refusal, with what she typed (never her PIN), and the field it was
    about marked (`aria-invalid`), in focus, for her to mend."""
    chosen = [c for c in context["companions"] if c["chosen"]]
    heard = any(c["hears"] for c in chosen)
    svc = services(request)
    return pages_of(request).render(
        request,
        "walk_new.html",
        status=status,
        person=person,
        csrf=csrf,
        warning=None if heard else NOBODY_HEARS,
        nobody_hears=NOBODY_HEARS,
        nobody_chosen=NOBODY_CHOSEN,
        error=error,
        error_field=_FORM_FIELD.get(error_field or "", error_field),
        fields=fields or {},
        centre=picking_centre(svc, context["places"]),
        tiles=svc.config.tiles_url,
        finds_streets=svc.streets is not None,  # "Find a street" (streets/finding.py)
        **context,
    )


def _due_at(hhmm: str, now: int, tz: str) -> int:
    """The next time it is HH:MM where she is: a time the clocks skip that night is when they
    reach it again; of a time they show twice, the next one (at 03:10 in the hour shown twice,
    "03:40" is in half an hour: its first showing is past, and it was read as tomorrow)."""
    try:
        if not re.fullmatch("[0-9]{1,2}:[0-9]{2}", hhmm.strip()):
            raise ValueError(hhmm)
        hour, minute = (int(x) for x in hhmm.split(":"))
        at = time(hour, minute)
    except ValueError:
        raise Invalid("say the time as HH:MM, like 23:30", field="check_at") from None
    zone = words.zone(tz)
    today = datetime.fromtimestamp(now / 1000, zone).date()
    days = (today, today + timedelta(days=1))
    return min(i for day in days for i in local_instants(day, at, zone.key) if i > now)


def _number(text: str, field: str) -> float:
    try:
        value = float(text.strip()[:40])
    except ValueError:
        raise Invalid(f"{field} must be a number", field=field) from None
    if not math.isfinite(value):
        raise Invalid(f"{field} must be a number", field=field)
    return value


def _body_of(
    fields: dict[str, str], person: Person, now: int, streets: StreetMap | None = None
) -> NewWalk:
    """The form, as the API's request to start a walk. A place chosen on the map or typed,
    given no name, is called by its streets when the service has a street map ("near
    Kaivokatu"): her companions' page and their alerts said nothing of where she was going
    (a review saw coordinates, or nothing at all)."""
    if fields.get("pin", "") != fields.get("pin_again", ""):
        raise Invalid("the two PINs differ: type the same PIN twice", field="pin")
    body: dict[str, Any] = {"pin": fields.get("pin", "")}
    where = fields.get("place", "")
    if where == "coords":
        typed = fields.get("coords", "").strip()
        if not typed and streets is not None:
            # A street found by its name brings the map there, and is no place yet: she
            # read "type the place as latitude, longitude" (an outside review).
            raise Invalid("tap your door on the map first", field="coords")
        parts = typed.replace(";", ",").split(",")
        if len(parts) != 2:
            raise Invalid("type the place as latitude, longitude: 60.1611, 24.9447", field="coords")
        lat, lon = _number(parts[0], "latitude"), _number(parts[1], "longitude")
        named = fields.get("coords_name", "").strip()[:100] or _near(streets, lat, lon)
        body["destination"] = {"lat": lat, "lon": lon, "name": named}
    elif (place_id := counted(where)) is not None:
        body["destination"] = {"place_id": place_id}
    elif where != "timer":
        raise Invalid("choose where you are going, or a timer", field="place")
    if fields.get("check_at"):
        body["due_at"] = _due_at(fields["check_at"], now, person.timezone)
    if fields.get("minutes"):
        body["minutes"] = int(_number(fields["minutes"], "minutes"))
    if where == "timer" and "due_at" not in body and "minutes" not in body:
        raise Invalid("a timer walk needs a time to check on you, or minutes", field="check_at")
    if fields.get("from_lat") and fields.get("from_lon"):
        body["from"] = {
            "lat": _number(fields["from_lat"], "from"),
            "lon": _number(fields["from_lon"], "from"),
        }
    if where != "timer" and not ({"from", "minutes", "due_at"} & body.keys()):
        raise Invalid(
            "we don't know where you start: allow this page to know your location, or say "
            "how many minutes you expect to take",
            field="minutes",
        )
    chosen = (
        counted(key[10:]) for key, value in fields.items() if key.startswith("companion_") and value
    )
    body["companions"] = [companion for companion in chosen if companion is not None]
    try:
        return NewWalk.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise Invalid(f"{where}: {first['msg']}", field=str(first["loc"][0])) from None


def _near(streets: StreetMap | None, lat: float, lon: float) -> str | None:
    """ "near Kaivokatu", as the map said the place when she tapped it (None: no name near,
    or no such place: the walk's own check refuses it by name)."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    named = named_near(streets, lat, lon)
    return f"near {named}" if named else None


def _kept_place(fields: dict[str, str]) -> tuple[str, float, float] | None:
    """The place she typed or picked on the map, to keep among her places for next time (she
    ticked "Keep it"): its name, latitude and longitude."""
    if fields.get("keep") != "on" or fields.get("place") != "coords":
        return None
    name = fields.get("coords_name", "").strip()
    if not name:
        raise Invalid("give the place a name to keep it, like Home", field="coords_name")
    lat, lon = (_number(p, "coordinates") for p in fields["coords"].replace(";", ",").split(","))
    return name, lat, lon


@router.post("/walks/new")
async def start(request: Request) -> Response:
    try:
        person, fields = await signed_form(request)
    except DomainError as exc:  # not ours, not signed in any more, or a form we can't read
        return _said(request, exc.message, exc.status, "/walks/new")
    svc = services(request)
    now = svc.clock.now_ms()
    offer_id = _offer_id(fields.get("offer"))
    try:
        body = _body_of(fields, person, now, svc.streets)
        plan = await plan_walk(svc, person, body)
        await prepare_streets(svc, person, plan)
        streets = svc.streets
        keep = _kept_place(fields)

        def begin(tx: Tx) -> int:
            if keep is not None:
                # Kept with the walk, or not at all: a walk that can't start keeps nothing.
                places.add_place(tx, person.id, *keep, None)
            if offer_id is not None:
                return offers.accept(tx, person.id, offer_id, plan, streets)
            return starting.start_walk(tx, person.id, plan, streets)

        walk_id = await svc.writer.run(begin)
    except DomainError as exc:
        try:
            context = await svc.db.read(lambda c: _start_context(c, person.id, offer_id, now))
        except NotFound as gone:
            return _said(request, gone.message, 404, "/")
        kept = {k: v for k, v in fields.items() if not k.startswith("pin")}
        for c in context["companions"]:
            c["chosen"] = c["fixed"] or bool(kept.get(f"companion_{c['id']}"))
        csrf = fields.get("csrf", "")
        page = _start_page(
            request,
            person,
            csrf,
            context,
            status=exc.status,
            error=_PAGE_WORDS.get(exc.message, exc.message),
            error_field=exc.field,
            fields=kept,
        )
        return waits(page, exc)
    return RedirectResponse(f"/walks/{walk_id}", status_code=303)


# The form's field a refusal names, where the walk's own (the API's) is called otherwise.
_FORM_FIELD = {"due_at": "check_at", "destination": "coords", "lat": "coords", "lon": "coords"}
# A refusal's words on the page, where the API's name its fields as code does.
_PAGE_WORDS = {
    "pin must be 4 to 8 digits": "your PIN must be 4 to 8 digits",
    "lat must be between -90 and 90": "that place is not on the map: its latitude must be "
    "between -90 and 90",
    "lon must be between -180 and 180": "that place is not on the map: its longitude must be "
    "between -180 and 180",
}


def _said(request: Request, message: str, status: int, back: str) -> Response:
    return pages_of(request).render(request, "said.html", status=status, message=message, back=back)
