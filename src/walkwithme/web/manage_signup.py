"""Signing up on the pages: with an invite link from the operator (or on a server with open
sign-up), in the browser's time zone unless changed. The same use case as POST /api/signup,
and its limits on guessing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from walkwithme.api.accounts import _count_attempt as count_attempt
from walkwithme.api.accounts import set_cookies
from walkwithme.api.auth import services
from walkwithme.domain.errors import Conflict, DomainError, Invalid
from walkwithme.hashing import Lane
from walkwithme.store.tx import Tx
from walkwithme.usecases import accounts, known_browsers
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import form_fields

router = APIRouter(include_in_schema=False)


@router.get("/signup")
async def sign_up_page(request: Request, invite: str = "") -> Response:
    open_signup = services(request).config.open_signup
    return pages_of(request).render(
        request, "signup.html", invite=invite[:200], can=bool(invite) or open_signup
    )


@router.post("/signup")
async def sign_up(request: Request) -> Response:
    svc = services(request)
    fields: dict[str, str] = {}
    try:
        fields = await form_fields(request)
        password = fields.get("password", "")[:200]
        if password != fields.get("again", "")[:200]:
            raise Invalid("the password and its repetition differ", field="again")
        email, name, zone = accounts.check_new_person(
            fields.get("email", "")[:254],
            fields.get("name", "")[:100],
            password,
            fields.get("timezone", "").strip()[:64] or "UTC",
        )
        await count_attempt(svc, request, email, signing_up=True)
        hashed = await svc.hashing.hash(Lane.PASSWORDS, password)
        new = accounts.NewPerson(email, name, hashed, zone)
        invite = fields.get("invite", "").strip() or None
        days = svc.config.session_days

        def job(tx: Tx) -> tuple[str, str] | None:
            person = accounts.sign_up(tx, new, invite, open_signup=svc.config.open_signup)
            if person is None:
                return None  # the invite is used up with the answer (accounts.sign_up)
            session = accounts.open_session(tx, person.id, days)
            return session, known_browsers.remember(tx, person.id, None)

        made = await svc.writer.run(job)
        if made is None:
            raise Conflict(accounts.EMAIL_TAKEN, field="email")
        token, known = made
    except DomainError as exc:
        message = exc.message[:1].upper() + exc.message[1:]
        page = pages_of(request).render(
            request,
            "signup.html",
            status=exc.status,
            error=message,
            error_field=exc.field,
            invite=fields.get("invite", "")[:200],
            can=True,
            email=fields.get("email", "")[:254],
            name=fields.get("name", "")[:100],
            timezone=fields.get("timezone", "")[:64],
        )
        return waits(page, exc)
    response = RedirectResponse("/", status_code=303)
    set_cookies(request, response, token, days, known)
    return response
