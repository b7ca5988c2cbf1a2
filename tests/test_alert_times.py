"""When, in an alert's words: the alarm's own time and when she was last seen, by the clock of
whoever reads it, and how long ago as of when it is sent (an email that goes out an hour late
says so), through every channel that carries words: email, Web Push, and a webhook's JSON
read by its receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import HOME, PIN, Cast, Member
from tests.sinks import (
    PushService,
    WebhookSink,
    push_service,
    smtp_server,
    webhook_sink,
)
from tests.test_delivery import add_email, add_webhook, plain_text
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.notify.messages import render

# 22:00 in Helsinki (summer time, UTC+3), 15:00 in New York (UTC-4).
EVENING = int(datetime(2026, 5, 28, 19, 0, tzinfo=UTC).timestamp() * 1000)
WHERE = (60.1705, 24.9415)


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def push() -> Iterator[PushService]:
    with push_service() as running:
        yield running


def serve(db_url: str, tmp_path: Path, clock: FakeClock, **settings: str) -> Iterator[Cast]:
    """A service whose channels may reach the receivers on this machine; its clock at 22:00
    in Helsinki."""
    clock.set(EVENING)
    svc = make_services(
        db_url, tmp_path, clock, None, WWM_ALLOW_PRIVATE_ADDRESSES="true", **settings
    )
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
        yield Cast(client, svc, clock)
    svc.db.dispose()


@pytest.fixture
def local(db_url: str, tmp_path: Path, clock: FakeClock, hook: WebhookSink) -> Iterator[Cast]:
    """With the operator's emergency hook."""
    hooked = {"WWM_EMERGENCY_HOOK": hook.url + "/emergency", "WWM_HOOK_SECRET": "secret"}
    yield from serve(db_url, tmp_path, clock, **hooked)


@pytest.fixture
def hookless(db_url: str, tmp_path: Path, clock: FakeClock, push: PushService) -> Iterator[Cast]:
    """Without a hook (her companions are the top of the ladder), and a push service that
    knows the server's key."""
    for cast in serve(db_url, tmp_path, clock):
        push.server_key = cast.client.get("/api/push/key").json()["public_key"]
        yield cast


def in_zone(cast: Cast, who: Member, timezone: str) -> None:
    changed = cast.client.patch("/api/me", json={"timezone": timezone}, headers=who.auth)
    assert changed.status_code == 200, changed.text


def sos_after_a_fix(cast: Cast, mira: Member) -> dict[str, Any]:
    """Mira (in Helsinki) sets off at 22:00, her phone puts her by Kaivokatu at 22:00:40,
    and she presses SOS at 22:03."""
    in_zone(cast, mira, "Europe/Helsinki")
    walk = cast.start_walk(mira)
    cast.clock.advance(seconds=40)
    cast.send(cast.device(mira), cast.fix(WHERE))
    cast.clock.advance(minutes=2, seconds=20)
    sos = cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert sos.status_code == 200, sos.text
    return walk


def test_an_alarm_email_sent_an_hour_late_says_when_and_how_long_ago_as_it_is_sent(
    local: Cast,
) -> None:
    """The notifier was down (or her companion's mail server was) for an hour: the email
    that goes out then says the alarm's time and when she was last seen, by the clock, and
    how long ago that is now, not the "3 min ago" of when the alarm was made."""
    cast = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    in_zone(cast, noor, "Europe/Helsinki")
    with smtp_server() as mailbox:
        add_email(cast, noor, mailbox)
        sos_after_a_fix(cast, mira)
        cast.clock.advance(minutes=65)  # 23:08: nothing was sent meanwhile
        cast.services.notifier.tick_sync()
        alarm = next(m for m in mailbox.messages if m["Subject"].startswith("ALARM"))
    said = [line.strip() for line in plain_text(alarm).splitlines()]
    assert "Raised at 22:03 (1 h 5 min ago)." in said
    assert "Last seen at 22:00 (1 h 7 min ago): 60.17050, 24.94150 (±8 m)." in said


def test_a_companion_in_another_zone_reads_her_own_clock_and_the_hook_the_walkers(
    local: Cast, sink: WebhookSink, hook: WebhookSink
) -> None:
    """Noor lives in New York: the alarm about Mira, in Helsinki, says 15:03 to her, as her
    own clock does. Her webhook refused it at first; the retry half an hour later says how
    old her last position is then (its JSON too: `age_s`, `sent_at`, and the zone it is said
    in). The operator's hook, who has no zone, hears it by Mira's clock."""
    cast = local
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    in_zone(cast, noor, "America/New_York")
    add_webhook(cast, noor, sink.url + "/noor")
    sink.script = [503, 503]  # "started" and the alarm, refused
    sos_after_a_fix(cast, mira)
    cast.services.notifier.tick_sync()
    cast.clock.advance(minutes=30)  # 22:33 in Helsinki, 15:33 in New York
    cast.services.notifier.tick_sync()
    alarms = [json.loads(r.body) for r in sink.received if b'"kind":"alarm"' in r.body]
    refused, told = alarms
    assert refused["last_position"]["age_s"] == 140  # as of the first try
    assert told["last_position"]["age_s"] == 32 * 60 + 20  # as of the one that got through
    assert (told["timezone"], told["sent_at"]) == ("America/New_York", cast.clock.now_ms())
    said = render(told)[1].splitlines()
    # ...and hers: 15:03 in New York is 22:03 at night by her clock, and the emergency number
    # may not be Noor's (an outside review).
    assert "Raised at 15:03 (30 min ago); 22:03 by Mira's clock." in said
    assert told["walker_timezone"] == "Europe/Helsinki"
    assert (
        "If you think Mira is in danger, call 112 (far from Mira, call your own emergency "
        "number and say where Mira is)."
    ) in said
    assert "Last seen at 15:00 (32 min ago): 60.17050, 24.94150 (±8 m)." in said
    # Nobody said "I'm on it": the hook hears it, by Mira's clock, with when it began.
    assert "escalated" in cast.services.watchdog.tick_sync()
    cast.services.notifier.tick_sync()
    to_hook = json.loads(hook.received[-1].body)
    assert to_hook["timezone"] == "Europe/Helsinki"
    assert "walker_timezone" not in to_hook  # (one zone: said once)
    assert "Raised at 22:03 (30 min ago)." in render(to_hook)[1].splitlines()


def test_a_push_said_again_arrival_and_end_say_their_own_times_by_her_clock(
    hookless: Cast, push: PushService
) -> None:
    """Web Push to a companion in New York: the alarm said again ten minutes on says when
    it began, not when it was said again; its end, and her arrival after it, pushed five
    minutes late, say when they happened."""
    cast = hookless
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    in_zone(cast, noor, "America/New_York")
    made = cast.client.post(
        "/api/channels",
        json={"kind": "webpush", "target": push.subscribe("noor"), "label": "browser"},
        headers=noor.auth,
    )
    assert made.status_code == 201, made.text
    walk = sos_after_a_fix(cast, mira)
    cast.services.notifier.tick_sync()
    cast.clock.advance(minutes=3)  # 22:06: her companions are the top, nothing is said
    cast.services.watchdog.tick_sync()
    cast.clock.advance(minutes=7)  # 22:13: said again to them
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    cast.clock.advance(minutes=1)
    cast.services.notifier.tick_sync()
    again = push.delivered()[-1]
    said = again["body"].splitlines()
    assert "Said again: the alarm is still going on." in said
    assert "Raised at 15:03 (11 min ago); 22:03 by Mira's clock." in said
    assert "Last seen at 15:00 (13 min ago): 60.17050, 24.94150 (±8 m)." in said
    # 22:14: she ends it with her PIN, and is at her door half a minute later.
    over = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert over.status_code == 200, over.text
    cast.clock.advance(seconds=30)
    cast.send(cast.device(mira, "other phone"), cast.fix(HOME))
    cast.clock.advance(minutes=5)
    cast.services.notifier.tick_sync()
    bodies = {m["kind"]: m["body"].splitlines() for m in push.delivered()[-2:]}
    assert "Ended at 15:14 (5 min ago)." in bodies["alarm_resolved"]
    assert "At 15:14 (5 min ago)." in bodies["arrived"]


def test_an_alert_read_after_midnight_says_which_day_its_times_were() -> None:
    """Raised at 23:50 in Helsinki, sent at 01:20: "23:50" alone would read as a time to
    come, or as tonight's."""
    raised = EVENING + 110 * 60_000  # 23:50 in Helsinki
    alarm = {
        "kind": "alarm",
        "reason": "silent",
        "at": raised,
        "walker": {"name": "Mira"},
        "last_position": {"t": raised - 3 * 60_000, "lat": 60.1705, "lon": 24.9415},
        "sent_at": raised + 90 * 60_000,
        "timezone": "Europe/Helsinki",
    }
    said = render(alarm)[1].splitlines()
    assert "Raised at 23:50 yesterday (1 h 30 min ago)." in said
    assert "Last seen at 23:47 yesterday (1 h 33 min ago): 60.17050, 24.94150." in said
