"""`walkwithme devices add`, `devices list` and `devices revoke`: a person's phones and their
tokens, from the command line. Registered on `walkwithme devices` by cli.py."""

from __future__ import annotations

from typing import Annotated

import typer
from paho.mqtt.client import topic_matches_sub
from rich.markup import escape
from rich.table import Table

from walkwithme import startup
from walkwithme.cli_common import DataOpt, JsonOpt, console, err, fail, open_services, out, when
from walkwithme.domain.errors import DomainError
from walkwithme.store.tx import Tx
from walkwithme.usecases import accounts, devices


def devices_add(
    email: str,
    name: str,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    owntracks_topic: Annotated[
        str | None,
        typer.Option(
            "--owntracks-topic",
            help="OwnTracks in MQTT mode: the topic its phone publishes to "
            "(owntracks/<user>/<device>), as your broker's ACLs allow it.",
        ),
    ] = None,
    owntracks_encryption: Annotated[
        bool,
        typer.Option(
            "--owntracks-encryption",
            help="OwnTracks' payload encryption: also make a key for the app (shown once).",
        ),
    ] = False,
) -> None:
    """Give a person's phone a token to post fixes with (shown once)."""
    svc = open_services(data)

    def add(tx: Tx, person_id: int) -> tuple[devices.Device, str, str | None]:
        device, token = devices.add_device(tx, person_id, name, owntracks_topic)
        key = devices.set_owntracks_key(tx, person_id, device.id) if owntracks_encryption else None
        return device, token, key

    try:
        person = svc.db.read_sync(lambda c: accounts.find_by_email(c, email))
        if person is None:
            raise DomainError(f"nobody with the email {email}")
        device, token, key = svc.writer.run_sync(lambda tx: add(tx, person.id))
    except DomainError as exc:
        raise fail(exc) from None
    finally:
        svc.db.dispose()
    base = startup.served_at(svc.config)
    made = {"id": device.id, "person_id": device.person_id, "name": device.name, "token": token}
    out(
        as_json,
        {**made, "owntracks_key": key} if key else made,
        f"Device {device.id} for {email}. Token (shown once): [bold]{token}[/bold]\n"
        + (
            _over_mqtt(owntracks_topic)
            if owntracks_topic
            else f"OwnTracks (HTTP mode): URL {base}/api/owntracks, user name {email} (any "
            f"works), this token as the password. Traccar Client: server URL {base}/api/traccar, "
            "this token as the device identifier. See docs/phones.md."
        )
        + (f"\nOwnTracks encryption key (shown once): [bold]{key}[/bold]" if key else ""),
    )
    if owntracks_topic and not as_json:
        unheard = _unheard(owntracks_topic, svc.config.mqtt_url, svc.config.mqtt_topics)
        if unheard:
            err.print(f"[yellow]warning:[/yellow] {escape(unheard)}")
    if not svc.config.public_url and not as_json and not owntracks_topic:
        # 127.0.0.1 is the phone itself, to the phone: these addresses work only on this machine.
        # (A phone on MQTT reaches the broker, not this service.)
        err.print(
            f"[yellow]warning:[/yellow] a phone can't reach {base}: set WWM_PUBLIC_URL to the "
            "address phones reach this service at, behind HTTPS (docs/deploy.md)"
        )


def _over_mqtt(topic: str) -> str:
    """How her OwnTracks is set for MQTT mode, its topic bound to this device."""
    parts = topic.split("/")
    ids = (
        f"user ID {parts[1]} and device ID {parts[2]} (so that it publishes to {topic})"
        if len(parts) == 3
        else f"the user and device IDs that make it publish to {topic}"
    )
    return (
        f"OwnTracks (MQTT mode): the broker's host and port as phones reach it, {ids}, the "
        "broker's own user name and password for her (its ACLs letting only her publish "
        "there), and remote commands on (Move mode and fresh fixes are asked on its /cmd). "
        "See docs/phones.md#owntracks-mqtt-mode."
    )


def _unheard(topic: str, mqtt_url: str, followed: str) -> str | None:
    """Why this service would never hear a phone that publishes to `topic` (None: it would):
    bound to a topic it doesn't follow, the phone went unheard, and nothing said so (an
    operator's first hour)."""
    if not mqtt_url:
        return (
            "WWM_MQTT_URL is not set: this service follows no MQTT broker, and nothing her phone "
            f"publishes to {topic} reaches it"
        )
    if not topic_matches_sub(followed, topic):
        return (
            f"this service follows {followed} (WWM_MQTT_TOPICS), not {topic}: nothing her phone "
            "publishes there reaches it"
        )
    return None


def devices_list(email: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """A person's devices: their apps, when each was last seen, and how to set it."""
    svc = open_services(data)
    person = svc.db.read_sync(lambda c: accounts.find_by_email(c, email))
    found = svc.db.read_sync(lambda c: devices.list_devices(c, person.id)) if person else []
    svc.db.dispose()
    if person is None:
        # As every other command says it: an empty table read as "no phones" (an operator's
        # review, after a typo).
        err.print(f"[red]error:[/red] nobody with the email {escape(email)}")
        raise typer.Exit(1)
    if as_json:
        out(True, found, "")
        return
    table = Table("id", "name", "created", "last seen", "app", "reports", "last refusal")
    for d in found:
        cells = (d["name"], d["app"] or "", d["reports"] or "", d["last_refusal"] or "")
        name, app, reports, refusal = (escape(str(cell)) for cell in cells)  # not markup
        table.add_row(
            str(d["id"]),
            name,
            when(d["created_at"]),
            when(d["last_seen_at"]),
            app,
            reports,
            refusal,
        )
    console.print(table)


def devices_revoke(email: str, device_id: int, data: DataOpt = None) -> None:
    """Revoke a device's token: its next fix is refused."""
    svc = open_services(data)
    try:
        person = svc.db.read_sync(lambda c: accounts.find_by_email(c, email))
        if person is None:
            raise DomainError(f"nobody with the email {email}")
        svc.writer.run_sync(lambda tx: devices.revoke_device(tx, person.id, device_id))
    except DomainError as exc:
        raise fail(exc) from None
    finally:
        svc.db.dispose()
    console.print(f"Device {device_id} revoked.")


def register(devices_app: typer.Typer) -> None:
    devices_app.command("add")(devices_add)
    devices_app.command("list")(devices_list)
    devices_app.command("revoke")(devices_revoke)
