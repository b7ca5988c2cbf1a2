"""The operator's page: the people on this server (never anyone's whereabouts), adding one,
resetting a password (the new one shown once), disabling and enabling; and how the service
is (what /healthz tells the operator). Anyone else gets "nothing here". The same use cases as
the operator's API (api/people.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.api import people as people_api
from walkwithme.api.auth import services
from walkwithme.api.params import Id
from walkwithme.domain.errors import NotFound
from walkwithme.usecases import accounts, outbox, people
from walkwithme.usecases.accounts import Person
from walkwithme.web import words
from walkwithme.web.manage_common import act, required, viewer
from walkwithme.web.render import pages_of
from walkwithme.web.walk_pages import not_found

router = APIRouter(include_in_schema=False)


async def _page(request: Request, person: Person, csrf: str, **extra: Any) -> Response:
    svc = services(request)
    now = svc.clock.now_ms()
    found, backlog, channels, undelivered = await svc.db.read(
        lambda c: (
            people.accounts(c),
            outbox.backlog(c),
            outbox.counts(c),
            outbox.undelivered_alarms(c),
        )
    )
    last = svc.watchdog.last_beat_ms
    failing_since = svc.writer.failing_since
    beat = svc.heartbeat
    # What `walkwithme check` fails on, here too: the page said all was well beside an alarm
    # no channel took (an outside review of an operator's first hour).
    health = {
        "undelivered": undelivered.waiting,
        "undelivered_why": undelivered.last_error,
        "storage_failing": words.when(failing_since, now, person.timezone)
        if failing_since is not None
        else None,
        "heartbeat_failing": beat.failing if beat is not None else 0,
        "heartbeat_problem": beat.last_problem if beat is not None else None,
        "watchdog": "stuck" if svc.watchdog.stuck() else "running",
        "last_look": words.when(last, now, person.timezone) if last else None,
        "backlog": backlog,
        "broken": channels.broken,
        "failing": channels.failing,
        "sent": svc.notifier.sent,
        "failed": svc.notifier.failed,
    }
    return pages_of(request).render(
        request, "admin.html", person=person, csrf=csrf, people=found, health=health, **extra
    )


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    who = await viewer(request)
    if isinstance(who, Response):
        return who
    if not who[0].is_operator:
        return not_found(request)
    return await _page(request, *who)


def _operator(person: Person) -> None:
    if not person.is_operator:
        raise NotFound("there is nothing here")


async def _csrf(request: Request) -> str:
    who = await viewer(request)
    return who[1] if isinstance(who, tuple) else ""


@router.post("/admin/people")
async def add(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> Response:
        _operator(person)
        body = people_api.NewAccount(
            email=required(fields, "email", "The email", 254),
            name=fields.get("name", "").strip()[:100],
            timezone=fields.get("timezone", "").strip()[:64] or "UTC",
            operator=fields.get("operator") == "yes",
        )
        added, password = await people_api.add_account(services(request), body)
        told = {"name": added.name, "email": added.email, "password": password, "new": True}
        return await _page(request, person, await _csrf(request), told=told)

    return await act(request, "/admin", action)


@router.post("/admin/invites")
async def invite(request: Request) -> Response:
    """An invite link (valid 7 days, used once), shown once: whoever opens it signs up."""

    async def action(person: Person, _fields: dict[str, str]) -> Response:
        _operator(person)
        svc = services(request)
        token = await svc.writer.run(lambda tx: accounts.create_invite(tx, person.id))
        link = f"{svc.config.base_url.rstrip('/')}/signup?invite={token}"
        invited = {"link": link, "days": accounts.INVITE_DAYS}
        return await _page(request, person, await _csrf(request), invited=invited)

    return await act(request, "/admin", action)


@router.post("/admin/people/{person_id}/password")
async def reset(person_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> Response:
        _operator(person)
        svc = services(request)
        whom = await svc.db.read(lambda c: accounts.get_person(c, person_id))
        if whom is None:
            raise NotFound("no such person")
        password = await people_api.reset_password(svc, person_id)
        told = {"name": whom.name, "email": whom.email, "password": password, "new": False}
        return await _page(request, person, await _csrf(request), told=told)

    return await act(request, "/admin", action)


@router.post("/admin/people/{person_id}/disable")
async def disable(person_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        _operator(person)
        await people_api.disable(services(request), person_id, person.id)

    return await act(request, "/admin", action)


@router.post("/admin/people/{person_id}/enable")
async def enable(person_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        _operator(person)
        await services(request).writer.run(lambda tx: people.enable(tx, person_id))

    return await act(request, "/admin", action)
