"""Her settings on the pages: name, time zone and phone number, password, how long her
walks are kept, everything to download, and deleting her account. The same use cases as
/api/me, /api/me/password, /api/me/keeping, /api/me/export and /api/me/delete."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.api import people as people_api
from walkwithme.api.auth import COOKIE, check_password, services
from walkwithme.api.privacy import delete_account
from walkwithme.domain.errors import Invalid
from walkwithme.domain.keeping import DAY_MS
from walkwithme.hashing import Lane
from walkwithme.usecases import accounts, retention
from walkwithme.usecases.accounts import Person
from walkwithme.web.manage_common import act, number, required, viewer
from walkwithme.web.manage_rules import rules_context
from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)


def _days(value: float) -> str:
    if value == 0:
        return "not kept: forgotten as soon as you are home"
    return f"{value:g} day" + ("" if value == 1 else "s")


async def _keeping(request: Request, person_id: int) -> dict[str, Any]:
    svc = services(request)
    keeping = svc.config.keeping
    chosen = await svc.db.read(lambda c: retention.chosen_ms(c, person_id))
    default, most = keeping.default_ms / DAY_MS, keeping.most_ms / DAY_MS
    return {
        "chosen": None if chosen is None else chosen / DAY_MS,
        "chosen_said": None if chosen is None else _days(chosen / DAY_MS),
        "default": _days(default),
        "most": most,
        "alarmed": _days(keeping.alarmed_ms / DAY_MS),
    }


# Her pace in words, m/s as the API keeps it (km/h is what people know).
PACES = (
    ("1.6", "Briskly: about 5.8 km/h"),
    ("1.3", "Ordinary: about 4.7 km/h"),
    ("1.0", "A little slowly: about 3.6 km/h"),
    ("0.7", "Slowly: about 2.5 km/h"),
)


def _paces(pace_mps: float) -> tuple[list[tuple[str, str]], str]:
    """The choices, hers among them if she set another through the API, and which is hers."""
    for value, _ in PACES:
        if abs(float(value) - pace_mps) < 1e-9:  # (1.0 is "1.0", not "1")
            return list(PACES), value
    mine = repr(pace_mps)  # (kept exactly by a save)
    return [*PACES, (mine, f"Your own: about {pace_mps * 3.6:.1f} km/h")], mine


def _pace(text: str) -> float | None:
    """None: not sent (a form without the field changes nothing); else checked by the API's
    rule (`check_pace`), by name."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(
            "How fast you walk must be a number of metres a second", field="pace"
        ) from None


async def _page(request: Request, person: Person, csrf: str, **extra: Any) -> Response:
    keeping = await _keeping(request, person.id)
    duress = await services(request).db.read(lambda c: accounts.duress_pin_hash_of(c, person.id))
    paces, pace_chosen = _paces(person.pace_mps)
    profiles = services(request).config.profiles
    return pages_of(request).render(
        request,
        "settings.html",
        person=person,
        csrf=csrf,
        keeping=keeping,
        has_duress=duress is not None,
        paces=paces,
        pace_chosen=pace_chosen,
        rules=rules_context(person, profiles),
        rules_night=f"{profiles.night_starts}:00 to {profiles.night_ends}:00",
        **extra,
    )


@router.get("/settings")
async def settings_page(request: Request) -> Response:
    who = await viewer(request)
    if isinstance(who, Response):
        return who
    said = {
        "profile": "Saved.",
        "password": "Your password is changed. Your other sign-ins ended; "
        "your phones still report.",
        "keeping": "Saved: it applies to the walks that end from now on.",
        "duress": "Saved: the walks you start from now on take it.",
        "rules": "Saved: the walks you start from now on are judged by these.",
    }.get(request.query_params.get("done", ""))
    return await _page(request, *who, done=said)


@router.post("/settings/profile")
async def profile(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        name = required(fields, "name", "Your name", 100)
        zone = required(fields, "timezone", "Your time zone", 64)
        # Empty (a browser's form leaves out an empty field): none. The API's rule checks it.
        phone = fields.get("phone", "")
        pace = _pace(fields.get("pace", ""))
        await services(request).writer.run(
            lambda tx: accounts.update_profile(
                tx, person.id, name=name, timezone=zone, phone=phone, pace_mps=pace
            )
        )

    return await act(request, "/settings?done=profile", action)


@router.post("/settings/password")
async def password(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        current = fields.get("password", "")[:200]
        new, again = fields.get("new_password", "")[:200], fields.get("again", "")[:200]
        if new != again:
            raise Invalid("the new password and its repetition differ", field="again")
        keep = request.cookies.get(COOKIE)
        await people_api.change_password(services(request), person, current, new, keep)

    return await act(request, "/settings?done=password", action)


@router.post("/settings/duress")
async def duress(request: Request) -> Response:
    """Her duress PIN, as PUT /api/me/duress-pin: her password first; empty removes it."""
    svc = services(request)

    async def action(person: Person, fields: dict[str, str]) -> None:
        pin = fields.get("duress_pin", "").strip()
        if pin and not re.fullmatch(r"[0-9]{4,8}", pin):
            raise Invalid("a duress PIN is 4 to 8 digits", field="duress_pin")
        await check_password(svc, person, fields.get("password", "")[:200])
        pin_hash = await svc.hashing.hash(Lane.PINS, pin) if pin else None
        await svc.writer.run(lambda tx: accounts.set_duress_pin(tx, person.id, pin_hash))

    return await act(request, "/settings?done=duress", action)


@router.post("/settings/keeping")
async def keeping(request: Request) -> Response:
    svc = services(request)

    async def action(person: Person, fields: dict[str, str]) -> None:
        chosen = None
        if fields.get("keep", "default") != "default":
            days = number(fields, "days", "The number of days")
            most = svc.config.keeping.most_ms / DAY_MS
            if not 0 <= days <= most:
                raise Invalid(f"days must be from 0 (as soon as you're home) to {most:g}")
            chosen = round(days * DAY_MS)
        keeping = svc.config.keeping
        await svc.writer.run(lambda tx: retention.choose(tx, person.id, chosen, keeping))

    return await act(request, "/settings?done=keeping", action)


@router.post("/settings/delete")
async def delete(request: Request) -> Response:
    svc = services(request)

    async def action(person: Person, fields: dict[str, str]) -> Response:
        if fields.get("sure") != "yes":
            raise Invalid("tick the box to say you are sure", field="sure")
        await check_password(svc, person, fields.get("password", "")[:200])
        await delete_account(svc, person.id)
        page = pages_of(request).render(request, "deleted.html")
        page.delete_cookie(COOKIE)
        return page

    return await act(request, "/settings", action)
