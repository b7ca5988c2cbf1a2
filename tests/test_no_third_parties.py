"""No third parties: a whole walk with an alarm, told by email, webhook and Web Push, and every
outbound connection the service makes recorded (Python's audit hook sees each `connect`): the
only places it connects to are the channels the people configured (here, local sinks)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import LOCAL, make_services
from tests.people import HOME, PIN, START, Cast, between
from tests.sinks import Mailbox, PushService, WebhookSink, push_service, smtp_server, webhook_sink
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock

CONNECTS: list[tuple[str, int]] = []


def _record(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2:
            CONNECTS.append((str(address[0]), int(address[1])))


sys.addaudithook(_record)  # once for the process; the test reads what its own run added


@pytest.fixture
def sinks() -> Iterator[tuple[WebhookSink, Mailbox, PushService]]:
    with webhook_sink() as hook, smtp_server() as mail, push_service() as push:
        yield hook, mail, push


def test_a_walk_with_an_alarm_connects_only_to_the_channels_people_chose(
    tmp_path: Path, sinks: tuple[WebhookSink, Mailbox, PushService]
) -> None:
    hook, mail, push = sinks
    clock = FakeClock()
    svc = make_services(
        f"sqlite:///{tmp_path / 'wwm.db'}",
        tmp_path,
        clock,
        None,
        WWM_ALLOW_PRIVATE_ADDRESSES="true",
    )
    try:
        with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
            cast = Cast(c, svc, clock)
            push.server_key = c.get("/api/push/key").json()["public_key"]
            mira, noor, phone, walk = cast.walking()
            for kind, target in (
                ("webhook", hook.url),
                ("apprise", f"mailto://127.0.0.1:{mail.port}?from=walk@example.org"),
                ("webpush", push.subscribe("noor")),
            ):
                made = c.post(
                    "/api/channels", json={"kind": kind, "target": target}, headers=noor.auth
                )
                assert made.status_code == 201, made.text
            del CONNECTS[:]
            cast.send(phone, cast.fix(START))
            clock.advance(seconds=30)
            cast.send(phone, cast.fix(between(START, HOME, 0.2)))
            c.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).raise_for_status()
            svc.watchdog.tick_sync()
            assert svc.notifier.tick_sync() >= 3  # the alarm, by each of his channels
            c.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth).raise_for_status()
            c.post(
                f"/api/walks/{walk['id']}/resolve", json={"note": "Found her"}, headers=noor.auth
            ).raise_for_status()
            c.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
            svc.notifier.tick_sync()
            made_now = list(CONNECTS)
    finally:
        svc.db.dispose()
    assert hook.received, "the alarm reached the webhook"
    assert mail.messages, "the alarm reached the mailbox"
    assert push.received, "the alarm reached the push service"
    chosen = {
        ("127.0.0.1", urlsplit(hook.url).port or 80),
        ("127.0.0.1", mail.port),
        ("127.0.0.1", urlsplit(push.url).port or 80),
    }
    assert made_now, "the audit hook saw the deliveries' connections"
    assert set(made_now) <= chosen, set(made_now) - chosen
