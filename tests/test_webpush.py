"""Web Push: a browser subscribes, and alerts reach it through a real push service on
127.0.0.1 that checks the server's VAPID signature; the browser decrypts what it is sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import PIN, START, Cast, Member
from tests.sinks import Browser, PushService, push_service
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import ConfigError, load_config
from walkwithme.notify import webpush
from walkwithme.notify.vapid import b64url, b64url_decode
from walkwithme.services import Services


@pytest.fixture
def push() -> Iterator[PushService]:
    with push_service() as running:
        yield running


@pytest.fixture
def local(
    db_url: str, tmp_path: Path, clock: FakeClock, push: PushService
) -> Iterator[tuple[Cast, Services]]:
    """A service whose channels may reach this machine (the push service runs on 127.0.0.1),
    and a push service that knows the server's public key."""
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
        push.server_key = client.get("/api/push/key").json()["public_key"]
        yield Cast(client, svc, clock), svc
    svc.db.dispose()


def subscribe(cast: Cast, who: Member, subscription: dict[str, Any]) -> dict[str, Any]:
    """What a browser's page does after `pushManager.subscribe()`."""
    made = cast.client.post(
        "/api/channels",
        json={"kind": "webpush", "target": subscription, "label": "my phone's browser"},
        headers=who.auth,
    )
    assert made.status_code == 201, made.text
    channel: dict[str, Any] = made.json()
    return channel


def send_all(svc: Services) -> int:
    return svc.notifier.tick_sync()


def channel_of(cast: Cast, who: Member) -> dict[str, Any]:
    listed: list[dict[str, Any]] = cast.client.get("/api/channels", headers=who.auth).json()
    return listed[0]


def test_a_companion_receives_the_alarm_as_a_web_push(
    local: tuple[Cast, Services], push: PushService
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    subscribe(cast, noor, push.subscribe("noor"))
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert send_all(svc) == 2  # "started", then the alarm
    assert [(p.status, p.refused) for p in push.received] == [(201, None), (201, None)]
    started, alarm = push.received
    assert alarm.message is not None
    assert alarm.message["title"] == "ALARM: Mira pressed SOS."
    assert "Going to: home." in alarm.message["body"]
    assert alarm.message["kind"] == "alarm"
    assert alarm.message["walk_id"] == walk["id"]
    details = alarm.message["alert"]
    assert (details["reason"], details["walker"]["name"]) == ("sos", "Mira")
    assert alarm.message["key"].startswith("wwm-alert-")
    assert alarm.message["key"] == details["key"]
    assert alarm.claims is not None
    assert alarm.claims["aud"] == push.url
    assert alarm.claims["sub"] == "http://127.0.0.1:8000"  # by default, the public URL
    assert alarm.headers["content-encoding"] == "aes128gcm"
    assert (alarm.headers["urgency"], started.headers["urgency"]) == ("high", "normal")
    assert int(alarm.headers["ttl"]) >= 3600
    assert len(alarm.headers["topic"]) == 32
    assert alarm.headers["topic"] != started.headers["topic"]
    assert "alarm" not in alarm.headers["topic"]  # the push service learns nothing from it
    assert send_all(svc) == 0  # nothing is sent twice
    listed = channel_of(cast, noor)
    assert (listed["kind"], listed["status"]) == ("webpush", "working")
    assert "target" not in listed


def test_a_subscription_that_is_gone_breaks_the_channel_and_nothing_more_is_sent(
    local: tuple[Cast, Services], push: PushService
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    subscribe(cast, noor, push.subscribe("noor"))
    push.script = [410]
    walk = cast.start_walk(mira)
    assert send_all(svc) == 1
    broken = channel_of(cast, noor)
    assert broken["status"] == "broken"
    assert "gone (410)" in broken["last_error"]
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=30)
    assert send_all(svc) == 0
    assert len(push.received) == 1


def test_a_push_that_fails_twice_then_succeeds_is_delivered_once(
    local: tuple[Cast, Services], push: PushService
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    subscribe(cast, noor, push.subscribe("noor"))
    push.script = [503, 503]
    cast.start_walk(mira)
    assert send_all(svc) == 1
    assert send_all(svc) == 0  # backing off: not before 10 s
    cast.clock.advance(seconds=10)
    assert send_all(svc) == 1
    cast.clock.advance(seconds=19)
    assert send_all(svc) == 0
    cast.clock.advance(seconds=1)
    assert send_all(svc) == 1
    cast.clock.advance(minutes=30)
    assert send_all(svc) == 0
    assert [p.status for p in push.received] == [503, 503, 201]
    assert len(push.delivered()) == 1
    assert len({p.message["key"] for p in push.received if p.message}) == 1
    assert channel_of(cast, noor)["status"] == "working"


def test_a_message_the_push_service_refuses_costs_that_alert_not_the_channel(
    local: tuple[Cast, Services], push: PushService
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    subscribe(cast, noor, push.subscribe("noor"))
    push.script = [413]
    walk = cast.start_walk(mira)
    send_all(svc)
    cast.clock.advance(minutes=30)
    assert send_all(svc) == 0  # not retried
    refused = channel_of(cast, noor)
    assert refused["status"] != "broken"
    assert refused["last_error"] == "the push service answered 413"
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    assert [m["kind"] for m in push.delivered()] == ["alarm"]


def test_a_push_service_that_refuses_every_alert_breaks_the_channel_after_five(
    local: tuple[Cast, Services], push: PushService
) -> None:
    """403 for each message (the server's key changed since the browser subscribed): each
    refusal costs its alert; five in a row break the channel, which then says so rather than
    "failing: trying again"."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    subscribe(cast, noor, push.subscribe("noor"))
    push.script = [403] * 5
    for _ in range(5):
        walk = cast.start_walk(mira)
        send_all(svc)
        cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
        send_all(svc)
    refused = channel_of(cast, noor)
    assert refused["status"] == "broken"
    assert refused["last_error"] == "the push service answered 403"


def test_the_test_notification_reaches_the_browser(
    local: tuple[Cast, Services], push: PushService
) -> None:
    cast, svc = local
    noor = cast.person("Noor")
    channel = subscribe(cast, noor, push.subscribe("noor"))
    assert channel_of(cast, noor)["status"] == "untested"
    tested = cast.client.post(f"/api/channels/{channel['id']}/test", headers=noor.auth)
    assert tested.status_code == 202
    send_all(svc)
    [test] = push.delivered()
    assert test["title"] == "A test from Walk With Me: this channel works."
    # Its answer names the test by the key the browser gets (random: not a count of alerts).
    assert test["key"] == tested.json()["key"]
    assert test["key"].startswith("wwm-alert-")
    assert "topic" not in push.received[0].headers  # not about a walk
    assert channel_of(cast, noor)["status"] == "working"


def a_subscription(endpoint: str = "https://push.example.org/sub/1") -> dict[str, Any]:
    return Browser(endpoint).subscription()


def test_a_subscription_is_checked_field_by_field(cast: Cast) -> None:
    noor = cast.person("Noor")
    good = a_subscription()
    point = b64url_decode(good["keys"]["p256dh"])
    bad: list[tuple[Any, str, str]] = [
        ({**good, "endpoint": "https://127.0.0.1/push/1"}, "target.endpoint", "private"),
        ({**good, "endpoint": "https://localhost/push/1"}, "target.endpoint", "private"),
        ({**good, "endpoint": "http://push.example.org/1"}, "target.endpoint", "https"),
        ({"keys": good["keys"]}, "target.endpoint", "endpoint"),
        ({"endpoint": good["endpoint"]}, "target.keys", "p256dh and auth"),
        (
            {**good, "keys": {**good["keys"], "p256dh": b64url(point[:64])}},
            "target.keys.p256dh",
            "65 bytes",
        ),
        (
            {**good, "keys": {**good["keys"], "p256dh": b64url(b"\x04" + bytes(64))}},
            "target.keys.p256dh",
            "P-256",
        ),
        ({**good, "keys": {**good["keys"], "auth": "a!b@c#"}}, "target.keys.auth", "base64url"),
        ({**good, "keys": {**good["keys"], "auth": b64url(bytes(8))}}, "target.keys.auth", "16"),
        ("not a subscription", "target", "endpoint"),
    ]
    for target, field, words in bad:
        refused = cast.client.post(
            "/api/channels", json={"kind": "webpush", "target": target}, headers=noor.auth
        )
        assert refused.status_code == 422, target
        assert refused.json()["field"] == field, refused.json()
        assert words in refused.json()["error"], refused.json()
    a_url_for_a_subscription = cast.client.post(
        "/api/channels", json={"kind": "webhook", "target": good}, headers=noor.auth
    )
    assert a_url_for_a_subscription.json()["field"] == "target"
    assert cast.client.get("/api/channels", headers=noor.auth).json() == []
    as_text = cast.client.post(
        "/api/channels", json={"kind": "webpush", "target": json.dumps(good)}, headers=noor.auth
    )
    assert as_text.status_code == 201, as_text.text


def test_the_public_key_is_public_and_is_made_once_and_kept_private(
    client: TestClient, services: Services, tmp_path: Path, clock: FakeClock
) -> None:
    answer = client.get("/api/push/key")  # nobody signed in: it is a public key
    assert answer.status_code == 200
    key = answer.json()["public_key"]
    point = b64url_decode(key)
    assert (len(point), point[0]) == (65, 4)
    kept = tmp_path / "data" / "vapid.pem"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert client.get("/api/push/key").json()["public_key"] == key
    again = make_services(services.config.database_url, tmp_path, clock, WWM_DATA=str(kept.parent))
    assert again.push_keys.public_key() == key  # a restart keeps it: subscriptions still work
    again.db.dispose()


def test_the_operator_can_give_the_key(tmp_path: Path, sqlite_url: str, clock: FakeClock) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    given = make_services(sqlite_url, tmp_path, clock, WWM_VAPID_PRIVATE_KEY=raw)
    assert given.push_keys.public_key() == public
    given.db.dispose()
    pem = tmp_path / "vapid-secret.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    from_file = make_services(sqlite_url, tmp_path, clock, WWM_VAPID_PRIVATE_KEY_FILE=str(pem))
    assert from_file.push_keys.public_key() == public
    from_file.db.dispose()
    assert not (tmp_path / "data" / "vapid.pem").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WWM_VAPID_PRIVATE_KEY", "not a key"),
        ("WWM_VAPID_PRIVATE_KEY", base64.urlsafe_b64encode(bytes(31)).decode()),
        ("WWM_VAPID_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
        ("WWM_VAPID_SUBJECT", "ops@example.org"),
    ],
)
def test_a_bad_vapid_setting_stops_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})


def test_an_alert_too_long_for_a_push_message_is_cut_to_fit() -> None:
    browser = Browser("https://push.example.org/sub/1")
    subscription = webpush.Subscription.from_target(json.dumps(browser.subscription()))
    payload = {"kind": "alarm", "reason": "sos", "walker": {"name": "Mira"}, "note": "x" * 9000}
    said = webpush.message("wwm-alert-7", payload)
    assert len(said) <= webpush.MAX_PLAINTEXT
    body = webpush.encrypt(subscription, said)
    assert len(body) <= 4096  # what every push service must take
    read = browser.read(body)
    assert (read["key"], read["title"]) == (
        "wwm-alert-7",
        "ALARM: Mira pressed SOS.",
    )
    assert "alert" not in read  # the details stay on the server
    assert read["body"].endswith("…")


def test_her_phone_back_during_the_alarm_is_pushed_as_urgently_as_the_alarm(
    local: tuple[Cast, Services], push: PushService
) -> None:
    """Whoever is out looking for her must hear it now, even from a phone asleep in a pocket
    (high urgency), and a push service holding it a day if the phone is off (not an hour)."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    subscribe(cast, noor, push.subscribe("noor"))
    phone = cast.device(mira)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=10)
    cast.send(phone, cast.fix(START))
    assert send_all(svc) == 3  # "started", the alarm, and her phone back
    back = push.received[-1]
    assert back.message is not None
    assert back.message["title"] == "Mira's phone is reporting again."
    assert (back.headers["urgency"], int(back.headers["ttl"])) == ("high", 86400)
