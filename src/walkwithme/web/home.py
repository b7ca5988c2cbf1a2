"""The companion's home: the walks he follows now, the offers he made and how they went, and
the people waiting for his answer to be their contact."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import services
from walkwithme.api.errors import error_body
from walkwithme.api.params import Id
from walkwithme.api.responses import JSON
from walkwithme.domain.errors import DomainError, NotFound
from walkwithme.domain.walks import WalkState
from walkwithme.store.tx import Tx
from walkwithme.usecases import channels, contacts, offer_views, walks
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.web import words
from walkwithme.web.manage_common import asks_you, counted, next_walk_sentence, next_walks_said
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import signed_form, signed_in
from walkwithme.web.walker_home import walker_part

router = APIRouter(include_in_schema=False)

# A promise's time is "It's time" for this long after it; then "It was time" (until she walks).
IT_IS_TIME_MS = 30 * 60_000


def promise_sentence(other: str, made_by_me: bool, next_walk: bool) -> str:
    """A promise whose time came, in the words it was made with: a next walk she offered
    when inside is an invitation ("would like to walk together again"), a decline's a
    promise."""
    if next_walk:
        return next_walk_sentence(other, made_by_me)
    if made_by_me:
        return f"You promised {other} to walk together"
    return f"{other} promised to walk with you"


def following_now(conn: Connection, person_id: int, now: int, tz: str) -> list[dict[str, Any]]:
    """The live walks he follows, as his home lists them (and, those in alarm, as any walk
    page of his says them: `needs_you`)."""
    following = []
    for walk, audience in walks.walks_of(conn, person_id):
        if audience is Audience.COMPANION and walk.live:
            name = walks.person_name(conn, walk.walker_id)  # all it needs of her (polled)
            following.append(
                {
                    "id": walk.id,
                    "name": name,
                    "sentence": words.state_sentence(walk.state.value, name),
                    "alarm": walk.state.value == "alarm",
                    "since": words.when(walk.started_at, now, tz),
                    "started_at": walk.started_at,
                    # In an alarm: why, and since when (not when her walk started).
                    "why": words.reason(walk.judged.alarm_reason or "")
                    if walk.judged.alarm_reason
                    else None,
                    "alarm_since": words.when(walk.alarm_since, now, tz),
                    "alarm_at": walk.alarm_since,
                    "asked": _asked(walk, name, tz),
                }
            )
    return following


def _asked(walk: Walk, name: str, tz: str) -> str | None:
    """Her "Are you OK?" waiting for her answer, as his walk page says it (and when the alarm
    comes without one): his home card said only "Mira is on the way" meanwhile (an outside
    review), though a call now may be what she needs."""
    if walk.state not in (WalkState.ACTIVE, WalkState.AT_DOOR) or walk.judged.check_reason is None:
        return None
    if walk.judged.check_asked_at is None:
        return None
    question = {
        "reason": walk.judged.check_reason,
        "answer_by": walk.answer_by(walk.judged.check_asked_at, walk.judged.check_reason),
        "timer": walk.destination is None,
    }
    return words.asked(question, name, tz)


def alerts_reach(conn: Connection, person_id: int) -> bool:
    """Whether an alert could reach her with this page closed: a channel of hers, whatever
    its sends did lately. Not "one that is not broken", as her walk page says it too (it must
    read the same to her devices after her duress PIN, whose silent alarm's sends are not
    hers to see; walker_pages)."""
    return bool(channels.list_channels(conn, person_id))


def looks_after(conn: Connection, person_id: int) -> str | None:
    """Whom she is to others: "companion" when she follows someone's walks, "guardian" when she
    only hears of their alarms, None when nobody counts on her."""
    roles = {
        c["role"]
        for c in contacts.list_contacts(conn, person_id)
        if c["direction"] == "asked_me" and c["state"] == "accepted"
    }
    if "companion" in roles:
        return "companion"
    return "guardian" if "guardian" in roles else None


def _home(conn: Connection, person_id: int, now: int, tz: str) -> dict[str, Any]:
    following = following_now(conn, person_id, now, tz)
    role = looks_after(conn, person_id)
    # Someone counts on her and no alert would reach her: she is told so, once, at the top.
    unheard = role if role and not alerts_reach(conn, person_id) else None
    offers = []
    for offer in offer_views.sent(conn, person_id, now)[:10]:
        whom = (offer.get("to") or {}).get("name", "someone")
        offers.append(
            {
                "to": whom,
                "at": words.when(offer["at"], now, tz) if offer.get("at") else "now",
                "state": words.offer_state(str(offer["state"]), whom),
                "note": offer.get("note"),
            }
        )
    waiting = [
        {
            "id": c["id"],
            "name": c["person"]["name"],
            "asks": asks_you(c["person"]["name"], c["role"]),
        }
        for c in contacts.list_contacts(conn, person_id)
        if c["direction"] == "asked_me" and c["state"] == "pending"
    ]
    mine = walker_part(conn, person_id, now, tz)
    promised = [
        {
            "sentence": promise_sentence(p["with"], p["made_by_me"], p["next_walk"]),
            "at": words.when(p["promise_at"], now, tz),
            "now": now - p["promise_at"] <= IT_IS_TIME_MS,
        }
        for p in offer_views.promises_due(conn, person_id, now)
    ]
    upcoming = next_walks_said(offer_views.next_walks(conn, person_id), now, tz)
    return {
        "unheard": unheard,
        "upcoming": upcoming,
        "following": following,
        "offers": offers,
        "waiting": waiting,
        "promised": promised,
        **mine,
    }


def _home_poll(conn: Connection, person_id: int, now: int, tz: str) -> dict[str, Any]:
    """What his home page keeps current (static/home.js): every live walk he follows as a
    companion, calm or in alarm (who, how it goes and since when, never where), the service's
    time to count "... ago" from, and whether an alert would reach him with the page closed."""
    keys = ("id", "name", "sentence", "alarm", "why", "started_at", "alarm_at", "asked")
    return {
        "now": now,
        "walks": [{k: w[k] for k in keys} for w in following_now(conn, person_id, now, tz)],
        "alerts": alerts_reach(conn, person_id),
    }


@router.get("/needs-you")
async def needs_you(request: Request) -> Response:
    """The walks he follows that are in an alarm now, for the walk page he has open as a
    companion (static/other_alarms.js asks every 5 s): following one walk, he would not have seen
    another's alarm without his home page, or an alert. Who and why, never where.

    `?all=1`, for his home page: all the walks he follows now, calm ones too (`_home_poll`)."""
    who = await signed_in(request)
    if who is None:
        return JSON(error_body("sign in first"), status_code=401)
    person = who[0]
    svc = services(request)
    now = svc.clock.now_ms()
    if request.query_params.get("all"):
        return JSON(await svc.db.read(lambda c: _home_poll(c, person.id, now, person.timezone)))
    found = await svc.db.read(lambda c: following_now(c, person.id, now, person.timezone))
    keys = ("id", "name", "sentence", "why", "alarm_since")
    return JSON([{k: w[k] for k in keys} for w in found if w["alarm"]])


@router.get("/")
async def home(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return RedirectResponse("/signin", status_code=303)
    person, csrf = who
    svc = services(request)
    now = svc.clock.now_ms()
    context = await svc.db.read(lambda c: _home(c, person.id, now, person.timezone))
    # "... and hear of them through your alerts" only if an alert would reach them; if not,
    # the notice under it says so, once.
    heard = context["unheard"] is None
    done = await answer_said(request, person.id, heard)
    return pages_of(request).render(
        request, "home.html", person=person, csrf=csrf, done=done, now=now, **context
    )


async def _answer(request: Request, contact_id: int, accept: bool) -> Response:
    try:
        person, _fields = await signed_form(request)

        def job(tx: Tx) -> dict[str, Any]:
            return contacts.answer(tx, person.id, contact_id, accept=accept)

        answered = await services(request).writer.run(job)
    except DomainError as exc:
        page = pages_of(request).render(
            request, "said.html", status=exc.status, message=exc.message, back="/"
        )
        return waits(page, exc)
    return RedirectResponse(answered_at("/", answered, accept), status_code=303)


def answered_at(page: str, answered: dict[str, Any], accept: bool) -> str:
    """Back to `page`, saying what the answer did (`answer_said`)."""
    done = answered["role"] if accept else "declined"
    return f"{page}?done={done}&contact={answered['id']}"


async def answer_said(request: Request, person_id: int, heard: bool) -> str | None:
    """What the page says after an answer to a request (`?done=`, `?contact=`): a decline
    by the asker's name, and what they learn of it (nothing: contacts.ask_alike answers
    their next request alike, and makes none for a week)."""
    answered = request.query_params.get("done", "")
    if answered not in ANSWERED:
        return None
    general = (ANSWERED if heard else ANSWERED_UNHEARD).get(answered) or ANSWERED[answered]
    contact_id = counted(request.query_params.get("contact"))
    if contact_id is None:
        return general

    def name(conn: Connection) -> str | None:
        try:
            return str(contacts.get_contact(conn, contact_id, person_id)["person"]["name"])
        except NotFound:
            return None

    who = await services(request).db.read(name)
    if who is None:
        return general
    if answered == "declined":
        return DECLINED.format(name=who)
    # By their name: "their walks" read as someone else's (a review of a first walk).
    return (NAMED if heard else NAMED_UNHEARD)[answered].format(name=who)


# What the home page says after an answer to a request (`?done=`): that it was taken, and
# what it means for them from now on.
ANSWERED = {
    "companion": "Accepted: you will see their walks here when they share one, and hear of "
    "them through your alerts.",
    "guardian": "Accepted: you will hear of their alarms if their companions don't answer.",
    "declined": "Declined: their request is gone, and nothing is shared with them.",
}
# A decline, by the asker's name: what they learn of it is nothing.
DECLINED = (
    "Declined: {name} is not told, and nothing is shared with them. Their request is gone, "
    "and one they send within a week does not reach you."
)
# The same by the asker's name, as the page says them when it knows it.
NAMED = {
    "companion": "Accepted: you will see {name}'s walks here when {name} shares one, and hear "
    "of them through your alerts.",
    "guardian": "Accepted: you will hear of {name}'s alarms if {name}'s companions don't answer.",
}
NAMED_UNHEARD = {
    "companion": "Accepted: you will see {name}'s walks here when {name} shares one.",
    "guardian": "Accepted: you are one of those told of {name}'s alarms if {name}'s "
    "companions don't answer.",
}
# The same, for someone no alert can reach yet (the notice under it says what to do).
ANSWERED_UNHEARD = {
    "companion": "Accepted: you will see their walks here when they share one.",
    "guardian": "Accepted: you are one of those told of their alarms if their companions "
    "don't answer.",
}


@router.post("/contacts/{contact_id}/accept")
async def accept(contact_id: Id, request: Request) -> Response:
    return await _answer(request, contact_id, True)


@router.post("/contacts/{contact_id}/decline")
async def decline(contact_id: Id, request: Request) -> Response:
    return await _answer(request, contact_id, False)
