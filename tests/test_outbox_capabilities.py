"""Issue 12, finding 6: what the outbox keeps. An alert's answer link or alarm share link is a
capability (its token is otherwise kept only as a hash): it stays in the alert's payload only
while a delivery may still send it. The secrets that must stay plain to be used (a webhook's
signing secret, an Apprise URL's password) never appear in an API answer or in the logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import Cast
from tests.sinks import WebhookSink, webhook_sink
from tests.test_delivery import add_webhook, guardian_alarmed, send_all
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.services import Services
from walkwithme.store.schema import alerts


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def local(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Cast, Services]]:
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
        yield Cast(client, svc, clock), svc
    svc.db.dispose()


def outbox_text(svc: Services) -> str:
    payloads = svc.db.read_sync(lambda c: list(c.execute(alerts.select()).mappings()))
    return json.dumps([dict(p) for p in payloads], default=str)


def token_in(link: str, prefix: str) -> str:
    found = re.search(prefix + r"([A-Za-z0-9_\-]+)", link)
    assert found, link
    return found.group(1)


def test_her_answer_link_is_kept_only_until_it_is_delivered(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, phone, walk = cast.walking()
    add_webhook(cast, mira, sink.url + "/mira")
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    assert "/answer/" in outbox_text(svc)  # waiting to be sent: it must be there
    send_all(svc)
    check = json.loads(sink.received[-1].body)
    token = token_in(check["link"], "/answer/")
    assert token not in outbox_text(svc)
    assert "/answer/" not in outbox_text(svc)
    # The link itself still works: it was sent, and its hash is kept.
    assert cast.client.get(f"/answer/{token}").status_code == 200


def test_an_alarm_share_link_is_forgotten_once_delivered(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, gus, walk = guardian_alarmed(cast, svc, sink)
    links = [json.loads(r.body).get("link", "") for r in sink.received]
    shared = [link for link in links if "/api/share/" in link]
    assert shared, links
    token = token_in(shared[-1], "/api/share/")
    assert token not in outbox_text(svc)
    assert cast.client.get(f"/api/share/{token}").status_code == 200


def test_a_link_whose_delivery_is_given_up_is_forgotten_too(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, phone, walk = cast.walking()
    add_webhook(cast, mira, sink.url + "/mira")
    sink.script = [410]  # gone: given up at once
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    send_all(svc)
    assert "/answer/" not in outbox_text(svc)


def test_a_link_nobody_can_be_sent_is_never_kept(local: tuple[Cast, Services]) -> None:
    cast, svc = local
    mira, noor, phone, walk = cast.walking()  # Mira has no channel
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    assert "/answer/" not in outbox_text(svc)


def test_channel_secrets_never_appear_in_answers_or_logs(
    local: tuple[Cast, Services], sink: WebhookSink, caplog: pytest.LogCaptureFixture
) -> None:
    cast, svc = local
    caplog.set_level(logging.DEBUG)
    mira, noor, phone, walk = cast.walking()
    hook = add_webhook(cast, noor, sink.url + "/noor")
    secret = hook["secret"]  # shown this once, to be set on her server
    password = "hunter2-not-for-logs"
    port = sink.url.rsplit(":", 1)[1]
    apprise = cast.client.post(
        "/api/channels",
        json={
            "kind": "apprise",
            "target": f"ntfy://noor:{password}@127.0.0.1:{port}/walks",
            "label": "apprise",
        },
        headers=noor.auth,
    )
    assert apprise.status_code == 201, apprise.text
    sink.script = [500, 200, 500, 500]  # failures are logged too
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    cast.clock.advance(minutes=5)
    send_all(svc)
    assert sink.received, "nothing was sent"
    answers = [
        cast.client.get("/api/channels", headers=noor.auth),
        cast.client.post(f"/api/channels/{hook['id']}/test", headers=noor.auth),
        cast.client.get("/api/me/export", headers=noor.auth),
    ]
    for answer in answers:
        assert answer.status_code < 300, answer.text
        assert secret.encode() not in answer.content
        assert password.encode() not in answer.content
    # What reaches the service's log: Apprise's own lines name the URL (its password masked),
    # and stay in Apprise's logger, which doesn't pass them on (pytest hears them anyway, by
    # a handler of its own on every logger that doesn't, as a send reads them for the
    # channel's reason).
    assert not logging.getLogger("apprise").propagate
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("apprise"))
    assert secret not in logged
    assert password not in logged
    assert f"127.0.0.1:{port}/walks" not in logged
