"""Her notification channels on the pages: add a webhook or an Apprise URL (email, ntfy,
Telegram... as the operator allows), this browser by Web Push, send a test, see a broken one
and why, remove. A channel's address is never shown back (an Apprise URL may hold a password);
a webhook's signing secret is shown once, when it is made. The same use cases as
/api/channels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.api.auth import services
from walkwithme.api.params import Id
from walkwithme.domain.errors import Invalid
from walkwithme.notify.channels import check_target
from walkwithme.usecases import channels
from walkwithme.usecases.accounts import Person
from walkwithme.web import words
from walkwithme.web.manage_common import act, required, viewer
from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)

KINDS = {"webhook": "Webhook", "apprise": "Email, ntfy, Telegram… (Apprise URL)"}
STATUS = {
    "working": "works",
    "untested": "not tested yet: send a test",
    "broken": "broken",
}


def _shown(channel: dict[str, Any], now: int, tz: str) -> dict[str, Any]:
    status = STATUS.get(channel["status"], channel["status"])
    if channel["status"] == "working" and channel["worked_at"]:
        status = f"worked {words.when(channel['worked_at'], now, tz)}"
    if channel["status"] != "broken" and channel["failures"] and channel["last_error"]:
        # Failing, not yet given up on: said at once, not "not tested yet" until the fifth.
        status = f"failing: {channel['last_error']}; trying again"
    return {
        "id": channel["id"],
        "label": channel["label"],
        "kind": {"webpush": "Web Push"}.get(channel["kind"], channel["kind"]),
        "status": status,
        "broken": channel["status"] == "broken",
        "error": channel["last_error"],
        "failures": channel["failures"],
    }


async def _page(request: Request, person: Person, csrf: str, **extra: Any) -> Response:
    svc = services(request)
    now = svc.clock.now_ms()
    found = await svc.db.read(lambda c: channels.list_channels(c, person.id))
    shown = [_shown(ch, now, person.timezone) for ch in found]
    return pages_of(request).render(
        request,
        "channels.html",
        person=person,
        csrf=csrf,
        channels=shown,
        kinds=KINDS,
        schemes=", ".join(svc.config.apprise_schemes),
        **extra,
    )


@router.get("/channels")
async def channels_page(request: Request) -> Response:
    who = await viewer(request)
    if isinstance(who, Response):
        return who
    return await _page(request, *who)


@router.post("/channels")
async def add(request: Request) -> Response:
    svc = services(request)

    async def action(person: Person, fields: dict[str, str]) -> Response:
        kind = fields.get("kind", "")
        if kind not in KINDS:
            raise Invalid("choose a webhook or an Apprise URL", field="kind")
        config = svc.config
        target = check_target(
            kind,
            required(fields, "target", "The address", 2000),
            schemes=config.apprise_schemes,
            allow_private=config.allow_private_addresses,
        )
        label = fields.get("label", "").strip() or kind
        made = await svc.writer.run(
            lambda tx: channels.add_channel(tx, person.id, kind, target, label)
        )
        who = await viewer(request)
        csrf = who[1] if isinstance(who, tuple) else ""
        return await _page(request, person, csrf, added=made["label"], secret=made.get("secret"))

    return await act(request, "/channels", action)


@router.post("/channels/{channel_id}/test")
async def test(channel_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(lambda tx: channels.send_test(tx, person.id, channel_id))

    return await act(request, "/channels?tested=1", action)


@router.post("/channels/{channel_id}/remove")
async def remove(channel_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(
            lambda tx: channels.remove_channel(tx, person.id, channel_id)
        )

    return await act(request, "/channels", action)
