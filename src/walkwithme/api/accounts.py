"""Sign-up, sign-in, the person's own profile, invites and the operator's list of people."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from walkwithme.api.auth import (
    COOKIE,
    PersonDep,
    ServicesDep,
    bearer,
    check_password,
    from_another_site,
)
from walkwithme.api.inputs import Line, Number
from walkwithme.domain.errors import Conflict, Forbidden
from walkwithme.domain.profiles import hers
from walkwithme.domain.walks import check_pin_format
from walkwithme.hashing import Lane
from walkwithme.security import hash_secret
from walkwithme.services import Services
from walkwithme.store.tx import Tx
from walkwithme.usecases import accounts, known_browsers, throttle
from walkwithme.usecases.people import refuse_sign_in, statuses_of

router = APIRouter(prefix="/api", tags=["accounts"])


@cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so a wrong address costs as long as a wrong
    password and the timing doesn't tell whether someone has an account. Made on first use, not
    at import: one argon2 hash is a tenth of a second of start-up."""
    return hash_secret("not anybody's password")


class SignUp(BaseModel):
    email: Line = Field(max_length=254)
    name: Line = Field(min_length=1, max_length=100)
    password: str = Field(max_length=200)
    timezone: Line = "UTC"
    invite: str | None = None


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class Profile(BaseModel):
    name: Line | None = None
    timezone: Line | None = None
    phone: Line | None = None
    pace: Number | None = Field(default=None, description="walking pace, metres per second")
    rules: dict[str, Any] | None = Field(
        default=None,
        description='your thresholds for the watchdog\'s rules: {"silent": "4m", "night": '
        '{"silent": 150}}; {} for the server\'s own (docs/alarms.md)',
    )


def set_cookies(request: Request, response: Response, token: str, days: float, known: str) -> None:
    """Her session's cookie, and her browser's (usecases/known_browsers.py)."""
    secure = request.app.state.services.config.base_url.startswith("https://")
    response.set_cookie(
        COOKIE, token, max_age=int(days * 86400), httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(
        known_browsers.COOKIE,
        known,
        max_age=known_browsers.KNOWN_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def browser_of(request: Request) -> str:
    """This browser's token, if it has one (a sign-in here before)."""
    return request.cookies.get(known_browsers.COOKIE, "")[:100]


async def start_session(svc: Services, request: Request, response: Response, person_id: int) -> str:
    """She signed in: her session, and this browser remembered as hers, both cookies set."""
    days, had = svc.config.session_days, browser_of(request)

    def job(tx: Tx) -> tuple[str, str]:
        token = accounts.open_session(tx, person_id, days)
        return token, known_browsers.remember(tx, person_id, had)

    token, known = await svc.writer.run(job)
    set_cookies(request, response, token, days, known)
    return token


def refuse_another_site(request: Request) -> None:
    """Signing in or up sets the session's cookie: not from another site's page, which could
    sign a browser in to an account of its choosing (login CSRF). Apps and scripts send no
    Origin, and take the token from the answer."""
    if from_another_site(request):
        raise Forbidden("cross-origin request refused")


@router.post("/signup", status_code=201)
async def sign_up(
    body: SignUp, request: Request, response: Response, svc: ServicesDep
) -> dict[str, Any]:
    refuse_another_site(request)
    email, name, timezone = accounts.check_new_person(
        body.email, body.name, body.password, body.timezone
    )
    await _count_attempt(svc, request, email, signing_up=True)
    password_hash = await svc.hashing.hash(Lane.PASSWORDS, body.password)
    new = accounts.NewPerson(email, name, password_hash, timezone)
    days = svc.config.session_days

    def job(tx: Tx) -> tuple[accounts.Person, str, str] | None:
        person = accounts.sign_up(tx, new, body.invite, open_signup=svc.config.open_signup)
        if person is None:
            return None  # the invite is used up with the answer (accounts.sign_up)
        session = accounts.open_session(tx, person.id, days)
        return person, session, known_browsers.remember(tx, person.id, None)

    made = await svc.writer.run(job)
    if made is None:
        raise Conflict(accounts.EMAIL_TAKEN, field="email")
    person, token, known = made
    set_cookies(request, response, token, days, known)
    return {"person": person.as_json(), "token": token}


@router.post("/session")
async def sign_in(
    body: SignIn, request: Request, response: Response, svc: ServicesDep
) -> dict[str, Any]:
    refuse_another_site(request)
    await _count_attempt(svc, request, body.email)
    found = await svc.db.read(lambda c: accounts.password_hash_of(c, body.email))
    stored = found[1] if found else _dummy_hash()
    ok = await svc.hashing.verify(Lane.PASSWORDS, stored, body.password)
    if not ok or found is None:
        raise accounts.bad_credentials()
    person_id = found[0]
    # Disabled: said only to someone who knew the password.
    await svc.db.read(lambda c: refuse_sign_in(c, person_id))
    return {"token": await start_session(svc, request, response, person_id)}


async def _count_attempt(
    svc: Services, request: Request, email: str, *, signing_up: bool = False
) -> None:
    """Counted before any password is checked (429 past the limits: usecases/throttle.py)."""
    address, browser = (request.client.host if request.client else None), browser_of(request)
    await svc.writer.run(
        lambda tx: throttle.sign_in(tx, email, address, signing_up=signing_up, browser=browser)
    )


@router.delete("/session", status_code=204)
async def sign_out(
    request: Request, response: Response, person: PersonDep, svc: ServicesDep
) -> None:
    token = bearer(request) or request.cookies.get(COOKIE)
    if token:
        await svc.writer.run(lambda tx: accounts.close_session(tx, token))
    response.delete_cookie(COOKIE)


def _me(svc: Services, person: accounts.Person) -> dict[str, Any]:
    """Her profile, with the thresholds a walk she starts would be judged by."""
    thresholds = hers(svc.config.profiles, person.pace_mps, person.overrides)
    return {**person.as_json(), "thresholds": thresholds.as_json()}


@router.get("/me")
async def me(person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return _me(svc, person)


@router.patch("/me")
async def update_me(body: Profile, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    updated = await svc.writer.run(
        lambda tx: accounts.update_profile(
            tx,
            person.id,
            name=body.name,
            timezone=body.timezone,
            phone=body.phone,
            pace_mps=body.pace,
            rule_settings=body.rules,
        )
    )
    return _me(svc, updated)


class DuressPin(BaseModel):
    password: str = Field(max_length=200, description="your password, to confirm it's you")
    duress_pin: str | None = Field(
        default=None, max_length=16, description="4 to 8 digits; null removes it"
    )


@router.put("/me/duress-pin")
async def set_duress_pin(body: DuressPin, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """Her duress PIN: every walk she starts takes it (unless the walk is given its own). It
    works wherever her PIN does, and answers exactly as her PIN would, while it raises a silent
    alarm that her own devices never show."""
    await check_password(svc, person, body.password)
    pin_hash = None
    if body.duress_pin is not None:
        check_pin_format(body.duress_pin, field="duress_pin")
        pin_hash = await svc.hashing.hash(Lane.PINS, body.duress_pin)
    await svc.writer.run(lambda tx: accounts.set_duress_pin(tx, person.id, pin_hash))
    return {"duress_pin": pin_hash is not None}


@router.post("/invites", status_code=201)
async def invite(person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    accounts.require_operator(person)
    token = await svc.writer.run(lambda tx: accounts.create_invite(tx, person.id))
    return {"invite": token, "days": accounts.INVITE_DAYS}


@router.get("/people")
async def people(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """The operator's list of accounts: names and addresses, never anyone's whereabouts;
    `status`: active, disabled, or being deleted."""
    accounts.require_operator(person)
    found, statuses = await svc.db.read(lambda c: (accounts.list_people(c), statuses_of(c)))
    return [{**p.as_listed(), "status": statuses.get(p.id, "active")} for p in found]
