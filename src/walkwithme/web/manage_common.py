"""What the pages that manage things share: who is looking (or a sign-in first), a form that
acts through a use case, and a page that says plainly why something didn't work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from walkwithme.api.auth import COOKIE
from walkwithme.domain.errors import DomainError, Invalid
from walkwithme.usecases.accounts import Person
from walkwithme.usecases.offers import LocalTime
from walkwithme.web import words
from walkwithme.web.render import pages_of, waits
from walkwithme.web.session import csrf_for, signed_form, signed_in

Action = Callable[[Person, dict[str, str]], Awaitable[Response | None]]


async def viewer(request: Request) -> tuple[Person, str] | Response:
    """The person looking and their form token, or the way to the sign-in page."""
    who = await signed_in(request)
    if who is None:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    return who


def said(
    request: Request, message: str, status: int, back: str, person: Person | None = None
) -> Response:
    """Why it didn't work, with the way back (and the menu, to someone signed in)."""
    csrf = csrf_for(request.cookies.get(COOKIE, "")) if person else ""
    return pages_of(request).render(
        request,
        "said.html",
        status=status,
        message=sentence(message),
        back=back.partition("?")[0],
        person=person,
        csrf=csrf,
    )


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else "Something went wrong."


async def act(request: Request, back: str, action: Action) -> Response:
    """Runs a posted form's action for the person signed in; back to `back` when done (unless
    the action shows its own page), or a page saying what was wrong."""
    try:
        person, fields = await signed_form(request)
    except DomainError as exc:  # not ours, not signed in any more, or a form we can't read
        return said(request, exc.message, exc.status, back)
    try:
        shown = await action(person, fields)
    except DomainError as exc:
        return waits(said(request, exc.message, exc.status, back, person), exc)
    return shown or RedirectResponse(back, status_code=303)


def required(fields: dict[str, str], name: str, label: str, most: int = 500) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise Invalid(f"{label} is missing", field=name)
    if len(value) > most:
        raise Invalid(f"{label} must be at most {most} characters", field=name)
    return value


def counted(text: str | None, most_digits: int = 12) -> int | None:
    """A whole number written in digits 0-9 (an id, minutes), or None. `str.isdigit` takes
    "²", which `int` refuses, and `int` refuses 5,000 digits; more than 12 digits is no id
    this service gives, and more than a database's integer holds (each answered 500 to an
    outside review)."""
    if text is None or not 0 < len(text) <= most_digits or not text.isascii():
        return None
    return int(text) if text.isdigit() else None


def number(fields: dict[str, str], name: str, label: str) -> float:
    text = required(fields, name, label, 40).replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{label} must be a number, not “{text}”", field=name) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Invalid(f"{label} must be a number", field=name)
    return value


def another_time(fields: dict[str, str], prefix: str, what: str) -> LocalTime | None:
    """A day chosen from "none", "today" or "tomorrow" and a time (`prefix`_day and
    `prefix`_time, her local time): a promise with a decline, her next walk when inside."""
    day, time = fields.get(f"{prefix}_day", "").strip(), fields.get(f"{prefix}_time", "").strip()
    if not day or day == "none":
        return None
    if not time:
        raise Invalid(f"give the {what}'s time, or choose no {what}", field=f"{prefix}_time")
    return LocalTime(day, time)


def next_walks_said(next_walks: list[dict[str, Any]], now_ms: int, tz: str | None) -> list[Any]:
    """The next walks she offered when she was inside (offer_views.next_walks), said to
    either of the two: a sentence, and its time in the reader's zone."""
    return [
        {
            "id": n["id"],
            "sentence": next_walk_sentence(n["with"]["name"], n["made_by_me"]),
            "at": words.day_time(n["at"], now_ms, tz),
        }
        for n in next_walks
    ]


def next_walk_sentence(other: str, made_by_me: bool) -> str:
    """A next walk she offered when she was inside, said to her or to him: an invitation."""
    if made_by_me:
        return f"You asked {other} to walk with you again"
    return f"{other} would like to walk together again"


def asks_you(name: str, role: str) -> str:
    """A request to be someone's contact, with what saying yes means (the role's name alone
    said nothing to someone who never used the service)."""
    if role == "guardian":
        return (
            f"{name} asks you to be a guardian: you would be told of {name}'s alarms when "
            "nobody who follows the walk answers them in time."
        )
    return (
        f"{name} asks you to be a companion: you would see {name}'s walks as they happen, "
        "and be told if something is wrong."
    )
