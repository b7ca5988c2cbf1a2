"""Who is looking at a page, and whether a form really came from one of our pages.

Pages sign in with the API's own session cookie (HttpOnly, SameSite=Lax, Secure behind
HTTPS). A form that changes something must come from our origin (the browser's Origin header)
and carry the CSRF token of the session it was shown in: a token derived from the session
token itself, so there is nothing more to store, and it dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from starlette.requests import Request

from walkwithme.api.auth import COOKIE, from_our_origin, services
from walkwithme.domain.errors import Forbidden, Invalid, TooLarge, Unauthorized
from walkwithme.usecases.accounts import Person, person_for_session

MAX_FORM_BYTES = 8192


def csrf_for(session: str) -> str:
    return hmac.new(session.encode(), b"walkwithme pages csrf", hashlib.sha256).hexdigest()[:32]


async def signed_in(request: Request) -> tuple[Person, str] | None:
    """The person and their CSRF token, or None when nobody (valid) is signed in."""
    token = request.cookies.get(COOKIE)
    if not token or token.startswith("dev_"):
        return None
    svc = services(request)
    now = svc.clock.now_ms()
    person = await svc.db.read(lambda c: person_for_session(c, token, now))
    return (person, csrf_for(token)) if person is not None else None


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's fields (first value of each), from our own origin only. Our pages send
    no referrer (Referrer-Policy: no-referrer), so a browser posts their forms with `Origin:
    null`; it says where the request came from in `Sec-Fetch-Site`, which pages can't forge."""
    if not from_our_origin(request):
        raise Forbidden("cross-origin form refused")
    return await read_form(request)


async def read_form(request: Request) -> dict[str, str]:
    """A posted form's fields (first value of each): refused whole (413, 422), never cut to
    fit or stored with its bytes replaced."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        # Cut to fit, its last fields would be lost without a word (the API refuses too).
        raise TooLarge(
            f"the form is longer than {MAX_FORM_BYTES // 1024} kB: shorten what you wrote"
        )
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise Invalid("the form is not valid text (UTF-8): type it again") from None
    try:
        fields = parse_qs(text, errors="strict")
    except UnicodeDecodeError:  # a %-escape of bytes that are no text (`name=%ff`)
        raise Invalid("the form is not valid text (UTF-8): type it again") from None
    return {k: v[0] for k, v in fields.items()}


async def signed_form(request: Request) -> tuple[Person, dict[str, str]]:
    """A form posted by someone signed in, with their session's CSRF token."""
    fields = await form_fields(request)
    who = await signed_in(request)
    if who is None:
        # Her sign-in ended (signed out elsewhere, or it expired) while the page was open.
        raise Unauthorized("you are not signed in any more: sign in again, then try again")
    person, csrf = who
    if not hmac.compare_digest(fields.get("csrf", ""), csrf):
        raise Forbidden("this form is out of date: reload the page and try again")
    return person, fields
