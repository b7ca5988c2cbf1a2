"""Sign in and sign out for the pages, with the API's own session cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from walkwithme.api.accounts import _count_attempt as count_attempt
from walkwithme.api.accounts import _dummy_hash, start_session
from walkwithme.api.auth import COOKIE, services
from walkwithme.domain.errors import DomainError, TooSoon
from walkwithme.hashing import Lane
from walkwithme.usecases import accounts, people
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import form_fields, signed_form, signed_in

router = APIRouter(include_in_schema=False)


def _next(target: str | None) -> str:
    """Back to the page that asked for a sign-in: a path on this site, nothing else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _page(request: Request, status: int = 200, **shown: str) -> Response:
    """The sign-in form; on an open server it says anyone may make an account, not that an
    invite is needed."""
    open_signup = services(request).config.open_signup
    return pages_of(request).render(
        request, "signin.html", status=status, open_signup=open_signup, **shown
    )


@router.get("/signin")
async def sign_in_page(request: Request, next: str = "/") -> Response:
    # Signed in already (Back from the walk an alert's link opened after signing in): on to
    # where it leads, not the form again (an outside review).
    if await signed_in(request) is not None:
        return RedirectResponse(_next(next), status_code=303)
    return _page(request, next=_next(next))


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    pages = pages_of(request)
    try:
        fields = await form_fields(request)
    except DomainError as exc:
        return pages.render(
            request, "said.html", status=exc.status, message=exc.message, back="/signin"
        )
    email, password = fields.get("email", "")[:254], fields.get("password", "")[:200]
    target = _next(fields.get("next"))
    svc = services(request)
    try:
        # The API's own limits on guessing, counted before any password is checked.
        await count_attempt(svc, request, email)
        found = await svc.db.read(lambda c: accounts.password_hash_of(c, email))
        stored = found[1] if found else _dummy_hash()
        ok = await svc.hashing.verify(Lane.PASSWORDS, stored, password)
    except TooSoon as exc:
        page = _page(request, exc.status, next=target, email=email, error=exc.message)
        return waits(page, exc)
    if not ok or found is None:
        return _page(
            request,
            401,
            next=target,
            email=email,
            error="That email and password don't match an account.",
        )
    person_id = found[0]
    refused = await svc.db.read(lambda c: people.sign_in_refusal(c, person_id))
    if refused is not None:  # disabled: said once the password was right
        return _page(request, 403, next=target, email=email, error=refused.capitalize())
    response = RedirectResponse(target, status_code=303)
    await start_session(svc, request, response, person_id)
    return response


@router.get("/signout")
async def sign_out_page(request: Request) -> Response:
    """`/signout` typed (docs/pages.md lists it: it was "Nothing here"): a page with the
    button, signed in; the sign-in page, signed out. Never a sign-out on a GET."""
    who = await signed_in(request)
    if who is None:
        return RedirectResponse("/signin", status_code=303)
    person, csrf = who
    return pages_of(request).render(request, "signout.html", person=person, csrf=csrf)


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    try:
        await signed_form(request)
    except DomainError:
        return RedirectResponse("/", status_code=303)  # nothing to sign out of from here
    token = request.cookies.get(COOKIE, "")
    await services(request).writer.run(lambda tx: accounts.close_session(tx, token))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response
