"""A person's notification channels: add, list (status, never the address), test, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Line
from walkwithme.api.params import Id
from walkwithme.notify.channels import check_target
from walkwithme.usecases import channels

router = APIRouter(prefix="/api/channels", tags=["channels"])


class NewChannel(BaseModel):
    kind: str = Field(
        description="email (only where the server sends email: WWM_SMTP_URL), webhook, "
        "apprise or webpush"
    )
    target: str | dict[str, Any] = Field(
        description="an email address, the webhook URL, an Apprise URL, or a browser's push "
        "subscription "
        '(`{"endpoint": "https://...", "keys": {"p256dh": "...", "auth": "..."}}`)'
    )
    label: Line = Field(default="", max_length=100)

    @field_validator("target", mode="before")
    @classmethod
    def _url_or_subscription(cls, value: object) -> object:
        if isinstance(value, str) and len(value) > 2000:
            raise ValueError("at most 2000 characters")
        if not isinstance(value, str | dict):
            raise ValueError("must be a URL, or a push subscription (an object)")
        return value


@router.get("")
async def list_channels(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await svc.db.read(lambda c: channels.list_channels(c, person.id))


@router.post("", status_code=201)
async def add_channel(body: NewChannel, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """A webhook's answer includes its signing secret, this once."""
    config = svc.config
    target = check_target(
        body.kind,
        body.target,
        schemes=config.apprise_schemes,
        allow_private=config.allow_private_addresses,
        email=config.smtp is not None,
    )
    label = body.label or body.kind
    return await svc.writer.run(
        lambda tx: channels.add_channel(tx, person.id, body.kind, target, label)
    )


@router.post("/{channel_id}/test", status_code=202)
async def test_channel(channel_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """Send a test notification; the channel's status says how it went."""
    key = await svc.writer.run(lambda tx: channels.send_test(tx, person.id, channel_id))
    return {"key": key}


@router.delete("/{channel_id}", status_code=204)
async def remove_channel(channel_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: channels.remove_channel(tx, person.id, channel_id))
