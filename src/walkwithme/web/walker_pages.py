"""The walker's own walk page, and what she does from it: report her position from the
browser, talk, more time, "I'm inside", end early, SOS, and answer "Are you OK?" with her PIN.
(Starting a walk is web/walk_start.py.)

Everything goes to the use cases the API calls: her PIN moments go through api/walks.with_pin
(the same count of wrong PINs, the same duress PIN), and the page's positions take the one fix
path (usecases/fixes.record_fixes) as a device of hers named "This browser".

After her duress PIN the page is built from the walker's projection only (views.walk_view for
Audience.WALKER, the walker's timeline): what she sees is what her real PIN would have shown.
"""

from __future__ import annotations

import hmac
from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import from_our_origin, services
from walkwithme.api.errors import error_body
from walkwithme.api.fixes_door import Answer, fixes_of, take_fixes
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.api.walks import refused_as_locked, with_pin
from walkwithme.domain.errors import DomainError, Forbidden, Invalid, NotFound
from walkwithme.domain.rules import Reason
from walkwithme.domain.walks import MAX_EXTENSION_MIN, QUICK_REPLIES, check_extension
from walkwithme.notify.messages import said_reason
from walkwithme.store.tx import Tx
from walkwithme.usecases import (
    alarms,
    channels,
    cover_channels,
    looks,
    moments,
    offer_views,
    shares,
    walk_store,
    walks,
)
from walkwithme.usecases.browser import browser_device
from walkwithme.usecases.fixes import record_fixes
from walkwithme.usecases.moments import Pin
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.web import walk_pages, walker_words, words
from walkwithme.web.manage_common import another_time, counted, next_walks_said, sentence
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import signed_form, signed_in
from walkwithme.web.walk_context import Seen, measure_left, walk_context

router = APIRouter(include_in_schema=False)

EXTEND_CHOICES = (5, 10, 15, 30)


def said_page(request: Request, message: str, status: int, back: str) -> Response:
    return pages_of(request).render(request, "said.html", status=status, message=message, back=back)


# -- her walk page -----------------------------------------------------------------------------


class HerWalk(NamedTuple):
    """What her walk page is made of, read in one go."""

    seen: Seen  # the walk as her devices are shown it
    walk: Walk
    looked: list[dict[str, Any]]  # who looked at it
    links: list[dict[str, Any]]  # her share links
    ahead: list[dict[str, Any]]  # the next walks she offered (said once this one is over)
    heard: bool  # a companion of hers has alerts that work
    reachable: bool  # she has an alert channel of her own ("Are you OK?" with the page closed)


def _walker_seen(conn: Connection, walk_id: int, person_id: int, now_ms: int) -> HerWalk | None:
    seen, audience = walk_pages.seen_by(conn, walk_id, person_id)
    if audience is not Audience.WALKER:
        return None
    walk = walk_store.get_walk(conn, walk_id)
    assert walk is not None
    return HerWalk(
        seen,
        walk,
        looks.of_walk(conn, walk),
        shares.list_links(conn, walk_id, now_ms),
        [n for n in offer_views.next_walks(conn, person_id) if n["made_by_me"]],
        cover_channels.heard_as_shown(conn, walk),
        # Any channel she keeps, working or not: what the service's own deliveries made of
        # it (broken) may differ after her duress PIN, and her page must not.
        bool(channels.list_channels(conn, person_id)),
    )


@router.get("/walks/{walk_id}")
async def walk_page(walk_id: Id, request: Request) -> Response:
    """Her own walk: the walker's page. Anyone else gets the companion's (walk_pages)."""
    return await her_walk_page(walk_id, request)


async def her_walk_page(
    walk_id: int,
    request: Request,
    said: str | None = None,
    status: int = 200,
    new_link: dict[str, Any] | None = None,
    *,
    pin_refused: bool = False,
    typed: dict[str, dict[str, str]] | None = None,
) -> Response:
    """Her walk page; `said`: what her last action met, said at its top (a wrong PIN keeps
    her on her page, with its SOS and its PIN pad, instead of a page of its own);
    `new_link`: a share link she just made, shown this once (only its hash is kept);
    `typed`: what she had typed in the form that came back refused, by its action (never
    her PIN), given back in it."""
    who = await signed_in(request)
    if who is None:
        return walk_pages.to_sign_in(request)
    person, csrf = who
    svc = services(request)
    try:
        now = svc.clock.now_ms()
        found = await svc.db.read(lambda c: _walker_seen(c, walk_id, person.id, now))
    except NotFound:  # not hers, and not one he may follow: over, or nothing at all
        return await walk_pages.over_or_not_found(request, walk_id, person)
    if found is None:
        return await walk_pages.walk_page(walk_id, request)
    mine, walk, looked, links, ahead, heard, reachable = found
    # Her page says "you": the sentences are hers (walker_words), the name only a stand-in.
    seen = Seen({**mine.view, "walker": {"name": "You"}}, mine.events, mine.fixes)
    left = await measure_left(seen, svc.streets)
    context = walk_context(
        seen,
        left_m=left,
        now=now,
        tz=person.timezone,
        can_act=False,
        me=person.id,
        urls={
            "live": f"/api/walks/{walk_id}/live",
            "map": f"/api/walks/{walk_id}/map",
            "tiles": svc.config.tiles_url,
            # Her distance left, measured along the streets as she moves (as his page does).
            **({"near_url": f"/api/walks/{walk_id}/near"} if svc.streets else {}),
        },
    )
    _in_her_words(context, seen.events, person.id)
    if not heard:
        # Not "your companions are told" when none of them has alerts that work: she must
        # know to call someone (the same for either of her PINs: it is their channels).
        context["data"]["words"]["states"]["alarm"] = walker_words.UNHEARD_ALARM
        if context["state"] == "alarm":
            context["headline"] = walker_words.UNHEARD_ALARM
    context["looks"] = [  # newest first, as the timeline (her page's script keeps it up)
        {
            "at": x["at"],
            "when": words.when(int(x["at"]), now, person.timezone),
            "text": walker_words.look_sentence(x),
        }
        for x in reversed(looked)
    ]
    kept = mine.view.get("kept")
    context["kept_until"] = (
        words.when(int(kept["until"]), now, person.timezone)
        if kept and kept.get("until") and not kept.get("forgotten")
        else None
    )
    context["kept_for_alarm"] = bool(kept and kept.get("for_its_alarm"))
    live = bool(context["live"])
    context["next_walks"] = [] if live else next_walks_said(ahead, now, person.timezone)
    context["ended_by_other"] = not live and _ended_by_other(seen.events, person.id)
    asked = walk.walker_judged.check_reason
    context["data"].update(
        {
            "fixes_url": f"/walks/{walk_id}/fixes",
            "looks_url": f"/api/walks/{walk_id}/looks",
            "sos_url": f"/walks/{walk_id}/sos",
            "walk_id": walk_id,
            "csrf": csrf,
        }
    )
    # An alarm three wrong PINs raised: no PIN ends it, so no pad asks for one, and a PIN she
    # just gave is not answered "try again" (the same words whichever PIN it was).
    locked = live and walk.walker_alarm_reason == Reason.WRONG_PINS.value
    if locked and pin_refused:
        said = walker_words.LOCKED_SAID
    in_alarm = live and walk.walker_state.value == "alarm"
    answer_by = walker_words.answer_by(walk, person.timezone) if live and asked else None
    # A question waiting: her tab says it (walker_check.js keeps it so as the walk changes).
    waiting = live and asked is not None and not in_alarm
    # ...and how long she has left to answer it, counted down (static/time_left.js).
    until = walker_words.answer_by_ms(walk) if waiting else None
    asked_title = walker_words.asked_title(answer_by) if waiting else None
    # A companion's newest message, under SOS (its question in her tab, unless hers waits).
    heard_said = walker_words.heard(seen.events, person.id, person.timezone) if live else None
    called = heard_said["text"] if heard_said and heard_said["call"] and not in_alarm else None
    # "Thank you: … you are OK" is not said above a question (or an alarm) that came since.
    # More time is said in an alarm too (it does not end it), from her own timeline: what
    # she got, the same whichever PIN she gave.
    asked_done = request.query_params.get("done", "") if said is None else ""
    done = DONE.get(asked_done) if not (waiting or in_alarm) else None
    if asked_done == "extended" and not waiting:
        done = walker_words.more_time_done(seen.events, person.timezone)
    return pages_of(request).render(
        request,
        "walker_walk.html",
        status=status,
        said=said,
        said_pin=pin_refused,  # a PIN refused: walker_check.js says what became of the question
        done=done,
        person=person,
        csrf=csrf,
        action=f"/walks/{walk_id}",
        heard=heard,
        unheard=walker_words.UNHEARD_WALK,
        asked=live and asked is not None,
        # (A timer walk's in its own words: "the time set for the walk ran out", not "late
        # to arrive" where she has nowhere to arrive; her companions' page said so already.)
        asked_why=said_reason(asked, timer=walk.destination is None) if asked else None,
        answer_by=answer_by,
        answer_by_ms=until,
        asked_title=asked_title,
        tab_title=asked_title or called,
        heard_said=heard_said,
        in_alarm=in_alarm,
        reachable=reachable,
        locked=locked,
        locked_title=walker_words.LOCKED_TITLE,
        locked_why=walker_words.LOCKED_WHY,
        companions=seen.view.get("companions", []),
        quick_replies=[t for t in QUICK_REPLIES if t != "Are you OK?"] if live else (),
        extend_choices=EXTEND_CHOICES,
        share_choices=walker_words.SHARE_CHOICES,
        links=walker_words.links_said(links, now, person.timezone),
        new_link=new_link,
        max_extension=MAX_EXTENSION_MIN,
        typed=typed or {},
        **{k: v for k, v in context.items() if k != "quick_replies"},
    )


def _ended_by_other(events: list[dict[str, Any]], me: int) -> bool:
    """Whether someone following her walk ended it ("Mira is safe: end the walk too"), not she:
    her page then keeps a way to call for help (a review: a mis-tap of his, mid-street, took
    her SOS away with "You are safe")."""
    closing = next((e for e in reversed(events) if e["kind"] in words.CLOSING_KINDS), None)
    by = (closing or {}).get("by") or {}
    return bool(by) and by.get("id") != me


def _in_her_words(context: dict[str, Any], events: list[dict[str, Any]], me: int) -> None:
    """The companion's sentences ("Mira is on the way"), said to her ("You are on the way")."""
    timer = context["data"]["view"]["kind"] == "timer"
    context["name"] = "you"
    context["headline"] = walker_words.state_sentence(
        words.headline_state(str(context["state"]), events, timer)
    )
    for item, event in zip(context["timeline"], reversed(events), strict=True):
        item["text"] = walker_words.event_sentence(event, me)
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
    if not from_our_origin(request):
        return _json_error("cross-origin request refused", 403)
    who = await signed_in(request)
    if who is None:
        return _json_error("sign in first", 401)
    person, csrf = who
    if not hmac.compare_digest(request.headers.get("x-csrf-token", ""), csrf):
        return _json_error("this page is out of date: reload it", 403)
    svc = services(request)
    try:
        await svc.db.read(lambda c: hers(c, walk_id, person.id))
    except NotFound:
        return _json_error("no such walk", 404)
    items = fixes_of(await request.body(), batch_only=True)
    if isinstance(items, Answer):
        return JSON(items.body, status_code=items.status)
    answer = await take_fixes(
        svc,
        *items,
        lambda tx, parsed: record_fixes(tx, browser_device(tx, person.id), parsed, svc.streets),
    )
    if answer.status == 200:
        answer.body["now"] = svc.clock.now_ms()
    return JSON(answer.body, status_code=answer.status, headers=answer.headers)


def hers(conn: Connection, walk_id: int, person_id: int) -> None:
    """Her own walk, or the same NotFound as a walk that doesn't exist."""
    _walk, audience = walks.visible_walk(conn, walk_id, person_id)
    if audience is not Audience.WALKER:
        raise NotFound("no such walk")


# -- her moments: with her PIN, and SOS without -------------------------------------------------


WRONG_PIN = "That PIN is not right. Try again."


# What her page says after an action her PIN took (`?done=`): the same words whichever of her
# PINs it was.
DONE = {"ok": "Thank you: the people following your walk see that you are OK."}


async def _with_her_pin(
    request: Request, walk_id: int, action: str, job: Any, done: str | None = None
) -> Response:
    back = f"/walks/{walk_id}"
    fields: dict[str, str] = {}
    try:
        person, fields = await signed_form(request)
        svc = services(request)
        await svc.db.read(lambda c: hers(c, walk_id, person.id))
        pin = fields.get("pin", "")[:16]
        me = person.id
        await with_pin(svc, walk_id, me, pin, action, lambda tx, which: job(tx, which, me, fields))
    except NotFound:
        return walk_pages.not_found(request)
    except Forbidden as exc:
        if exc.field == "pin" or refused_as_locked(exc):
            # Her page again, as it is now: after a third wrong PIN (or any PIN during that
            # alarm) it says who can end the alarm, and asks for no PIN, not "try again".
            # What she typed is kept but the PIN, as /walks/new keeps it: a wrong PIN wiped her
            # last word and her next walk (an outside review).
            return await her_walk_page(
                walk_id, request, WRONG_PIN, 403, pin_refused=True, typed=_kept(action, fields)
            )
        return waits(said_page(request, exc.message, exc.status, back), exc)
    except Invalid as exc:
        # A slip in what she filled in (her next walk's time, more time): said on her own
        # page, with its SOS and the form to try again, as a wrong PIN is.
        said = words.full_stop(sentence(exc.message))
        return await her_walk_page(walk_id, request, said, 422, typed=_kept(action, fields))
    except DomainError as exc:
        return waits(said_page(request, exc.message, exc.status, back), exc)
    return RedirectResponse(f"{back}?done={done}" if done else back, status_code=303)


def _kept(action: str, fields: dict[str, str]) -> dict[str, dict[str, str]]:
    """What she typed in the form of `action`, to give back in it: all but her PIN."""
    return {action: {k: v for k, v in fields.items() if k not in ("pin", "csrf")}}


@router.post("/walks/{walk_id}/inside")
async def inside(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, fields: dict[str, str]) -> None:
        next_walk = another_time(fields, "next", "next walk")
        moments.inside(tx, walk_id, me, fields.get("note") or None, which, next_walk)

    return await _with_her_pin(request, walk_id, "inside", job)


@router.post("/walks/{walk_id}/end")
async def end(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, fields: dict[str, str]) -> None:
        moments.end(tx, walk_id, me, fields.get("note") or None, which)

    return await _with_her_pin(request, walk_id, "end", job)


@router.post("/walks/{walk_id}/extend")
async def extend(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, fields: dict[str, str]) -> int:
        minutes = counted(fields.get("minutes")) or 0
        check_extension(minutes)
        return moments.extend(tx, walk_id, me, minutes, which)

    return await _with_her_pin(request, walk_id, "extend", job, done="extended")


@router.post("/walks/{walk_id}/ok")
async def ok(walk_id: Id, request: Request) -> Response:
    def job(tx: Tx, which: Pin, me: int, _fields: dict[str, str]) -> str:
        return moments.ok(tx, walk_id, me, which)

    return await _with_her_pin(request, walk_id, "ok", job, done="ok")


@router.post("/walks/{walk_id}/sos")
async def sos(walk_id: Id, request: Request) -> Response:
    """Her SOS from the page (held, then not cancelled: static/sos.js). No PIN."""
    back = f"/walks/{walk_id}"
    svc = services(request)
    try:
        person, _fields = await signed_form(request)
        await svc.writer.run(lambda tx: alarms.sos(tx, walk_id, person.id), urgent=True)
    except NotFound:
        return walk_pages.not_found(request)
    except DomainError as exc:
        return waits(said_page(request, exc.message, exc.status, back), exc)
    if "application/json" in request.headers.get("accept", ""):
        # Her page's script (static/sos.js) says what it met where she pressed it.
        heard = await svc.db.read(
            lambda c: cover_channels.heard_as_shown(c, walk_store.get_walk(c, walk_id))
        )
        return JSON({"said": walker_words.sos_sent(heard)})
    return RedirectResponse(back, status_code=303)
