"""After her duress PIN, whether her companions would hear an alarm is said to her devices as
her real PIN would have left it (usecases/cover_channels.py): each evening is played with her
PIN and with her duress PIN, and her pages must say the same after either. Found by a review
of the change: alerts both PINs send (her messages, a "started" still being tried, a real
alarm's retries, what her real PIN says at her PIN's moment) were kept from what her devices
are told, and the silent alarm's retries were counted as her real PIN's one alert."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.people import Cast, Member
from tests.sinks import WebhookSink
from tests.test_delivery import add_webhook, hook, local, send_all, sink  # noqa: F401
from tests.test_pages import page, text_of
from tests.test_walker_pages import FORM, cookie, csrf_of
from walkwithme.services import Services

PINS = pytest.mark.parametrize("pin", ["2468", "1357"], ids=["her PIN", "her duress PIN"])
TOLD = "SOS sent: the people following your walk are told."
NOBODY = "SOS sent, but none of your companions has alerts that work"


def sos_said(cast: Cast, mira: Member, walk: dict[str, Any]) -> str:
    """Her SOS from her page, and what the page says of it."""
    sent = cast.client.post(
        f"/walks/{walk['id']}/sos",
        data={"csrf": csrf_of(page(cast.client, "/", mira).text)},
        headers={**FORM, **cookie(mira), "accept": "application/json"},
    )
    said: str = sent.json()["said"]
    return said


def says_ok(cast: Cast, mira: Member, walk: dict[str, Any], pin: str) -> None:
    """She says she is OK, with this PIN (her real one, or her duress PIN)."""
    answered = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": pin}, headers=mira.auth)
    assert answered.status_code == 200, answered.text


def two(cast: Cast) -> tuple[Member, Member]:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    return mira, noor


@PINS
def test_her_message_reaches_him_after_either_pin(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """His alerts untested; she answers "Are you OK?", then sends a message: it reaches him
    (his alerts have worked), after either PIN."""
    cast, svc = local
    mira, noor = two(cast)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, mira, sink.url + "/mira", tested=False)
    add_webhook(cast, noor, sink.url + "/noor", tested=False)
    cast.send(phone, cast.fix((60.1705, 24.9415)))
    cast.clock.advance(minutes=3)
    assert svc.watchdog.tick_sync() == ["check"]
    send_all(svc)
    says_ok(cast, mira, walk, pin)
    send_all(svc)
    said = cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "Taking the long way"}, headers=mira.auth
    )
    assert said.status_code == 201, said.text
    send_all(svc)
    assert sos_said(cast, mira, walk) == TOLD


@PINS
def test_a_started_alert_failing_across_her_pin_fails_after_either(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """ "Mira started a walk" fails at his server, and goes on failing after her answer: his
    only channel is failing, and her page says nobody would hear, after either PIN (after her
    duress PIN it said he is told: a lie, and a difference)."""
    cast, svc = local
    mira, noor = two(cast)
    add_webhook(cast, noor, sink.url + "/noor")
    sink.script = [503] * 1000
    walk = cast.start_walk(mira, duress_pin="1357")
    for _ in range(3):
        send_all(svc)
        cast.clock.advance(seconds=45)
    says_ok(cast, mira, walk, pin)
    for _ in range(6):
        send_all(svc)
        cast.clock.advance(minutes=2)
    [channel] = cast.client.get("/api/channels", headers=noor.auth).json()
    assert channel["status"] == "failing"
    assert sos_said(cast, mira, walk).startswith(NOBODY)


@PINS
def test_an_alarm_she_ends_while_his_server_is_down_is_said_alike(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """Her SOS fails at his server until his channel is failing; she ends it with either PIN;
    his server is back: her real PIN's "the alarm is over" reaches him, her duress PIN's
    silent alarm does, and her next SOS says he is told after either."""
    cast, svc = local
    mira, noor = two(cast)
    add_webhook(cast, noor, sink.url + "/noor")
    walk = cast.start_walk(mira, duress_pin="1357")
    send_all(svc)
    sink.script = [503] * 6
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200
    for _ in range(6):
        send_all(svc)
        cast.clock.advance(seconds=70)
    says_ok(cast, mira, walk, pin)
    sink.script = []
    send_all(svc)
    assert sos_said(cast, mira, walk) == TOLD


@PINS
def test_inside_while_his_server_is_down_for_an_hour_is_said_alike(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """She says she is inside while his server is down for 80 minutes: her real PIN's "Mira is
    inside" is given up after 40 minutes, and his channel stays failing; her duress PIN's
    silent alarm, tried for hours, reached him when his server came back, and her next walk's
    page said he would hear. After either, her start page says he has no working alerts."""
    cast, svc = local
    mira, noor = two(cast)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, noor, sink.url + "/noor")
    sink.script = [503] * 100_000
    done = cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": pin}, headers=mira.auth)
    assert done.status_code == 200, done.text
    for _ in range(16):
        send_all(svc)
        svc.watchdog.tick_sync()
        cast.clock.advance(minutes=5)
    sink.script = []
    for _ in range(6):
        send_all(svc)
        svc.watchdog.tick_sync()
        cast.clock.advance(minutes=5)
    start = text_of(page(cast.client, "/walks/new", mira).text)
    assert re.search(r"Noor \(no working alerts\)", start), start


UNHEARD = "ALARM: none of your companions has alerts that work: call someone"


def her_headline(cast: Cast, mira: Member, walk: dict[str, Any]) -> str:
    shown = page(cast.client, f"/walks/{walk['id']}", mira).text
    return (
        "unheard"
        if UNHEARD in shown
        else "told"
        if "ALARM: your companions are told" in (shown)
        else "neither"
    )


def ladder(cast: Cast, svc: Services, minutes: int) -> None:
    for _ in range(minutes):
        cast.clock.advance(minutes=1)
        svc.watchdog.tick_sync()
        send_all(svc)


def his_channel_breaks(cast: Cast, svc: Services, him: Member) -> None:
    """The ladder and its repeats go on for 25 minutes, his server answering 404 to each."""
    ladder(cast, svc, 25)
    [channel] = cast.client.get("/api/channels", headers=him.auth).json()
    assert channel["status"] == "broken"


@PINS
def test_an_alarm_she_is_shown_breaking_his_channel_is_said_after_either_pin(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """Her answer with either PIN, then her SOS reaches Noor; then his server answers 404 (his
    channel broken by the alarm's ladder saying it again): her real PIN's page says to call
    someone, and her duress PIN's said he is told (a second review): the silent alarm's
    ladder stands for the alarm she is shown."""
    cast, svc = local
    mira, noor = two(cast)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, noor, sink.url + "/noor")
    send_all(svc)
    says_ok(cast, mira, walk, pin)
    send_all(svc)
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200
    send_all(svc)
    assert her_headline(cast, mira, walk) == "told"
    sink.script = [404] * 1000
    his_channel_breaks(cast, svc, noor)
    assert her_headline(cast, mira, walk) == "unheard"


@PINS
def test_on_it_breaking_the_other_companions_channel_is_said_after_either_pin(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """Zed's alerts work, Noor has none; her SOS reaches Zed, then Noor's "I'm on it" meets
    his server's 404: after either PIN her page and her SOS say nobody would hear."""
    cast, svc = local
    mira, noor = two(cast)
    zed = cast.person("Zed")
    cast.link(mira, zed)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, zed, sink.url + "/zed")
    send_all(svc)
    says_ok(cast, mira, walk, pin)
    send_all(svc)
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200
    send_all(svc)
    sink.script = [404] * 1000
    assert cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth).status_code == 200
    send_all(svc)
    assert her_headline(cast, mira, walk) == "unheard"
    assert sos_said(cast, mira, walk).startswith(NOBODY)


@PINS
def test_a_wrong_pin_lock_then_either_pin_and_his_channel_broken_are_said_alike(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """Three wrong PINs raise the alarm (it reaches Noor); her PIN or her duress PIN is
    refused alike; his server then answers 404 to the ladder: said alike."""
    cast, svc = local
    mira, noor = two(cast)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, noor, sink.url + "/noor")
    for _ in range(3):
        cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": "0000"}, headers=mira.auth)
    send_all(svc)
    cast.clock.advance(minutes=16)
    refused = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": pin}, headers=mira.auth)
    assert refused.status_code == 403
    send_all(svc)
    sink.script = [404] * 1000
    ladder(cast, svc, 25)
    assert her_headline(cast, mira, walk) == "unheard"


@PINS
def test_a_channel_the_silent_alarm_broke_is_never_said_to_hear(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """His server answers 404 from her answer on; then her SOS. After her duress PIN the
    silent alarm broke his channel, so nothing was tried there again, and his shadow said his
    alerts work: her page said he is told while nobody would hear (a third review). A shadow
    only ever takes someone off."""
    cast, svc = local
    mira, noor = two(cast)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, noor, sink.url + "/noor")
    send_all(svc)
    sink.script = [404] * 1000
    says_ok(cast, mira, walk, pin)
    send_all(svc)
    ladder(cast, svc, 2)
    sos_said(cast, mira, walk)
    his_channel_breaks(cast, svc, noor)
    assert her_headline(cast, mira, walk) == "unheard"


@PINS
def test_her_next_walk_after_the_silent_alarm_broke_his_channel_says_nobody_hears(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
    pin: str,
) -> None:
    """ "I'm inside" with either PIN, then his server answers 404 (after her duress PIN, the
    silent alarm's ladder breaks his channel); she starts her next walk and presses SOS: it
    reaches nobody, and her page must say to call someone (after her duress PIN it said he
    is told: a third review)."""
    cast, svc = local
    mira, noor = two(cast)
    walk = cast.start_walk(mira, duress_pin="1357")
    add_webhook(cast, noor, sink.url + "/noor")
    send_all(svc)
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": pin}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text
    send_all(svc)
    sink.script = [404] * 100_000
    ladder(cast, svc, 20)
    after = cast.start_walk(mira, duress_pin="1357")
    ladder(cast, svc, 3)
    [channel] = cast.client.get("/api/channels", headers=noor.auth).json()
    if channel["status"] == "broken":  # (her duress PIN's silent alarm broke it)
        assert sos_said(cast, mira, after).startswith(NOBODY)
    else:  # (her real PIN's walk is over: nothing was sent him since)
        assert sos_said(cast, mira, after) == TOLD
