"""Her notification channels on the pages: add her email address (where the operator's mail
server sends email: WWM_SMTP_URL, then the first kind and the one chosen), a webhook or an
Apprise URL (email, ntfy, Telegram... as the operator allows), this browser by Web Push, send a
test, see a broken one and why, remove. A channel's address is never shown back (an Apprise URL
may hold a password), but an email channel is named by its address unless she names it: she
typed it, and it says which mailbox a failure is about. A webhook's signing secret is shown
once, when it is made. The same use cases as /api/channels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.api.auth import services
from walkwithme.api.params import Id
from walkwithme.config import Config
from walkwithme.domain.errors import Invalid
from walkwithme.notify.channels import NO_EMAIL, check_target
from walkwithme.notify.mail import MAX_ADDRESS
from walkwithme.usecases import channels
from walkwithme.usecases.accounts import Person
from walkwithme.web import words
from walkwithme.web.manage_common import act, required, viewer
from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)

KINDS = {"webhook": "Webhook", "apprise": "Email, ntfy, Telegram… (Apprise URL)"}
# With the operator's mail server, email is one address: the first kind, and the one chosen
# (what most people want, at night, without an SMTP password).
WITH_EMAIL = {
    "email": "Email",
    "webhook": "Webhook",
    "apprise": "ntfy, Telegram, your own mail server… (Apprise URL)",
}


def kinds_of(config: Config) -> dict[str, str]:
    return WITH_EMAIL if config.smtp is not None else KINDS


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
    tested = request.query_params.get("tested", "")
    # The channel a test just went to, if it is hers: the page says how it went, in place.
    sent_to = next((ch for ch in shown if str(ch["id"]) == tested), None)
    return pages_of(request).render(
        request,
        "channels.html",
        person=person,
        csrf=csrf,
        channels=shown,
        kinds=kinds_of(svc.config),
        email=svc.config.smtp is not None,
        schemes=", ".join(svc.config.apprise_schemes),
        tested=sent_to,
        now=now,
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
        config = svc.config
        if kind not in kinds_of(config):
            raise Invalid(NO_EMAIL if kind == "email" else "choose a kind of channel", field="kind")
        # Without the page's script both fields are shown: the one of the chosen kind counts.
        given = (
            required(fields, "email", "Your email address", MAX_ADDRESS)
            if kind == "email"
            else required(fields, "target", "The address", 2000)
        )
        target = check_target(
            kind,
            given,
            schemes=config.apprise_schemes,
            allow_private=config.allow_private_addresses,
            email=config.smtp is not None,
        )
        named = target[:100] if kind == "email" else kind
        label = fields.get("label", "").strip() or named
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

    return await act(request, f"/channels?tested={channel_id}", action)


@router.post("/channels/{channel_id}/remove")
async def remove(channel_id: Id, request: Request) -> Response:
    async def action(person: Person, _fields: dict[str, str]) -> None:
        await services(request).writer.run(
            lambda tx: channels.remove_channel(tx, person.id, channel_id)
        )

    return await act(request, "/channels", action)
