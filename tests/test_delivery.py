"""Alerts reach people: a real webhook receiver and a real SMTP server, retries, leases,
broken channels, and the escalation ladder."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from email.message import Message
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import HOME, PIN, Cast, Member, as_tested
from tests.sinks import Mailbox, WebhookSink, smtp_server, webhook_sink
from tests.test_manage_pages import page, text_of
from tests.test_walker_pages import FORM, cookie, csrf_of
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.notify import outbound
from walkwithme.notify.channels import Alert, Webhook, apprise_hosts
from walkwithme.notify.messages import render
from walkwithme.services import Services
from walkwithme.store.schema import deliveries
from walkwithme.store.tx import Tx
from walkwithme.store.writer import Writer
from walkwithme.upkeep import checks
from walkwithme.usecases import accounts, alerts, channels, outbox
from walkwithme.web import walker_words, words


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def local(
    db_url: str,
    tmp_path: Path,
    clock: FakeClock,
    hook: WebhookSink,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Cast, Services]]:
    """A service whose channels may reach this machine (the receivers run on 127.0.0.1);
    with the shipped Helsinki street map for tests marked `streets`."""
    streets = (
        request.getfixturevalue("helsinki") if request.node.get_closest_marker("streets") else None
    )
    svc = make_services(
        db_url,
        tmp_path,
        clock,
        streets,
        WWM_ALLOW_PRIVATE_ADDRESSES="true",
        WWM_EMERGENCY_HOOK=hook.url + "/emergency",
        WWM_HOOK_SECRET="operator-secret",
    )
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
        yield Cast(client, svc, clock), svc
    svc.db.dispose()


def add_email(cast: Cast, who: Member, mailbox: Mailbox, *, login: str = "") -> None:
    """An email channel of `who`'s, through Apprise, to the local SMTP server: tested, unless
    it signs in (`login`, "user:password@", which the local server doesn't take)."""
    made = cast.client.post(
        "/api/channels",
        json={
            "kind": "apprise",
            "target": f"mailto://{login}127.0.0.1:{mailbox.port}?from=walk@example.org"
            f"&to={who.email}&mode=insecure",
        },
        headers=who.auth,
    )
    assert made.status_code == 201, made.text
    if not login:
        as_tested(cast.services, made.json()["id"])


def add_webhook(cast: Cast, who: Member, url: str, *, tested: bool = True) -> dict[str, Any]:
    made = cast.client.post(
        "/api/channels",
        json={"kind": "webhook", "target": url, "label": "my server"},
        headers=who.auth,
    )
    assert made.status_code == 201, made.text
    channel: dict[str, Any] = made.json()
    if tested:
        as_tested(cast.services, channel["id"])
    return channel


def plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def with_guardian(cast: Cast) -> tuple[Member, Member, Member]:
    """Mira, Noor her companion, and Gus her guardian."""
    mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
    cast.link(mira, noor)
    cast.link(mira, gus, role="guardian")
    return mira, noor, gus


def sos_with_gus_listening(
    cast: Cast, sink: WebhookSink
) -> tuple[Member, Member, Member, dict[str, Any]]:
    """Mira, on a walk, pressed SOS; Noor follows her (without a channel), and Gus, her
    guardian, has a webhook at the sink."""
    mira, noor, gus = with_guardian(cast)
    add_webhook(cast, gus, sink.url + "/gus")
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    return mira, noor, gus, walk


def guardian_alarmed(
    cast: Cast, svc: Services, sink: WebhookSink
) -> tuple[Member, Member, Member, dict[str, Any]]:
    """Mira pressed SOS, nobody said "I'm on it", and the alarm climbed to Gus, her guardian,
    whose webhook received it."""
    mira, noor, gus, walk = sos_with_gus_listening(cast, sink)
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    return mira, noor, gus, walk


def send_all(svc: Services) -> int:
    return svc.notifier.tick_sync()


def test_a_companion_receives_the_alarm_as_a_signed_webhook(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    channel = add_webhook(cast, noor, sink.url + "/noor")
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert send_all(svc) == 2  # "started", then the alarm
    alarm = sink.received[-1]
    payload = json.loads(alarm.body)
    assert (payload["kind"], payload["reason"], payload["walker"]["name"]) == (
        "alarm",
        "sos",
        "Mira",
    )
    expected = (
        "sha256=" + hmac.new(channel["secret"].encode(), alarm.body, hashlib.sha256).hexdigest()
    )
    assert alarm.headers["x-walkwithme-signature"] == expected
    assert alarm.headers["x-walkwithme-alert"] == payload["key"]
    assert send_all(svc) == 0  # nothing is sent twice
    listed = cast.client.get("/api/channels", headers=noor.auth).json()
    assert listed[0]["status"] == "working"
    assert "target" not in listed[0]
    assert "secret" not in listed[0]


def test_a_channel_that_fails_twice_then_succeeds_delivers_once(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_webhook(cast, noor, sink.url)
    sink.script = [503, 503]
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
    assert [r.headers["x-answered"] for r in sink.received] == ["503", "503", "200"]
    assert len({r.headers["x-walkwithme-alert"] for r in sink.received}) == 1


def test_what_waits_for_a_companion_who_left_her_is_not_sent_once_he_has_left(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """His alerts' channel fails for a while; he ends the contact meanwhile: that she started a
    walk (and anything else of her that was waiting) never reaches him once it works again.
    One she ends herself during her walk keeps him on it, and its alerts reach him."""
    cast, svc = local
    mira, noor, ada = cast.person("Mira"), cast.person("Noor"), cast.person("Ada")
    left = cast.link(mira, noor)
    ended_by_her = cast.link(mira, ada)
    add_webhook(cast, noor, sink.url + "/noor")
    add_webhook(cast, ada, sink.url + "/ada")
    sink.script = [503, 503]
    cast.start_walk(mira)
    assert send_all(svc) == 2  # both failed: to be tried again
    assert cast.client.delete(f"/api/contacts/{left}", headers=noor.auth).status_code == 204
    assert cast.client.delete(f"/api/contacts/{ended_by_her}", headers=mira.auth).status_code == 204
    cast.clock.advance(minutes=5)
    send_all(svc)
    cast.clock.advance(minutes=30)
    send_all(svc)
    reached = [r.path for r in sink.received if r.headers["x-answered"] == "200"]
    assert reached == ["/ada"]


def sos_told_to_noor(
    cast: Cast, svc: Services, sink: WebhookSink
) -> tuple[Member, Member, int, dict[str, Any]]:
    """Mira pressed SOS on a walk Noor follows, and his webhook was told (its contact too)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    contact = cast.link(mira, noor)
    add_webhook(cast, noor, sink.url + "/noor")
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    return mira, noor, contact, walk


def test_a_webhook_gets_the_words_of_its_alert_beside_its_facts(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """A webhook had only codes and epoch times (`"reason": "sos"`): a receiver that passes
    alerts on to a chat or a text message had to rebuild every word, "Do not call her"
    included. It gets the words an email carries, as a push does (`title`, `body`)."""
    cast, svc = local
    sos_told_to_noor(cast, svc, sink)
    alarm = next(json.loads(r.body) for r in sink.ok() if json.loads(r.body)["kind"] == "alarm")
    assert alarm["reason"] == "sos"  # the facts, as before
    assert alarm["title"] == "ALARM: Mira pressed SOS."
    lines = alarm["body"].splitlines()
    assert re.fullmatch(r"Raised at \d\d:\d\d \(just now\)\.", lines[1]), lines
    assert lines[-1] == f"{cast.services.config.base_url}/walks/{alarm['walk_id']}"


def test_an_alert_being_sent_when_he_leaves_her_is_not_tried_again_if_it_fails(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Claimed and on its way (a slow mail server) as he ends the contact: it fails, and is
    not put back to be tried again for 40 minutes."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    contact = cast.link(mira, noor)
    add_webhook(cast, noor, sink.url + "/noor")
    cast.start_walk(mira)
    [claimed] = svc.writer.run_sync(outbox.claim)
    assert cast.client.delete(f"/api/contacts/{contact}", headers=noor.auth).status_code == 204
    failed = outbox.Result(claimed, error="it took too long to answer")
    svc.writer.run_sync(lambda tx: outbox.record(tx, [failed]))
    cast.clock.advance(minutes=45)
    send_all(svc)
    assert sink.received == []


def test_the_all_clear_of_an_alarm_he_was_told_of_still_reaches_him_after_she_removes_him(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """He was told of her alarm; the all-clear waits for his channel; she removes him (her
    walk over): he still hears the alarm is over, or he would go looking for her."""
    cast, svc = local
    mira, noor, contact, walk = sos_told_to_noor(cast, svc, sink)
    assert [json.loads(r.body)["kind"] for r in sink.ok()] == ["started", "alarm"]
    sink.script = [503] * 5
    ok = cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth)
    assert ok.status_code == 200, ok.text
    send_all(svc)  # refused: waits to be tried again
    assert [json.loads(r.body)["kind"] for r in sink.ok()] == ["started", "alarm"]
    sink.script = []
    assert cast.client.delete(f"/api/contacts/{contact}", headers=mira.auth).status_code == 204
    cast.clock.advance(minutes=5)
    send_all(svc)
    told = [json.loads(r.body) for r in sink.ok()]
    assert [b["kind"] for b in told[:2]] == ["started", "alarm"]
    # (The alarm's end comes with the walk's, in one message: her right PIN ended both.)
    assert [(b["kind"], b.get("alarm_over")) for b in told[2:]] == [("inside", True)], told


def test_an_alert_whose_sender_died_is_sent_again_when_its_lease_runs_out(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_webhook(cast, noor, sink.url)
    cast.start_walk(mira)
    claimed = svc.writer.run_sync(outbox.claim)  # ...and then the sender dies
    assert len(claimed) == 1
    assert send_all(svc) == 0  # leased: nobody else takes it
    cast.clock.advance(seconds=60)
    assert send_all(svc) == 1
    assert len(sink.ok()) == 1


def test_the_alarm_email_reaches_a_real_smtp_server(
    local: tuple[Cast, Services], mailbox: Mailbox
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.client.patch("/api/me", json={"phone": "+358 40 123 4567"}, headers=mira.auth)
    cast.link(mira, noor)
    add_email(cast, noor, mailbox)
    walk = cast.start_walk(mira)
    cast.clock.advance(seconds=40)
    cast.send(cast.device(mira), cast.fix((60.1705, 24.9415), battery=33))
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    subjects = [m["Subject"] for m in mailbox.messages]
    assert "ALARM: Mira pressed SOS." in subjects
    alarm = next(m for m in mailbox.messages if m["Subject"].startswith("ALARM"))
    assert alarm["X-Walkwithme-Alert"].startswith("wwm-alert-")
    text = plain_text(alarm)
    # When, by Noor's clock (her zone: UTC here), and how long ago as it was sent.
    assert "Last seen at 20:27 (just now): 60.17050, 24.94150 (±8 m)." in text
    assert "Battery 33%." in text
    assert "Going to: home." in text
    # What to do, as the page offers it (it said what happened and nothing of what to do).
    page = f"{svc.config.base_url}/walks/{walk['id']}"
    assert [line.strip() for line in text.strip().splitlines()][-3:] == [
        "Open the link to say you are on it and to see where Mira is now.",
        "If you think Mira is in danger, call 112.",
        page,
    ]
    # Every alert about the walk links to its page, in both parts; the HTML's is a link.
    assert page in text
    assert f'<a href="{page}">' in html_part(alarm)
    # Her number, a tap to call on the phone he reads it on.
    assert "Phone: +358 40 123 4567." in text
    assert 'Phone: <a href="tel:+358401234567">+358 40 123 4567</a>.' in html_part(alarm)
    # The emergency number, a tap too (it was plain text).
    assert '<a href="tel:112">call 112</a>' in html_part(alarm)
    started = next(m for m in mailbox.messages if "started a walk" in m["Subject"])
    assert page in plain_text(started)


def test_her_duress_pins_alarm_email_says_whom_to_call_instead_of_her(
    local: tuple[Cast, Services], mailbox: Mailbox
) -> None:
    """Its caution said "Go there, or call for help", where every other alarm names the
    emergency number (an outside review)."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_email(cast, noor, mailbox)
    walk = cast.start_walk(mira, duress_pin="1357")
    end = {"pin": "1357"}
    cast.client.post(f"/api/walks/{walk['id']}/end", json=end, headers=mira.auth)
    send_all(svc)
    alarm = next(m for m in mailbox.messages if m["Subject"].startswith("ALARM"))
    lines = [line.strip() for line in plain_text(alarm).strip().splitlines()]
    assert (
        alarm["Subject"] == "ALARM: Mira needs help and can't say so. Do not call or message Mira."
    )
    assert (
        "Mira entered their duress PIN to end the walk: the PIN that says they are not free to "
        "say so. Whoever is with them may see their phone: go there, or call 112."
    ) in lines
    assert not any(line.startswith("If you think") for line in lines)  # (said once)


@pytest.mark.streets
def test_an_alarm_says_which_streets_she_was_last_seen_near(
    local: tuple[Cast, Services], mailbox: Mailbox, hook: WebhookSink
) -> None:
    """At night a street's name is acted on sooner than two coordinates: with the city's
    streets, the alarm names the street she was last seen near (both at a corner), beside
    the coordinates, in the email and in the hook's JSON."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_email(cast, noor, mailbox)
    walk = cast.start_walk(mira)
    cast.clock.advance(seconds=40)
    cast.send(cast.device(mira), cast.fix((60.1652, 24.9395)))  # Bulevardi at Annankatu
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    alarm = next(m for m in mailbox.messages if m["Subject"].startswith("ALARM"))
    assert "near Bulevardi and Annankatu: 60.16520, 24.93950 (±8 m)." in plain_text(alarm)
    # Her guardians' rung is empty, so the hook hears it once the companions' time is up.
    cast.clock.advance(minutes=10)
    svc.watchdog.tick_sync()
    send_all(svc)
    told = json.loads(hook.received[-1].body)
    assert told["kind"] == "alarm"
    assert told["last_position"]["streets"] == ["Bulevardi", "Annankatu"]
    assert (told["last_position"]["lat"], told["last_position"]["lon"]) == (60.1652, 24.9395)


def test_nobody_acknowledges_so_the_alarm_climbs_to_guardians_then_the_hook(
    local: tuple[Cast, Services], sink: WebhookSink, hook: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, gus = with_guardian(cast)
    add_webhook(cast, noor, sink.url + "/noor")
    add_webhook(cast, gus, sink.url + "/gus")
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    assert [r.path for r in sink.received] == ["/noor", "/noor"]  # started, alarm
    cast.clock.advance(minutes=2, seconds=59)
    assert svc.watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    assert sink.received[-1].path == "/gus"
    told_gus = json.loads(sink.received[-1].body)
    assert told_gus["rung"] == "guardians"
    assert "Nobody has said they are on it yet." in render(told_gus)[1].splitlines()
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    assert [r.path for r in hook.received] == ["/emergency"]
    assert hook.received[0].headers["x-walkwithme-signature"].startswith("sha256=")
    assert svc.watchdog.tick_sync() == []  # the top of the ladder
    cast.clock.advance(minutes=10)
    assert svc.watchdog.tick_sync() == ["escalated"]  # said again to the top, 10 min on
    send_all(svc)
    # Said again to Gus and the hook, each with a link of its own: her list of who looked
    # tells a guardian's look from the emergency line's (they shared one).
    again_gus = json.loads(next(r for r in reversed(sink.received) if r.path == "/gus").body)
    again_hook = json.loads(hook.received[-1].body)
    assert again_gus["again"] is True
    assert again_hook["again"] is True
    assert "/api/share/" in again_gus["link"]
    assert again_gus["link"] != again_hook["link"]
    # The timeline says who was told, not "the next people".
    events = cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()
    said = [words.event_sentence(e, "Mira") for e in events if e["kind"] == "alarm_escalated"]
    assert said == [
        "The alarm went on to Mira's guardians",
        "The alarm went on to this service's own emergency contact (not the emergency services)",
        "The alarm was said again to this service's own emergency contact (not the emergency "
        "services)",
    ]
    hers = cast.client.get(f"/api/walks/{walk['id']}/events", headers=mira.auth).json()
    assert walker_words.event_sentence(next(e for e in hers if e["kind"] == "alarm_escalated")) == (
        "The alarm went on to your guardians"
    )


def test_when_her_companions_alerts_are_failing_the_alarm_goes_to_her_guardian_at_once(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Noor's server has been failing (503 after 503): her alarm is still queued for Noor, but
    nobody counts on it, so the ladder doesn't wait 3 minutes on Noor before Gus hears it."""
    cast, svc = local
    mira, noor, gus = with_guardian(cast)
    add_webhook(cast, noor, sink.url + "/noor")
    add_webhook(cast, gus, sink.url + "/gus")
    sink.script = [503] * 5
    walk = cast.start_walk(mira)
    for _ in range(5):  # the walk's "started" to Noor, failing five times in a row
        send_all(svc)
        cast.clock.advance(minutes=10)
    assert cast.client.get("/api/channels", headers=noor.auth).json()[0]["status"] == "failing"
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert svc.watchdog.tick_sync() == ["escalated"]  # at its next look, not 3 minutes on
    send_all(svc)
    told = [json.loads(r.body) for r in sink.received if r.path == "/gus"]
    assert [(t["kind"], t["rung"]) for t in told] == [("alarm", "guardians")]
    assert ("/noor", "200") in [(r.path, r.headers["x-answered"]) for r in sink.received]


def test_im_on_it_pauses_the_climb_for_ten_minutes_not_for_good(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    _mira, noor, _gus, walk = sos_with_gus_listening(cast, sink)
    cast.clock.advance(minutes=1)
    cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)
    cast.clock.advance(minutes=9, seconds=59)
    assert svc.watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    assert [r.path for r in sink.received] == ["/gus"]
    # Gus hears that Noor is on it, though she has not ended it in time.
    said = render(json.loads(sink.received[0].body))[1].splitlines()
    assert "Noor said they are on it, and has not ended the alarm yet." in said
    assert "Nobody has said they are on it yet." not in said


def test_im_on_it_said_again_and_again_holds_each_rung_back_once(
    local: tuple[Cast, Services], sink: WebhookSink, hook: WebhookSink
) -> None:
    """Noor says "I'm on it" every nine minutes and does nothing (or whoever holds his phone
    does): each rung, and each repeat at the top, is held back ten minutes from his first
    "I'm on it" since it last climbed, not for as long as he goes on (an outside review)."""
    cast, svc = local
    _mira, noor, _gus, walk = sos_with_gus_listening(cast, sink)
    times_told: list[int] = []  # minutes after her SOS that the ladder climbed or said it again
    for minute in range(1, 60):
        cast.clock.advance(minutes=1)
        if minute % 9 == 1:
            on_it = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)
            assert on_it.status_code == 200, on_it.text
        if "escalated" in svc.watchdog.tick_sync():
            times_told.append(minute)
    send_all(svc)
    # Gus at 11 (Noor's first at 1, his again at 10 held it no longer), the hook 3 minutes on
    # (Noor's next came after), then said again at the top: due at 24, held by Noor's at 19
    # to 29; due at 39, held by his at 37 to 47 (his at 46 holds it no longer).
    assert times_told == [11, 14, 29, 47]
    assert [r.path for r in sink.received].count("/gus") >= 2
    assert len(hook.received) >= 2


def test_im_on_it_tapped_twice_is_said_once(cast: Cast) -> None:
    mira, noor, gus = with_guardian(cast)
    cast.channel(mira)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    for _ in range(2):
        on_it = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)
        assert on_it.status_code == 200, on_it.text
    said = [e for e in cast.events(mira, walk) if e["kind"] == "alarm_acknowledged"]
    assert len(said) == 1
    assert len(cast.told(mira, "alarm_acknowledged")) == 1
    # Someone else on it too (Gus, her guardian, once the alarm climbed to him) is said: it
    # is news to her and to the others.
    cast.clock.advance(minutes=10)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert cast.client.post(f"/api/walks/{walk['id']}/ack", headers=gus.auth).status_code == 200
    assert len(cast.told(mira, "alarm_acknowledged")) == 2


def test_a_guardian_has_no_part_in_an_alarm_that_has_not_climbed_to_them(cast: Cast) -> None:
    """Before the alarm reaches her guardians, Gus is nobody to it: his "I'm on it" would
    pause the climb to him (and the answer showed where she was), and probing it would tell
    him whether any alarm, a silent one say, is going on. The same 404 as with no alarm."""
    mira, _noor, gus = with_guardian(cast)
    cast.channel(mira)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    quiet = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=gus.auth)
    assert quiet.status_code == 404
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    for act, body in (("ack", None), ("resolve", {"note": "she is fine"})):
        early = cast.client.post(f"/api/walks/{walk['id']}/{act}", json=body, headers=gus.auth)
        assert (early.status_code, early.json()) == (404, quiet.json()), act
    # Nothing paused: the alarm climbs to him on time, and then he is in it.
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    on_it = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=gus.auth)
    assert on_it.status_code == 200, on_it.text


def test_whoever_found_her_home_ends_the_walk_with_the_alarm(cast: Cast) -> None:
    """Her phone died on the way; Noor calls her: she is home. Marked safe and home, the walk
    is over too: no "late" alarm climbs to her guardians and the hook an hour later for a
    walker who is in. Her page and everyone's timeline say who said so."""
    mira, noor, gus = with_guardian(cast)
    sam = cast.person("Sam")
    cast.link(mira, sam)
    for who in (mira, sam, noor):
        cast.channel(who)
    walk = cast.start_walk(mira)
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["check"]  # her phone is silent
    cast.clock.advance(seconds=90)
    assert cast.services.watchdog.tick_sync() == ["alarm"]
    done = cast.client.post(
        f"/api/walks/{walk['id']}/resolve",
        json={"note": "Her battery died, she is home", "home": True},
        headers=noor.auth,
    )
    assert done.status_code == 200, done.text
    hers = cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).json()
    assert (hers["state"], hers["live"]) == ("safe", False)
    said = cast.events(mira, walk)[-1]
    assert (said["kind"], said["by"]["name"]) == ("inside", "Noor")
    assert walker_words.event_sentence(said) == (
        "Noor said you are safe, and ended the walk: “Her battery died, she is home”"
    )
    assert words.event_sentence(said, "Mira") == (
        "Noor said Mira is safe, and ended the walk: “Her battery died, she is home”"
    )
    # Safe by Noor's word, wherever she was found: not "home" (whoever found her at a
    # friend's had only "Mira is home: end the walk too"), nor "not where the walk was
    # going"; to her, in her words (she was told "Mira is home, inside").
    [hers] = cast.told(mira, "inside")
    assert render(hers)[0] == "Noor said you are safe."
    assert render(hers)[1].splitlines()[1] == "The walk is over."
    # Her other companion, in theirs, once: the alarm's end in the same message (two came in
    # the same second, each with the note: an outside review).
    [his] = cast.told(sam, "inside")
    assert render(his)[0] == "Mira is safe."
    assert render(his)[1].splitlines()[1] == "Noor said so, ending the alarm and the walk."
    assert cast.told(sam, "alarm_resolved") == []
    for _ in range(12):  # the hours her walk would have run late: nothing more
        cast.clock.advance(minutes=10)
        assert cast.services.watchdog.tick_sync() == []
    # Without "home", the alarm ends and the walk goes on (as it did).
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.client.post(f"/api/walks/{walk['id']}/resolve", json={"note": "ok"}, headers=noor.auth)
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).json()["live"] is True
    assert gus  # (her guardian: not reached, not told)
    # Her phone stays silent: the alarm that comes back says it is a new one, after Noor's
    # word (Sam, told the first was over, would take it for the old one said late).
    looked = []
    while "alarm" not in looked:
        cast.clock.advance(minutes=1)
        looked += cast.services.watchdog.tick_sync()
    assert looked == ["check", "alarm"]
    again = cast.told(sam, "alarm")[-1]
    line_said = next(line for line in render(again)[1].splitlines() if "a new alarm" in line)
    assert re.fullmatch(
        r"Noor marked Mira safe at \d\d:\d\d \(\d+ min ago\), and the walk went on: "
        r"this is a new alarm.",
        line_said,
    )
    first = cast.told(sam, "alarm")[-2]
    assert "a new alarm" not in render(first)[1]
    # Noor, who marked her safe, reads it in his own words.
    yours = render(cast.told(noor, "alarm")[-1])[1]
    assert re.search(r"^You marked Mira safe at \d\d:\d\d .*this is a new alarm\.$", yours, re.M)


def test_guardians_hear_who_resolved_an_alarm_they_were_told_of(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, gus, walk = guardian_alarmed(cast, svc, sink)
    cast.client.post(
        f"/api/walks/{walk['id']}/resolve",
        json={"note": "Found her, all fine"},
        headers=noor.auth,
    )
    send_all(svc)
    told = [json.loads(r.body) for r in sink.received]
    assert [t["kind"] for t in told] == ["alarm", "alarm_resolved"]
    assert told[-1]["by"]["name"] == "Noor"
    assert told[-1]["note"] == "Found her, all fine"
    said = render(told[-1])[1].splitlines()
    assert said[:2] == ["The alarm about Mira is over.", "Noor ended it."]
    assert "Note: Found her, all fine" in said


def test_with_no_companion_to_hear_it_the_alarm_goes_up_the_ladder_at_once(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Noor has no channel: a rung that reaches nobody is skipped, not waited out."""
    cast, svc = local
    sos_with_gus_listening(cast, sink)
    assert svc.watchdog.tick_sync() == ["escalated"]  # the clock has not moved
    send_all(svc)
    assert [json.loads(r.body)["kind"] for r in sink.received] == ["alarm"]
    assert [r.path for r in sink.received] == ["/gus"]


def test_every_rung_hears_why_she_was_asked_the_check_she_did_not_answer(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, gus = with_guardian(cast)
    add_webhook(cast, noor, sink.url + "/noor")
    add_webhook(cast, gus, sink.url + "/gus")
    walk = cast.start_walk(mira)
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]  # her phone never reported
    cast.clock.advance(seconds=90)
    assert svc.watchdog.tick_sync() == ["alarm"]
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    alarms = sorted(
        (r.path, body["reason"], body.get("asked_because"))
        for r in sink.received
        if (body := json.loads(r.body))["kind"] == "alarm"
    )
    assert alarms == [("/gus", "no_answer", "silent"), ("/noor", "no_answer", "silent")]
    # What each can do with the link: his page has "I'm on it"; the guardian's link shows
    # where she is to anyone, and "I'm on it" once signed in there (it promised it bare).
    words = {r.path: render(json.loads(r.body))[1] for r in sink.received}
    assert "Open the link to say you are on it and to see where Mira is now." in words["/noor"]
    assert (
        "Open the link to see where Mira is now (to say you are on it, sign in there)."
        in words["/gus"]
    )
    climbed = [e for e in cast.events(noor, walk) if e["kind"] == "alarm_escalated"]
    assert [e.get("asked_because") for e in climbed] == ["silent"]


@pytest.mark.parametrize("says", ["ok", "inside", "end"])
def test_guardians_hear_the_alarm_is_over_when_she_ends_it_herself(
    local: tuple[Cast, Services], sink: WebhookSink, says: str
) -> None:
    """Her PIN ends the alarm, whether she says she is OK, inside, or ends the walk: Gus,
    told of it, must not go on looking for someone at home."""
    cast, svc = local
    mira, _noor, _gus, walk = guardian_alarmed(cast, svc, sink)
    url = f"/api/walks/{walk['id']}/{says}"
    ended = cast.client.post(url, json={"pin": PIN}, headers=mira.auth)
    assert ended.status_code == 200, ended.text
    send_all(svc)
    told = [json.loads(r.body) for r in sink.received]
    assert [t["kind"] for t in told] == ["alarm", "alarm_resolved"]
    assert told[-1]["by"]["name"] == "Mira"
    assert render(told[-1])[1].splitlines()[:2] == [
        "The alarm about Mira is over.",
        "Mira ended it with the walk's PIN.",
    ]
    assert "link" not in told[-1]  # no page of hers is Gus's to open once it is over
    kinds = [e["kind"] for e in cast.events(mira, walk)]
    assert "alarm_resolved" in kinds
    assert kinds[-1] == {"ok": "alarm_resolved", "inside": "inside", "end": "ended"}[says]


def test_those_looking_for_her_hear_when_she_reaches_her_door_during_the_alarm(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """The alarm climbed to Gus; then her phone puts her at her door: he hears it at once
    (not only once the alarm is over), and when it ends the walk is at her door."""
    cast, svc = local
    mira, noor, _gus, walk = guardian_alarmed(cast, svc, sink)
    phone = cast.device(mira)
    for seconds_ago in (20, 10, 0):
        assert cast.statuses(phone, cast.fix(HOME, seconds_ago=seconds_ago)) == ["accepted"]
    send_all(svc)
    told = [(r.path, json.loads(r.body)) for r in sink.received]
    assert [(path, alert["kind"]) for path, alert in told] == [
        ("/gus", "alarm"),
        ("/gus", "arrived"),
    ]
    assert render(told[-1][1])[0] == "Mira is at the door."
    assert "link" not in told[-1][1]  # the walk's page would be a 404 to him
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"
    over = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert over.status_code == 200, over.text
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "at_door"


def test_a_companion_whose_contact_ended_during_the_alarm_hears_it_is_over(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Whoever holds her phone may end her contacts during an alarm: the companion keeps
    following it (privacy.md), and must hear when it is over, not go on looking."""
    cast, svc = local
    mira, noor, contact, walk = sos_told_to_noor(cast, svc, sink)
    cast.clock.advance(seconds=20)
    ended = cast.client.delete(f"/api/contacts/{contact}", headers=mira.auth)
    assert ended.status_code == 204, ended.text
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).status_code == 200
    over = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert over.status_code == 200, over.text
    send_all(svc)
    assert [json.loads(r.body)["kind"] for r in sink.received] == [
        "started",
        "alarm",
        "alarm_resolved",
    ]


def test_a_channel_that_keeps_failing_is_marked_broken_and_a_test_revives_it(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    channel = add_webhook(cast, noor, sink.url)
    sink.script = [404]
    cast.start_walk(mira)
    send_all(svc)
    broken = cast.client.get("/api/channels", headers=noor.auth).json()[0]
    assert broken["status"] == "broken"
    assert broken["last_error"] == "it answered 404"
    tested = cast.client.post(f"/api/channels/{channel['id']}/test", headers=noor.auth)
    assert tested.status_code == 202
    send_all(svc)
    assert cast.client.get("/api/channels", headers=noor.auth).json()[0]["status"] == "working"
    assert json.loads(sink.received[-1].body)["kind"] == "test"


def test_a_channel_down_for_a_while_is_failing_not_broken_and_still_gets_her_alarm(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Her companion's server is down for a while (503 after 503): the channel is "failing",
    never given up on; the SOS made meanwhile is queued for it and reaches him once it is back.
    A walk started while it fails says nobody would hear (nobody should count on it)."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    channel = add_webhook(cast, noor, sink.url)
    cast.client.post(f"/api/channels/{channel['id']}/test", headers=noor.auth)
    send_all(svc)  # it worked
    sink.script = [503] * 7  # then the server is down for a while
    first = cast.start_walk(mira)
    assert "warnings" not in first
    for _ in range(6):  # the walk's "started", tried again and again
        send_all(svc)
        cast.clock.advance(minutes=10)
    failing = cast.client.get("/api/channels", headers=noor.auth).json()[0]
    assert failing["status"] == "failing"
    assert failing["last_error"] == "it answered 503"
    said = checks.channels_finding(svc.db)  # `walkwithme check` tells the operator
    assert said.verdict is checks.Verdict.WARN
    assert "1 failing: their alerts are tried again" in said.said
    ola = cast.person("Ola", operator=True)  # and so does the admin page
    admin = page(cast.client, "/admin", ola).text
    assert "Failing channels, still tried: <strong>1</strong>" in admin
    cast.client.post(f"/api/walks/{first['id']}/sos", headers=mira.auth)
    second_walker = cast.person("Aino")
    cast.link(second_walker, noor)
    assert "Nobody would hear an alarm" in cast.start_walk(second_walker)["warnings"][0]
    for _ in range(4):  # the server comes back after one more failure
        send_all(svc)
        cast.clock.advance(minutes=1)
    kinds = [json.loads(r.body)["kind"] for r in sink.received if r.headers["x-answered"] == "200"]
    assert "alarm" in kinds
    assert cast.client.get("/api/channels", headers=noor.auth).json()[0]["status"] == "working"


def test_an_alarm_is_tried_again_for_hours_where_other_alerts_give_up(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """His server is down for two hours: the walk's "started" is given up after its ten
    tries (about 40 minutes); her alarm is still tried, and reaches him when it is back."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_webhook(cast, noor, sink.url)
    sink.script = [503] * 25
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    for _ in range(24):
        send_all(svc)
        cast.clock.advance(minutes=10)
    answered = [(json.loads(r.body)["kind"], r.headers["x-answered"]) for r in sink.received]
    assert answered.count(("started", "503")) == 10
    assert ("started", "200") not in answered
    assert ("alarm", "200") in answered
    assert answered.count(("alarm", "503")) > 10


def test_the_walker_is_told_when_nobody_would_hear_an_alarm(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    first = cast.start_walk(mira)
    assert "Nobody would hear an alarm" in first["warnings"][0]
    cast.client.post(f"/api/walks/{first['id']}/end", json={"pin": "2468"}, headers=mira.auth)
    channel = add_webhook(cast, noor, sink.url)
    cast.client.post(f"/api/channels/{channel['id']}/test", headers=noor.auth)
    send_all(svc)
    assert "warnings" not in cast.start_walk(mira)


def test_her_sos_from_the_page_of_her_question_says_when_nobody_would_hear_it(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Noor has no alerts that work: the page does not say she is told, it says to call."""
    cast, svc = local
    _mira, noor, walk, check = asked_on_her_channel(cast, svc, sink)
    path = check["link"].removeprefix("http://127.0.0.1:8000")
    asked = text_of(cast.client.get(path).text)
    assert "None of your companions has alerts that work: nobody would be told" in asked
    sent = text_of(cast.client.post(path, data={"sos": "1"}).text)
    assert "SOS sent, but nobody is told" in sent
    assert "call someone now" in sent
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == "alarm"
    again = text_of(cast.client.get(path).text)
    assert "None of your companions has alerts that work" in again
    assert "The people following your walk are told" not in again


@pytest.mark.parametrize("pin", ["2468", "1357"], ids=["her PIN", "her duress PIN"])
def test_what_her_devices_say_of_who_hears_is_the_same_after_her_duress_pin(
    local: tuple[Cast, Services], sink: WebhookSink, pin: str
) -> None:
    """Noor sets up alerts during her walk, untested: nobody would hear an alarm. After her
    duress PIN the silent alarm reaches him, and his channel has worked; her pages must go on
    saying what her real PIN leaves them saying (an outside attacker's probe), or whoever
    holds her phone reads that an alarm went out."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, mira, sink.url + "/mira", tested=False)
    add_webhook(cast, noor, sink.url + "/noor", tested=False)
    cast.send(phone, cast.fix((60.1705, 24.9415)))
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    send_all(svc)
    check = json.loads(sink.received[-1].body)
    answered = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": pin}, headers=mira.auth)
    assert answered.status_code == 200, answered.text
    send_all(svc)
    reached_noor = any(r.path.endswith("/noor") for r in sink.received)
    assert reached_noor is (pin == "1357")  # the silent alarm, and only after her duress PIN
    unheard = "ALARM: none of your companions has alerts that work: call someone"
    assert unheard in page(cast.client, f"/walks/{walk['id']}", mira).text  # (her page's script)
    asked = text_of(cast.client.get(check["link"].removeprefix("http://127.0.0.1:8000")).text)
    assert "Already answered" in asked
    sent = cast.client.post(
        f"/walks/{walk['id']}/sos",
        data={"csrf": csrf_of(page(cast.client, "/", mira).text)},
        headers={**FORM, **cookie(mira), "accept": "application/json"},
    )
    assert sent.json()["said"].startswith("SOS sent, but none of your companions")
    # Her SOS reaches Noor (as the alarm her devices are shown, after her duress PIN): from
    # then on her page says he is told, after either PIN.
    send_all(svc)
    told = "ALARM: your companions are told"
    assert told in page(cast.client, f"/walks/{walk['id']}", mira).text


@pytest.mark.parametrize("pin", ["2468", "1357"], ids=["her PIN", "her duress PIN"])
def test_when_the_alerts_both_her_pins_send_fail_her_page_says_so_after_either(
    local: tuple[Cast, Services], sink: WebhookSink, pin: str
) -> None:
    """Noor's alerts work; after her answer with either PIN her SOS is sent him, and fails
    again and again (his server is down): his only channel is failing, and her alarm page says
    none of her companions has alerts that work, after either PIN. Her duress PIN's page said
    he is told (it kept who would hear as the cover began), where her real PIN's told her to
    call someone: both a lie to her and a difference whoever holds her phone could read."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, mira, sink.url + "/mira")
    add_webhook(cast, noor, sink.url + "/noor")
    cast.send(phone, cast.fix((60.1705, 24.9415)))
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    send_all(svc)
    answered = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": pin}, headers=mira.auth)
    assert answered.status_code == 200, answered.text
    send_all(svc)  # after her duress PIN, the silent alarm reaches him: his channel works
    sink.script = [500] * 100
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200
    for _ in range(16):
        send_all(svc)
        cast.clock.advance(seconds=10)
    [channel] = cast.client.get("/api/channels", headers=noor.auth).json()
    assert channel["status"] == "failing"
    her_page = page(cast.client, f"/walks/{walk['id']}", mira).text
    assert "ALARM: none of your companions has alerts that work: call someone" in her_page
    # A test that reaches him again: he is told, after either PIN.
    sink.script = []
    tested = cast.client.post(f"/api/channels/{channel['id']}/test", headers=noor.auth)
    assert tested.status_code == 202, tested.text
    send_all(svc)
    assert "ALARM: your companions are told" in page(cast.client, f"/walks/{walk['id']}", mira).text


@pytest.mark.parametrize("pin", ["2468", "1357"], ids=["her PIN", "her duress PIN"])
def test_after_her_walk_her_next_one_says_who_hears_the_same_after_her_duress_pin(
    local: tuple[Cast, Services], sink: WebhookSink, pin: str
) -> None:
    """Made to say she is inside with her duress PIN, then to start again: her start page
    and her new walk's warning say of Noor what her real PIN leaves them saying (a review of
    the change). Her real PIN tells him she is inside; her duress PIN, the silent alarm: his
    untested alerts have worked after either."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, noor, sink.url + "/noor")
    done = cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": pin}, headers=mira.auth)
    assert done.status_code == 200, done.text
    send_all(svc)
    [told] = [json.loads(r.body)["kind"] for r in sink.received if r.path.endswith("/noor")]
    assert told == ("inside" if pin == "2468" else "alarm")
    start = text_of(page(cast.client, "/walks/new", mira).text)
    assert "Noor" in start
    assert "no working alerts" not in start
    assert "warnings" not in cast.start_walk(mira)


def test_a_private_address_is_refused_unless_the_operator_allows_it(cast: Cast) -> None:
    noor = cast.person("Noor")
    for target in ("http://127.0.0.1:9/hook", "http://10.0.0.5/hook", "http://localhost/x"):
        refused = cast.client.post(
            "/api/channels", json={"kind": "webhook", "target": target}, headers=noor.auth
        )
        assert refused.status_code == 422, target
        assert refused.json()["field"] == "target"
    not_allowed = cast.client.post(
        "/api/channels",
        json={"kind": "apprise", "target": "json://example.org/x"},
        headers=noor.auth,
    )
    assert not_allowed.status_code == 422
    assert "mailto" in not_allowed.json()["error"]
    assert cast.client.get("/api/channels", headers=noor.auth).json() == []


def test_guardians_get_a_link_that_works_during_the_alarm_and_an_hour_after(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, gus, walk = guardian_alarmed(cast, svc, sink)
    link = json.loads(sink.received[-1].body)["link"]
    assert link.startswith("http://127.0.0.1:8000/api/share/shr_")
    path = link.removeprefix("http://127.0.0.1:8000")
    assert cast.client.get(path).json()["state"] == "alarm"
    # Not hers to list or revoke: it is for the people who may have to help.
    assert cast.client.get(f"/api/walks/{walk['id']}/shares", headers=mira.auth).json() == []
    cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "Found her"}, headers=noor.auth
    )
    cast.clock.advance(minutes=59)
    assert cast.client.get(path).status_code == 200
    cast.clock.advance(minutes=1)
    gone = cast.client.get(path)
    assert gone.status_code == 404
    assert "lat" not in gone.text


@pytest.mark.parametrize("says", ["ok", "inside"])
def test_an_alarms_link_shows_nothing_of_her_once_her_walk_is_over(
    local: tuple[Cast, Services], sink: WebhookSink, says: str
) -> None:
    """The hour after her alarm is for a walk that goes on: once she is home, the link
    shows nothing more of where she was (her door, her track, her destination)."""
    cast, svc = local
    mira, _noor, _gus, walk = guardian_alarmed(cast, svc, sink)
    path = json.loads(sink.received[-1].body)["link"].removeprefix("http://127.0.0.1:8000")
    url = f"/api/walks/{walk['id']}"
    said = cast.client.post(f"{url}/{says}", json={"pin": PIN}, headers=mira.auth)
    assert said.status_code == 200, said.text
    if says == "ok":  # the alarm is over, her walk goes on: the link works its hour
        assert cast.client.get(path).status_code == 200
        assert cast.client.post(f"{url}/inside", json={"pin": PIN}, headers=mira.auth).is_success
    gone = cast.client.get(path)
    assert gone.status_code == 404
    assert "lat" not in gone.text
    assert "destination" not in gone.text


def test_her_number_goes_only_with_an_alarm_and_never_with_her_duress_pins(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_webhook(cast, noor, sink.url + "/noor")
    cast.client.patch("/api/me", json={"phone": "+358 40 123 4567"}, headers=mira.auth)
    first = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{first['id']}/sos", headers=mira.auth)
    send_all(svc)  # (an alarm not yet sent when it is over is not sent at all)
    cast.client.post(f"/api/walks/{first['id']}/inside", json={"pin": PIN}, headers=mira.auth)
    forced = cast.start_walk(mira, duress_pin="1357")
    url = f"/api/walks/{forced['id']}"
    cast.client.post(f"{url}/extend", json={"pin": "1357", "minutes": 10}, headers=mira.auth)
    cast.client.post(f"{url}/sos", headers=mira.auth)  # the alarm her phone is shown
    send_all(svc)
    told = [json.loads(r.body) for r in sink.received]
    with_number = [(t["walk_id"], t["kind"]) for t in told if "phone" in t["walker"]]
    assert with_number == [(first["id"], "alarm")]
    assert all("4567" not in render(t)[1] for t in told if t["walk_id"] == forced["id"])


def test_her_links_are_numbered_among_her_own_not_counting_the_alarms(cast: Cast) -> None:
    """The alarm climbed to Gus with a link of its own; her links are still 1 and 2, and she
    takes one back by its number. Her next walk's links count from 1 again."""
    mira, noor, gus = with_guardian(cast)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    url = f"/api/walks/{walk['id']}"
    cast.client.post(f"{url}/sos", headers=mira.auth)
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert cast.told(gus, "alarm")[0]["link_path"].startswith("/api/share/shr_")
    made = [cast.client.post(f"{url}/shares", json={}, headers=mira.auth) for _ in range(2)]
    assert [(m.status_code, m.json()["id"]) for m in made] == [(201, 1), (201, 2)]
    assert cast.client.delete(f"{url}/shares/1", headers=mira.auth).status_code == 204
    assert cast.client.delete(f"{url}/shares/1", headers=mira.auth).status_code == 404
    listed = cast.client.get(f"{url}/shares", headers=mira.auth).json()
    assert [(link["id"], link["revoked"]) for link in listed] == [(1, True), (2, False)]
    cast.client.post(f"{url}/ok", json={"pin": "2468"}, headers=mira.auth)
    cast.client.post(f"{url}/end", json={"pin": "2468"}, headers=mira.auth)
    second = cast.start_walk(mira)
    again = cast.client.post(f"/api/walks/{second['id']}/shares", json={}, headers=mira.auth)
    assert again.json()["id"] == 1


def test_an_unsigned_hook_gets_no_signature_one_with_a_secret_its_own(hook: WebhookSink) -> None:
    """Without WWM_HOOK_SECRET the hook's requests carry no signature: one made with an empty
    key is one anybody can make. With it, the HMAC of the body under that secret."""
    for secret in ("", "operator-secret"):
        sender = Webhook(hook.url + "/emergency", secret, True, outbound.Outbound())
        asyncio.run(sender.send(Alert("k-" + secret, {"kind": "alarm"})))
        got = hook.received[-1]
        if not secret:
            assert "x-walkwithme-signature" not in got.headers
            continue
        mac = hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
        assert got.headers["x-walkwithme-signature"] == "sha256=" + mac


def test_without_guardians_the_alarm_goes_to_the_hook_then_is_said_again(
    local: tuple[Cast, Services], hook: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    assert len(hook.received) == 1
    cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)  # at the top
    cast.clock.advance(minutes=9, seconds=59)
    assert svc.watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    assert svc.watchdog.tick_sync() == ["escalated"]
    send_all(svc)
    assert len(hook.received) == 2
    assert json.loads(hook.received[-1].body)["again"] is True
    assert svc.watchdog.failures == 0
    # Resolved: the hook, which was told, hears it is over (its operator stops looking).
    cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "Found her"}, headers=noor.auth
    )
    send_all(svc)
    over = json.loads(hook.received[-1].body)
    assert (len(hook.received), over["kind"], over["by"]["name"]) == (3, "alarm_resolved", "Noor")


def test_a_guardian_passed_over_on_the_way_to_the_hook_is_told_the_alarm_all_the_same(
    local: tuple[Cast, Services],
) -> None:
    """Gus's only channel was never tested: the ladder went past him to the hook, and he was
    told nothing of the alarm, then that it was over (an outside review). Told both now."""
    cast, svc = local
    mira, noor, gus = with_guardian(cast)
    cast.channel(gus, worked=False)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, gus) == [("hook", False)]
    cast.client.post(f"/api/walks/{walk['id']}/resolve", json={"note": "ok"}, headers=noor.auth)
    assert len(cast.told(gus, "alarm_resolved")) == 1


def rungs_told(cast: Cast, who: Member) -> list[tuple[str, bool]]:
    return [(a["rung"], a["again"]) for a in cast.told(who, "alarm") if "rung" in a]


def test_at_the_top_of_the_ladder_the_alarm_is_said_again_ten_minutes_after_it_got_there(
    cast: Cast,
) -> None:
    """No emergency hook: her guardians are the top of the ladder. They are told 3 minutes
    after the alarm, then again every 10 minutes (not 3 minutes after they were first told)."""
    mira, noor, gus = with_guardian(cast)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, gus) == [("guardians", False)]
    cast.clock.advance(minutes=9, seconds=59)
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, gus) == [("guardians", False), ("guardians", True)]
    cast.clock.advance(seconds=1)
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(minutes=9, seconds=58)
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, gus)[-1] == ("guardians", True)


def test_when_her_companions_are_the_top_they_hear_it_again_ten_minutes_after_the_alarm(
    cast: Cast,
) -> None:
    """No guardian with a channel, no hook: nobody above her companions. Three minutes after
    the alarm the ladder finds nobody to climb to; the companions hear it again 10 minutes
    after they first heard it, then every 10 minutes."""
    mira, noor, gus = with_guardian(cast)  # Gus has no channel: nobody would hear him told
    cast.channel(noor)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(minutes=6, seconds=59)
    assert cast.services.watchdog.tick_sync() == []
    assert [a.get("again") for a in cast.told(noor, "alarm")] == [None]
    cast.clock.advance(seconds=1)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, noor) == [("companions", True)]
    cast.clock.advance(seconds=1)
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(minutes=9, seconds=59)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, noor) == [("companions", True)] * 2
    assert rungs_told(cast, gus) == []


def test_a_companion_who_ended_the_contact_hears_nothing_more(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """(One that Mira ends during her walk hears of its alarm: test_watchdog.)"""
    cast, svc = local
    mira, noor, phone, walk = cast.walking()
    add_webhook(cast, noor, sink.url + "/noor")
    contact = cast.client.get("/api/contacts", headers=noor.auth).json()[0]
    cast.client.delete(f"/api/contacts/{contact['id']}", headers=noor.auth)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)
    assert sink.received == []


def test_the_resolved_alert_names_the_alarm_it_ends(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.client.post(f"/api/walks/{walk['id']}/resolve", json={"note": "ok"}, headers=noor.auth)
    assert cast.events(mira, walk)[-1]["reason"] == "sos"
    blank = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "  "}, headers=noor.auth
    )
    assert blank.status_code in (409, 422)


def test_the_address_an_apprise_url_really_reaches_is_the_one_checked() -> None:
    assert apprise_hosts("ntfy://mytopic") == []  # the public ntfy.sh
    assert apprise_hosts("ntfy://ntfy.example.org/topic") == ["ntfy.example.org"]
    assert apprise_hosts("tgram://123456789:AAHabc/12345") == []  # a bot id, not a host
    mail = "mailto://127.0.0.1:25?from=w@example.org&to=a@example.org"
    assert apprise_hosts(mail) == ["127.0.0.1"]
    relayed = "mailto://user:pw@example.org?smtp=10.0.0.5&to=a@example.org"
    assert apprise_hosts(relayed) == ["example.org", "10.0.0.5"]


def test_nobody_hears_alarm_after_resolved_when_the_alarm_was_still_retrying(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    mira, noor, phone, walk = cast.walking()
    add_webhook(cast, noor, sink.url + "/noor")
    sink.script = [503]
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(svc)  # the alarm fails once and waits to be retried...
    cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": "2468"}, headers=mira.auth)
    cast.clock.advance(minutes=5)
    send_all(svc)  # ...but she ended it meanwhile: only "resolved" goes out
    told = [(json.loads(r.body)["kind"], r.headers["x-answered"]) for r in sink.received]
    assert told == [("alarm", "503"), ("alarm_resolved", "200")]


def asked_on_her_channel(
    cast: Cast, svc: Services, sink: WebhookSink
) -> tuple[Member, Member, dict[str, Any], dict[str, Any]]:
    """Mira walking, Noor following; her phone falls silent and she is asked "Are you OK?"
    on her own channel: (Mira, Noor, the walk, the check's alert as her channel got it)."""
    mira, noor, phone, walk = cast.walking()
    add_webhook(cast, mira, sink.url + "/mira")
    cast.send(phone, cast.fix((60.1705, 24.9415)))
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    send_all(svc)
    check: dict[str, Any] = json.loads(sink.received[-1].body)
    return mira, noor, walk, check


def test_the_check_reaches_the_walker_with_a_page_to_answer_it_by_pin(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Her phone app can't show the question: her own channel gets a link to a plain page
    that takes her PIN, and shows nothing of the walk."""
    cast, svc = local
    mira, noor, walk, check = asked_on_her_channel(cast, svc, sink)
    assert check["kind"] == "check"
    path = check["link"].removeprefix("http://127.0.0.1:8000")
    assert path.startswith("/answer/ans_")
    page = cast.client.get(path)
    assert page.status_code == 200
    assert "Are you OK?" in page.text
    assert "Your phone stopped reporting." in page.text  # why she is asked
    assert "Send SOS: I need help" in page.text  # and, if she is not OK, help
    assert "60.17" not in page.text
    wrong = cast.client.post(path, data={"pin": "0000"})
    assert wrong.status_code == 403
    assert "not right" in wrong.text
    assert "Send SOS: I need help" in wrong.text
    right = cast.client.post(path, data={"pin": "2468"})
    assert right.status_code == 200
    assert "Thank you" in right.text
    assert [e["kind"] for e in cast.events(noor, walk)][-2:] == ["pin_refused", "check_answered"]
    assert svc.watchdog.tick_sync() == []
    cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": "2468"}, headers=mira.auth)
    over = cast.client.get(path)
    assert over.status_code == 404  # the walk is over: the link shows nothing
    assert "This link no longer works" in over.text
    assert 'href="/"' in over.text  # and where to go from there


def test_not_ok_she_sends_sos_from_the_page_her_question_came_with(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    cast, svc = local
    _mira, noor, walk, check = asked_on_her_channel(cast, svc, sink)
    channel = add_webhook(cast, noor, sink.url + "/noor")
    cast.client.post(f"/api/channels/{channel['id']}/test", headers=noor.auth)
    send_all(svc)  # Noor's alerts work: she would hear an alarm
    path = check["link"].removeprefix("http://127.0.0.1:8000")
    sent = cast.client.post(path, data={"sos": "1"})
    assert sent.status_code == 200
    assert "SOS sent" in sent.text
    assert "nobody is told" not in sent.text
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"
    said = cast.events(noor, walk)[-1]
    assert (said["kind"], said["reason"]) == ("alarm", "sos")
    # The page now says the alarm is on, and still takes her PIN to end it; and only what is
    # known: they were sent an alert, not "they are looking for you" while nobody had read it.
    again = cast.client.get(path)
    assert "The people following your walk are told" in again.text
    assert "Nobody has said they are on it yet" in again.text
    assert "looking for you" not in again.text
    acked = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)
    assert acked.status_code == 200
    assert "Noor is on it." in cast.client.get(path).text
    assert cast.client.post(path, data={"pin": "2468"}).status_code == 200
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] != "alarm"


# -- the notifier's loop: rung by the writer, one HTTP client --------------------------------


async def until(done: Callable[[], bool], what: str) -> None:
    """Wait for something the service does (not for a deadline): a bound only in case it
    never happens."""
    for _ in range(2_000):
        if done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def sent(svc: Services, n: int) -> bool:
    return svc.notifier.sent == n


def a_webhook_of_her_own(tx: Tx, url: str) -> tuple[int, int]:
    """Mira and a webhook channel of hers: (her id, the channel's id)."""
    mira = accounts.create_person(tx, accounts.NewPerson("mira@example.org", "Mira", "x"))
    channel = channels.add_channel(tx, mira.id, "webhook", url, "my server")
    return mira.id, int(channel["id"])


def test_a_rung_notifier_sends_at_once_without_waiting_for_its_next_look(
    db_url: str, tmp_path: Path, clock: FakeClock, sink: WebhookSink
) -> None:
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    svc.background_watchdog = True
    svc.notifier.idle_s = 3600.0  # its own next look is an hour away: only a ring wakes it

    async def story() -> None:
        svc.start(asyncio.get_running_loop())
        try:
            mira, channel = await svc.writer.run(lambda tx: a_webhook_of_her_own(tx, sink.url))
            await until(lambda: svc.notifier.asleep, "the notifier waits")
            # Nothing moves the clock: the test alert is due now, and its commit rings.
            await svc.writer.run(lambda tx: channels.send_test(tx, mira, channel))
            await until(lambda: svc.notifier.sent == 1, "the test alert is sent")
            assert len(sink.ok()) == 1
        finally:
            await svc.stop()

    asyncio.run(story())


def test_a_commit_without_alerts_leaves_the_notifier_asleep(
    db_url: str, tmp_path: Path, clock: FakeClock, sink: WebhookSink
) -> None:
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    svc.background_watchdog = True
    svc.notifier.idle_s = 3600.0

    async def story() -> None:
        svc.start(asyncio.get_running_loop())
        try:
            await until(lambda: svc.notifier.asleep, "the notifier waits")
            looks = svc.notifier.looks
            await svc.writer.run(lambda tx: a_webhook_of_her_own(tx, sink.url))
            # A ring would have been answered by the time a second commit is: none came.
            await svc.writer.run(lambda tx: None)
            await asyncio.sleep(0)
            assert svc.notifier.looks == looks
        finally:
            await svc.stop()

    asyncio.run(story())


def test_every_send_goes_through_one_http_client_closed_when_the_service_stops(
    db_url: str, tmp_path: Path, clock: FakeClock, sink: WebhookSink
) -> None:
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    svc.background_watchdog = True

    async def story() -> None:
        svc.start(asyncio.get_running_loop())
        try:
            mira, channel = await svc.writer.run(lambda tx: a_webhook_of_her_own(tx, sink.url))
            for n in (1, 2, 3):  # three alerts, each sent by a look of its own
                await svc.writer.run(lambda tx: channels.send_test(tx, mira, channel))
                await until(partial(sent, svc, n), f"alert {n} is sent")
            assert svc.notifier.http is svc.outbound
            assert svc.outbound.clients_made == 1
            assert svc.outbound.is_open
        finally:
            await svc.stop()

    asyncio.run(story())
    assert not svc.outbound.is_open
    assert len(sink.ok()) == 3


def test_a_receiver_that_takes_its_time_holds_up_only_its_own_channel(
    db_url: str, tmp_path: Path, clock: FakeClock, sink: WebhookSink
) -> None:
    """Mira's server doesn't answer yet: Noor's alert goes out meanwhile, and Mira's next
    alert waits for her first (each channel hears its alerts in the order they were made)."""
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    svc.background_watchdog = True
    sink.hold_next = True
    sink.answer_after_hold = True

    def noor_too(tx: Tx) -> tuple[int, int]:
        noor = accounts.create_person(tx, accounts.NewPerson("noor@example.org", "Noor", "x"))
        channel = channels.add_channel(tx, noor.id, "webhook", sink.url + "/noor", "hers")
        return noor.id, int(channel["id"])

    async def story() -> None:
        svc.start(asyncio.get_running_loop())
        try:
            mira, mine = await svc.writer.run(
                lambda tx: a_webhook_of_her_own(tx, sink.url + "/mira")
            )
            noor, hers = await svc.writer.run(noor_too)
            await svc.writer.run(lambda tx: channels.send_test(tx, mira, mine))
            await until(lambda: len(sink.received) == 1, "Mira's first alert reaches her server")
            await svc.writer.run(lambda tx: channels.send_test(tx, mira, mine))
            await svc.writer.run(lambda tx: channels.send_test(tx, noor, hers))
            await until(lambda: len(sink.received) == 2, "Noor's alert goes out meanwhile")
            assert [r.path for r in sink.received] == ["/mira", "/noor"]
            sink.release.set()  # Mira's server answers at last
            await until(lambda: svc.notifier.sent == 3, "Mira's second alert follows")
        finally:
            await svc.stop()

    asyncio.run(story())
    assert [r.path for r in sink.received] == ["/mira", "/noor", "/mira"]
    assert all(r.headers["x-answered"] == "200" for r in sink.received[1:])
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    assert svc.db.read_sync(outbox.backlog) == 0  # all three recorded as sent
    svc.db.dispose()


def test_a_stopping_notifier_records_what_it_sent_and_claims_nothing_more(
    db_url: str, tmp_path: Path, clock: FakeClock, sink: WebhookSink
) -> None:
    """SIGTERM while a send is in flight: it is finished and recorded; the alert made
    meanwhile stays in the outbox for the next start (nothing claimed that can't be sent)."""
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    svc.background_watchdog = True
    sink.hold_next = True
    sink.answer_after_hold = True

    async def story() -> None:
        svc.start(asyncio.get_running_loop())
        mira, channel = await svc.writer.run(lambda tx: a_webhook_of_her_own(tx, sink.url))
        await svc.writer.run(lambda tx: channels.send_test(tx, mira, channel))
        await until(lambda: len(sink.received) == 1, "the first send reaches the receiver")
        await svc.writer.run(lambda tx: channels.send_test(tx, mira, channel))
        stopping = asyncio.ensure_future(svc.stop())
        await until(lambda: svc.notifier._stopping.is_set(), "the notifier is told to stop")
        sink.release.set()
        await stopping

    asyncio.run(story())
    assert svc.notifier.sent == 1
    assert len(sink.received) == 1
    svc = make_services(db_url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    assert svc.db.read_sync(outbox.backlog) == 1  # the second alert, for the next start
    svc.db.dispose()


def test_the_watchdogs_decisions_and_the_notifiers_claims_go_ahead_of_the_fixes(
    local: tuple[Cast, Services], sink: WebhookSink
) -> None:
    """Both are urgent writer jobs: committed in groups of their own, ahead of the phones'."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_webhook(cast, mira, sink.url + "/mira")
    cast.start_walk(mira)
    writer = svc.writer
    before = writer.urgent_groups
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    judged = writer.urgent_groups
    assert judged > before
    assert send_all(svc) == 1
    assert writer.urgent_groups > judged  # the claim, and the record
    assert [r.path for r in sink.ok()] == ["/mira"]


def test_a_claim_leaves_alone_the_channels_that_are_still_sending(writer: Writer) -> None:
    """The next alert of a channel (or of the operator's hook) with a send in flight waits
    for it; everybody else's is claimed."""

    def two_alerts(tx: Tx) -> int:
        mira, channel = a_webhook_of_her_own(tx, "https://example.org/mira")
        alerts.enqueue(tx, None, "test", {"n": 1}, [mira], hook=True)
        return channel

    channel = writer.run_sync(two_alerts)

    def claimed(busy: set[int | None]) -> set[int | None]:
        found = writer.run_sync(partial(outbox.claim, busy=busy))
        writer.run_sync(lambda tx: tx.conn.execute(deliveries.update().values(lease_until=None)))
        return {c.channel_id for c in found}

    assert claimed(set()) == {None, channel}
    assert claimed({channel}) == {None}  # the hook's row has no channel, and is not busy
    assert claimed({None}) == {channel}
    assert claimed({None, channel}) == set()


def test_a_companions_channel_never_tested_is_not_counted_on_and_the_alarm_climbs_at_once(
    cast: Cast,
) -> None:
    """Noor's only channel is a webhook he never tested (a typo: it can't work); her walk's
    start said nobody would hear. Her SOS goes to her guardian at the watchdog's next look,
    not 3 minutes on, as it would for a channel that has worked."""
    mira, noor, gus = with_guardian(cast)
    cast.channel(noor, worked=False)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    assert "Nobody would hear an alarm" in walk["warnings"][0]
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, gus) == [("guardians", False)]


def test_said_again_at_the_top_it_reaches_her_companions_and_guardians_too(
    cast: Cast,
) -> None:
    """The operator's hook is the top (mistyped, or down: nothing tells the ladder). Ten
    minutes on, the alarm is said again to the hook and to everyone told before it: her
    companions and her guardians hear it is still going on."""
    cast.services.watchdog.has_hook = True
    mira, noor, gus = with_guardian(cast)
    cast.channel(noor)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    for _ in range(2):  # guardians at 3 minutes, the hook at 6
        cast.clock.advance(minutes=3)
        assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, noor) == []  # (told when the alarm began, with no rung)
    cast.clock.advance(minutes=10)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    assert rungs_told(cast, noor) == [("hook", True)]
    assert rungs_told(cast, gus) == [("guardians", False), ("hook", True)]


def test_an_apprise_channel_that_fails_says_why_in_apprises_own_words(
    local: tuple[Cast, Services], mailbox: Mailbox
) -> None:
    """Noor's Apprise email signs in to a mail server that takes no sign-in: his channel
    says what Apprise said of it ("SMTP AUTH ..."), not only "refused or unreachable", and
    names neither his address nor his URL (it is logged too)."""
    cast, svc = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_email(cast, noor, mailbox, login="noor:secret@")
    cast.start_walk(mira)
    assert send_all(svc) == 1
    failing = cast.client.get("/api/channels", headers=noor.auth).json()[0]
    said = failing["last_error"]
    assert said.startswith("the notification service refused or was unreachable: "), said
    assert "AUTH" in said
    assert noor.email not in said
    assert "secret" not in said
