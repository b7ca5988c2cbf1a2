"""The walker's pages: start a walk (or accept an offer), her own walk page, and what she does
from it: report her position from the browser, talk, more time, "I'm inside", end early, SOS,
and answer "Are you OK?" with her PIN.

Everything goes to the use cases the API calls: the walk is planned and started as
POST /api/walks does (api/walks.plan_walk), her PIN moments go through api/walks.with_pin (the
same count of wrong PINs, the same duress PIN), and the page's positions take the one fix path
(usecases/fixes.record_fixes) as a device of hers named "This browser".

After her duress PIN the page is built from the walker's projection only (views.walk_view for
Audience.WALKER, the walker's timeline): what she sees is what her real PIN would have shown.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import from_our_pages, same_origin, services
from walkwithme.api.devices import MAX_BATCH
from walkwithme.api.errors import error_body
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.api.walks import NewWalk, plan_walk, prepare_streets, with_pin
from walkwithme.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from walkwithme.domain.people import ContactRole, ContactState
from walkwithme.domain.walks import MAX_EXTENSION_MIN, QUICK_REPLIES, check_extension
from walkwithme.store.writer import Tx
from walkwithme.usecases import (
    alarms,
    alerts,
    contacts,
    moments,
    offer_views,
    offers,
    places,
    walks,
)
from walkwithme.usecases.accounts import Person
from walkwithme.usecases.browser import browser_device
from walkwithme.usecases.fixes import parse_batch, record_fixes
from walkwithme.usecases.moments import Pin
from walkwithme.usecases.timeline import Audience
from walkwithme.web import walk_pages, walker_words, words
from walkwithme.web.render import pages_of
from walkwithme.web.session import signed_form, signed_in
from walkwithme.web.walk_context import Seen, measure_left, walk_context

router = APIRouter(include_in_schema=False)

NOBODY_HEARS = (
    "Nobody would hear an alarm: none of the companions you chose has a notification channel "
    "that has worked yet. Ask them to add one and send a test, or choose someone who has."
)
EXTEND_CHOICES = (5, 10, 15, 30)


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
    hearing = alerts.who_would_hear(conn, ids)
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
            walks.live_walk_of(conn, person_id)
        ),
    }


def _offer_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


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
    fields: dict[str, str] | None = None,
) -> Response:
    chosen = [c for c in context["companions"] if c["chosen"]]
    heard = any(c["hears"] for c in chosen)
    return pages_of(request).render(
        request,
        "walk_new.html",
        status=status,
        person=person,
        csrf=csrf,
        warning=None if heard else NOBODY_HEARS,
        nobody_hears=NOBODY_HEARS,
        error=error,
        fields=fields or {},
        **context,
    )


def _due_at(hhmm: str, now: int, tz: str) -> int:
    """The next time it is HH:MM where she is."""
    try:
        hour, minute = (int(x) for x in hhmm.split(":"))
        local = datetime.fromtimestamp(now / 1000, words.zone(tz))
        at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise Invalid("say the time as HH:MM, like 23:30", field="check_at") from None
    if at.timestamp() * 1000 <= now:
        at += timedelta(days=1)
    return int(at.timestamp() * 1000)


def _number(text: str, field: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise Invalid(f"{field} must be a number", field=field) from None


def _body_of(fields: dict[str, str], person: Person, now: int) -> NewWalk:
    """The form, as the API's request to start a walk."""
    if fields.get("pin", "") != fields.get("pin_again", ""):
        raise Invalid("the two PINs differ: type the same PIN twice", field="pin")
    body: dict[str, Any] = {"pin": fields.get("pin", "")}
    where = fields.get("place", "")
    if where == "coords":
        parts = fields.get("coords", "").replace(";", ",").split(",")
        if len(parts) != 2:
            raise Invalid("type the place as latitude, longitude: 60.1611, 24.9447", field="coords")
        body["destination"] = {
            "lat": _number(parts[0], "latitude"),
            "lon": _number(parts[1], "longitude"),
            "name": fields.get("coords_name", "").strip()[:100] or None,
        }
    elif where.isdigit():
        body["destination"] = {"place_id": int(where)}
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
    body["companions"] = [
        int(key.removeprefix("companion_"))
        for key, value in fields.items()
        if key.startswith("companion_") and key[10:].isdigit() and value
    ]
    try:
        return NewWalk.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


@router.post("/walks/new")
async def start(request: Request) -> Response:
    try:
        person, fields = await signed_form(request)
    except Forbidden as exc:
        return _said(request, exc.message, 403, "/walks/new")
    svc = services(request)
    now = svc.clock.now_ms()
    offer_id = _offer_id(fields.get("offer"))
    try:
        body = _body_of(fields, person, now)
        plan = await plan_walk(svc, person, body)
        await prepare_streets(svc, person, plan)
        streets = svc.streets
        if offer_id is not None:
            oid = offer_id
            walk_id = await svc.writer.run(
                lambda tx: offers.accept(tx, person.id, oid, plan, streets)
            )
        else:
            walk_id = await svc.writer.run(
                lambda tx: walks.start_walk(tx, person.id, plan, streets)
            )
    except DomainError as exc:
        try:
            context = await svc.db.read(lambda c: _start_context(c, person.id, offer_id, now))
        except NotFound as gone:
            return _said(request, gone.message, 404, "/")
        kept = {k: v for k, v in fields.items() if not k.startswith("pin")}
        for c in context["companions"]:
            c["chosen"] = c["fixed"] or bool(kept.get(f"companion_{c['id']}"))
        csrf = fields.get("csrf", "")
        return _start_page(
            request, person, csrf, context, status=exc.status, error=exc.message, fields=kept
        )
    return RedirectResponse(f"/walks/{walk_id}", status_code=303)


@router.post("/offers/{offer_id}/decline")
async def decline(offer_id: Id, request: Request) -> Response:
    try:
        person, fields = await signed_form(request)
        note = fields.get("note", "").strip() or None
        await services(request).writer.run(
            lambda tx: offers.decline(tx, person.id, offer_id, note, None)
        )
    except DomainError as exc:
        return _said(request, exc.message, exc.status, "/")
    return RedirectResponse("/", status_code=303)


def _said(request: Request, message: str, status: int, back: str) -> Response:
    return pages_of(request).render(request, "said.html", status=status, message=message, back=back)


# -- her walk page -----------------------------------------------------------------------------


def _walker_seen(conn: Connection, walk_id: int, person_id: int) -> Any:
    seen, audience = walk_pages.seen_by(conn, walk_id, person_id)
    if audience is not Audience.WALKER:
        return None
    walk = walks.get_walk(conn, walk_id)
    assert walk is not None
    return seen, walk


@router.get("/walks/{walk_id}")
async def walk_page(walk_id: Id, request: Request) -> Response:
    """Her own walk: the walker's page. Anyone else gets the companion's (walk_pages)."""
    who = await signed_in(request)
    if who is None:
        return walk_pages.to_sign_in(request)
    person, csrf = who
    svc = services(request)
    try:
        found = await svc.db.read(lambda c: _walker_seen(c, walk_id, person.id))
    except NotFound:
        return walk_pages.not_found(request)
    if found is None:
        return await walk_pages.walk_page(walk_id, request)
    mine, walk = found
    # Her page says "you": the sentences are hers (walker_words), the name only a stand-in.
    seen = Seen({**mine.view, "walker": {"name": "You"}}, mine.events, mine.fixes)
    now = svc.clock.now_ms()
    left = await measure_left(seen, svc.streets)
    context = walk_context(
        seen,
        left_m=left,
        now=now,
        tz=person.timezone,
        can_act=False,
        urls={
            "live": f"/api/walks/{walk_id}/live",
            "map": f"/api/walks/{walk_id}/map",
            "tiles": svc.config.tiles_url,
        },
    )
    _in_her_words(context, seen.events, now, person.timezone)
    live = bool(context["live"])
    asked = walk.walker_check_reason
    context["data"].update(
        {
            "fixes_url": f"/walks/{walk_id}/fixes",
            "sos_url": f"/walks/{walk_id}/sos",
            "walk_id": walk_id,
            "csrf": csrf,
        }
    )
    return pages_of(request).render(
        request,
        "walker_walk.html",
        person=person,
        csrf=csrf,
        action=f"/walks/{walk_id}",
        asked=live and asked is not None,
        asked_why=words.reason(asked) if asked else None,
        in_alarm=live and walk.walker_state.value == "alarm",
        companions=seen.view.get("companions", []),
        quick_replies=[t for t in QUICK_REPLIES if t != "Are you OK?"] if live else (),
        extend_choices=EXTEND_CHOICES,
        max_extension=MAX_EXTENSION_MIN,
        **{k: v for k, v in context.items() if k != "quick_replies"},
    )


def _in_her_words(context: dict[str, Any], events: list[dict[str, Any]], now: int, tz: str) -> None:
    """The companion's sentences ("Mira is on the way"), said to her ("You are on the way")."""
    state = str(context["state"])
    context["name"] = "you"
    context["headline"] = walker_words.state_sentence(state)
    for item in context["timeline"]:
        item["text"] = walker_words.event_sentence(item)
    if context["ending"] is not None:
        last = next((e for e in reversed(events) if e["kind"] in ("inside", "ended")), None)
        ending = walker_words.state_sentence(state)
        if last is not None:
            ending += f" ({words.when(int(last['at']), now, tz)})"
            if last.get("note"):
                ending += f": “{last['note']}”"
        context["ending"] = ending + "."
    data = context["data"]
    data["words"] = walker_words.tables()


# -- her browser reports where she is ----------------------------------------------------------


def _json_error(message: str, status: int) -> Response:
    return JSON(error_body(message), status_code=status)


@router.post("/walks/{walk_id}/fixes")
async def page_fixes(walk_id: Id, request: Request) -> Response:
    """Positions from her walk page, through the one fix path, as her device "This browser".
    Signed in by her session; the request must come from our pages and carry the session's
    CSRF token (header X-CSRF-Token). Answers as POST /api/fixes does, with the service's
    clock (`now`) so the page can stamp its fixes in the service's time."""
    if not (from_our_pages(request) or same_origin(request, required=True)):
        return _json_error("cross-origin request refused", 403)
    who = await signed_in(request)
    if who is None:
        return _json_error("sign in first", 401)
    person, csrf = who
    if not hmac.compare_digest(request.headers.get("x-csrf-token", ""), csrf):
        return _json_error("this page is out of date: reload it", 403)
    svc = services(request)
    try:
        await svc.db.read(lambda c: _hers(c, walk_id, person.id))
        payload = orjson.loads(await request.body())
    except NotFound:
        return _json_error("no such walk", 404)
    except orjson.JSONDecodeError:
        return _json_error("body is not valid JSON", 400)
    items = payload.get("fixes") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return _json_error('send {"fixes": [...]}', 422)
    if len(items) > MAX_BATCH:
        return _json_error(f"at most {MAX_BATCH} fixes a request", 413)
    parsed = parse_batch(items, svc.clock.now_ms())

    def job(tx: Tx) -> list[Any]:
        return record_fixes(tx, browser_device(tx, person.id), parsed, svc.streets)

    try:
        outcomes = await svc.writer.run(job)
    except Conflict:
        return JSON(
            error_body("the walk changed meanwhile; send again"),
            status_code=503,
            headers={"Retry-After": "1"},
        )
    results = [o.as_json(i) for i, o in enumerate(outcomes)]
    return JSON({"results": results, "now": svc.clock.now_ms()})


def _hers(conn: Connection, walk_id: int, person_id: int) -> None:
    """Her own walk, or the same NotFound as a walk that doesn't exist."""
    _walk, audience = walks.visible_walk(conn, walk_id, person_id)
    if audience is not Audience.WALKER:
        raise NotFound("no such walk")


# -- her moments: with her PIN, and SOS without -------------------------------------------------


async def _with_her_pin(request: Request, walk_id: int, action: str, job: Any) -> Response:
    back = f"/walks/{walk_id}"
    try:
        person, fields = await signed_form(request)
        svc = services(request)
        await svc.db.read(lambda c: _hers(c, walk_id, person.id))
        pin = fields.get("pin", "")[:16]
        me = person.id
        await with_pin(svc, walk_id, me, pin, action, lambda tx, which: job(tx, which, me, fields))
    except NotFound:
        return walk_pages.not_found(request)
    except Forbidden as exc:
        if exc.field == "pin":
            return _said(request, "That PIN is not right. Try again.", 403, back)
        return _said(request, exc.message, exc.status, back)
    except DomainError as exc:
        return _said(request, exc.message, exc.status, back)
    return RedirectResponse(back, status_code=303)


@router.post("/walks/{walk_id}/inside")
async def inside(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, fields: dict[str, str]) -> None:
        moments.inside(tx, walk_id, me, fields.get("note") or None, which)

    return await _with_her_pin(request, walk_id, "inside", job)


@router.post("/walks/{walk_id}/end")
async def end(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, fields: dict[str, str]) -> None:
        moments.end(tx, walk_id, me, fields.get("note") or None, which)

    return await _with_her_pin(request, walk_id, "end", job)


@router.post("/walks/{walk_id}/extend")
async def extend(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, fields: dict[str, str]) -> int:
        minutes = int(fields.get("minutes", "0")) if fields.get("minutes", "").isdigit() else 0
        check_extension(minutes)
        return moments.extend(tx, walk_id, me, minutes, which)

    return await _with_her_pin(request, walk_id, "extend", job)


@router.post("/walks/{walk_id}/ok")
async def ok(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, _fields: dict[str, str]) -> str:
        return moments.ok(tx, walk_id, me, which)

    return await _with_her_pin(request, walk_id, "ok", job)


@router.post("/walks/{walk_id}/sos")
async def sos(walk_id: Id, request: Request) -> Response:
    """Her SOS from the page (held, then not cancelled: static/sos.js). No PIN."""
    back = f"/walks/{walk_id}"
    try:
        person, _fields = await signed_form(request)
        await services(request).writer.run(
            lambda tx: alarms.sos(tx, walk_id, person.id), urgent=True
        )
    except NotFound:
        return walk_pages.not_found(request)
    except DomainError as exc:
        return _said(request, exc.message, exc.status, back)
    return RedirectResponse(back, status_code=303)
