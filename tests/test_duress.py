"""The duress PIN: at every place that takes her PIN, her own devices receive exactly the same
bytes as with her real PIN, while those looking out for her get a silent alarm.

Each moment is played twice, on two fresh services with the same fake clock: once with her
PIN, once with her duress PIN. Everything her devices can receive is captured (the answers to
her requests, her walk, her timeline, her track, her live stream, what her phone is told of its
fixes, her own notifications) and compared byte for byte.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import HOME, PIN, START, Cast, Member, as_tested, between
from tests.test_pages import cookie, csrf_of, page
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.notify.messages import render
from walkwithme.services import Services
from walkwithme.store.schema import alerts, deliveries, devices, events, people, walks
from walkwithme.usecases.accounts import create_invite

DURESS = "1357"


@dataclass
class Run:
    cast: Cast
    mira: Member
    noor: Member
    gus: Member
    phone: str
    walk: dict[str, Any]
    seen: list[bytes] = field(default_factory=list)  # what her devices received, in order
    here: tuple[float, float] = START  # where her phone last reported from
    # Taken down at the end of a twin run (`twins`): her notifications, and what Noor sees.
    told: list[str] = field(default_factory=list)
    noor_sees: list[dict[str, Any]] = field(default_factory=list)
    noor_walk: dict[str, Any] = field(default_factory=dict)
    noor_told: list[dict[str, Any]] = field(default_factory=list)
    her_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"/api/walks/{self.walk['id']}"

    def as_mira(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.cast.client.request(method, path, headers=self.mira.auth, **kwargs)
        self.seen.append(f"{answer.status_code} ".encode() + answer.content)
        return answer

    def phone_sends(self, where: tuple[float, float]) -> None:
        self.here = where
        answer = self.cast.client.post(
            "/api/fixes",
            json={"fixes": [self.cast.fix(where)]},
            headers={"Authorization": f"Bearer {self.phone}"},
        )
        self.seen.append(f"{answer.status_code} ".encode() + answer.content)

    def look(self, **advance: float) -> list[str]:
        """The watchdog looks; then what her devices hold is taken down (her timeline, her
        notifications), so the two runs are compared at every look, not only at the end:
        she must be asked at the same moment, not merely at some point."""
        self.cast.clock.advance(**advance)
        decided = self.cast.services.watchdog.tick_sync()
        self.as_mira("GET", f"{self.url}/events")
        self.seen.append(json.dumps(her_notifications(self.cast.services, self.mira)).encode())
        return decided

    def companion_sees(self) -> dict[str, Any]:
        found: dict[str, Any] = self.cast.client.get(self.url, headers=self.noor.auth).json()
        return found


@contextmanager
def scene(tmp_path: Path, name: str, duress_in_profile: bool, **walk: Any) -> Iterator[Run]:
    """Mira walking home with her phone; Noor her companion, Gus her guardian; everyone has a
    channel (nothing is sent: the outbox is what we read). `walk`: how her walk differs."""
    clock = FakeClock()
    svc = make_services(
        f"sqlite:///{tmp_path / f'{name}.db'}",
        tmp_path / name,
        clock,
        WWM_ALLOW_PRIVATE_ADDRESSES="true",
    )
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
        cast = Cast(client, svc, clock)
        mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
        cast.link(mira, noor)
        cast.link(mira, gus, role="guardian")
        for who in (mira, noor, gus):
            made = client.post(
                "/api/channels",
                json={"kind": "webhook", "target": f"http://127.0.0.1:9/{who.name}"},
                headers=who.auth,
            )
            assert made.status_code == 201, made.text
        # As if each had been tested once: the ladder counts only on channels that worked.
        as_tested(svc)
        phone = cast.device(mira)
        extra: dict[str, Any] = {}
        if duress_in_profile:
            set_it = client.put(
                "/api/me/duress-pin",
                json={"password": "correct horse battery", "duress_pin": DURESS},
                headers=mira.auth,
            )
            assert set_it.status_code == 200, set_it.text
        else:
            extra["duress_pin"] = DURESS
        started = cast.start_walk(mira, **extra, **walk)
        yield Run(cast, mira, noor, gus, phone, started)
    svc.db.dispose()


def her_notifications(svc: Services, mira: Member) -> list[str]:
    """The alerts her own channels would carry; the answer page's token and the alert's
    idempotency key are random in each run (a capability, and a name that says nothing), so
    they are masked."""
    with svc.db.read_engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts.c.payload)
            .join(deliveries, deliveries.c.alert_id == alerts.c.id)
            .where(deliveries.c.person_id == mira.id)
            .order_by(alerts.c.id)
        )
        payloads = [json.dumps(r.payload, sort_keys=True) for r in rows]
    payloads = [re.sub(r"wwm-alert-[A-Za-z0-9_-]+", "wwm-alert-KEY", p) for p in payloads]
    return [re.sub(r"ans_[A-Za-z0-9_-]+", "ans_TOKEN", p) for p in payloads]


def what_her_devices_hold(run: Run) -> list[bytes]:
    """After the moment: her walk, her timeline, her track, its exports, her live stream."""
    run.as_mira("GET", run.url)
    run.as_mira("GET", f"{run.url}/events")
    run.as_mira("GET", f"{run.url}/fixes")
    run.as_mira("GET", f"{run.url}/export.geojson")
    run.as_mira("GET", f"{run.url}/export.gpx")
    run.as_mira("GET", "/api/walks")
    run.as_mira("GET", f"{run.url}/looks")
    events = len(run.cast.events(run.mira, run.walk))
    fixes = len(run.cast.client.get(f"{run.url}/fixes", headers=run.mira.auth).json())
    with run.cast.client.websocket_connect(f"{run.url}/live", headers=run.mira.auth) as ws:
        # Her stream: the walk's summary, every event and fix so far, then (if the walk is over
        # for her) "closed".
        for _ in range(1 + events + fixes):
            run.seen.append(ws.receive_text().encode())
        if not run.cast.client.get(run.url, headers=run.mira.auth).json()["live"]:
            run.seen.append(ws.receive_text().encode())
    return run.seen


Moment = Callable[[Run, str], None]


def answers_the_check(run: Run, pin: str) -> None:
    run.phone_sends(between(START, HOME, 0.2))
    assert run.look(minutes=5, seconds=1) == ["check"]  # she stopped: stalled
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})


def answers_on_the_page(run: Run, pin: str) -> None:
    assert run.look(minutes=3) == ["check"]  # her phone never reported: silent
    with run.cast.services.db.read_engine.connect() as conn:
        payload = conn.execute(
            sa.select(alerts.c.payload).where(alerts.c.kind == "check")
        ).scalar_one()
    page = payload["link_path"]
    run.seen.append(run.cast.client.get(page).content)
    run.seen.append(run.cast.client.post(page, data={"pin": pin}).content)


def says_she_is_inside(run: Run, pin: str) -> None:
    run.cast.clock.advance(minutes=10)
    run.phone_sends(HOME)
    run.cast.clock.advance(minutes=1)
    run.as_mira("POST", f"{run.url}/inside", json={"pin": pin, "note": "Thanks, come in?"})


def ends_the_walk(run: Run, pin: str) -> None:
    run.cast.clock.advance(minutes=4)
    run.phone_sends(between(START, HOME, 0.3))
    run.as_mira("POST", f"{run.url}/end", json={"pin": pin, "note": "Got a lift"})


def extends_the_walk(run: Run, pin: str) -> None:
    run.cast.clock.advance(minutes=2)
    run.phone_sends(between(START, HOME, 0.1))
    run.as_mira("POST", f"{run.url}/extend", json={"pin": pin, "minutes": 15})


def ends_an_alarm_she_is_in(run: Run, pin: str) -> None:
    assert run.look(minutes=3) == ["check"]
    assert run.look(seconds=90) == ["alarm"]
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})


def ends_then_life_goes_on(run: Run, pin: str) -> None:
    """After the walk is over for her: her companion writes, her phone (its battery running
    low) goes on reporting, and she opens the link she shared earlier."""
    shared = run.cast.client.post(f"{run.url}/shares", json={}, headers=run.mira.auth)
    link = shared.json()["token"]  # (random in each run: not compared)
    run.cast.clock.advance(minutes=4)
    run.phone_sends(between(START, HOME, 0.3))
    run.as_mira("POST", f"{run.url}/end", json={"pin": pin, "note": "Got a lift"})
    run.cast.client.post(
        f"{run.url}/messages", json={"text": "Where are you?"}, headers=run.noor.auth
    )
    run.cast.clock.advance(minutes=1)
    answer = run.cast.client.post(
        "/api/fixes",
        json={"fixes": [run.cast.fix(between(START, HOME, 0.6), battery=4)]},
        headers={"Authorization": f"Bearer {run.phone}"},
    )
    run.seen.append(answer.content)
    run.seen.append(run.cast.client.get(f"/api/share/{link}").content)


def wrong_pins_around_it(run: Run, pin: str) -> None:
    """Two wrong PINs, then her PIN (either), then one more wrong one: a right PIN clears the
    count, so no alarm is shown either way."""
    for _ in range(2):
        run.as_mira("POST", f"{run.url}/extend", json={"pin": "0000", "minutes": 5})
    run.as_mira("POST", f"{run.url}/extend", json={"pin": pin, "minutes": 5})
    run.as_mira("POST", f"{run.url}/extend", json={"pin": "0000", "minutes": 5})


def after_her_sos(run: Run, pin: str) -> None:
    """Her PIN extends the walk, she presses SOS, and answers it with her real PIN."""
    run.as_mira("POST", f"{run.url}/extend", json={"pin": pin, "minutes": 5})
    run.as_mira("POST", f"{run.url}/sos")
    run.as_mira("POST", f"{run.url}/ok", json={"pin": PIN})


def inside_then_found_safe(run: Run, pin: str) -> None:
    """She says she is inside; after her duress PIN the alarm climbs to Gus, who opens its
    link, Noor follows the walk, then marks her safe: her devices show none of it, after the
    alarm is over too (who looked at her walk included)."""
    says_she_is_inside(run, pin)
    run.look(minutes=3)
    with run.cast.services.db.read_engine.connect() as conn:
        paths = [
            r.payload.get("link_path")
            for r in conn.execute(sa.select(alerts.c.payload).where(alerts.c.kind == "alarm"))
        ]
    for path in paths:
        if path:
            run.cast.client.get(path)  # Gus opens the alarm's link
    run.cast.client.get(run.url, headers=run.noor.auth)
    run.cast.client.post(f"{run.url}/resolve", json={"note": "found her"}, headers=run.noor.auth)
    run.look(minutes=1)


def heard_then_inside(run: Run, pin: str) -> None:
    """Her phone said it is alive without a position (Traccar Client 10's heartbeat), then
    sent a fix too inaccurate to draw: both count as her phone heard (the walk's `heard_at`),
    which her devices see as her real PIN left it."""
    run.cast.clock.advance(minutes=2)
    run.phone_sends(between(START, HOME, 0.2))
    t = run.cast.clock.now_ms()
    answer = run.cast.client.post(f"/api/traccar?id={run.phone}&timestamp={t // 1000}&batt=69")
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)
    run.cast.clock.advance(seconds=30)
    vague = {**run.cast.fix(between(START, HOME, 0.25)), "accuracy": 800}
    answer = run.cast.client.post(
        "/api/fixes", json={"fixes": [vague]}, headers={"Authorization": f"Bearer {run.phone}"}
    )
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)
    run.cast.clock.advance(minutes=1)
    run.as_mira("POST", f"{run.url}/inside", json={"pin": pin})
    # Her phone, indoors, sends its cached position with its old time again: over, for her
    # devices, either way (after her duress PIN it says her phone is alive to those looking
    # for her, never to her devices).
    run.cast.clock.advance(seconds=10)
    cached = f"/api/traccar?id={run.phone}&lat={START[0]}&lon={START[1]}&timestamp={t // 1000}"
    answer = run.cast.client.post(cached)
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)
    run.as_mira("GET", run.url)


def answers_and_they_come_looking(run: Run, pin: str) -> None:
    """She answers a check; whoever it alarms opens her walk and follows it live, as they
    would: her list of who looked showed them, one after another, within a minute of her
    duress PIN (an outside review). With her real PIN nobody is alarmed, and nobody looks."""
    answers_the_check(run, pin)
    run.cast.clock.advance(seconds=30)
    if run.cast.told(run.noor, "alarm"):
        run.cast.client.get(run.url, headers=run.noor.auth)
        with run.cast.client.websocket_connect(f"{run.url}/live", headers=run.noor.auth) as ws:
            ws.receive_text()
    run.cast.clock.advance(seconds=30)
    run.as_mira("GET", f"{run.url}/looks")


MOMENTS = {
    "answering a check": answers_the_check,
    "answering, and they come looking": answers_and_they_come_looking,
    "answering on the check's page": answers_on_the_page,
    "saying she is inside": says_she_is_inside,
    "ending the walk": ends_the_walk,
    "extending the walk": extends_the_walk,
    "ending an alarm she is in": ends_an_alarm_she_is_in,
    "ending, then life goes on": ends_then_life_goes_on,
    "wrong PINs around it": wrong_pins_around_it,
    "her SOS after it": after_her_sos,
    "inside after her phone was heard": heard_then_inside,
}


@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS.keys())
@pytest.mark.parametrize("in_profile", [False, True], ids=["walk's duress PIN", "profile's"])
def test_her_devices_receive_the_same_bytes_as_with_her_pin(
    tmp_path: Path, moment: Moment, in_profile: bool
) -> None:
    with scene(tmp_path, "real", in_profile) as real:
        moment(real, PIN)
        real.cast.clock.advance(seconds=20)
        real.phone_sends(between(START, HOME, 0.5))  # her phone goes on reporting
        seen_real = what_her_devices_hold(real)
        told_real = her_notifications(real.cast.services, real.mira)
        companion_real = real.companion_sees()
    with scene(tmp_path, "duress", in_profile) as forced:
        moment(forced, DURESS)
        forced.cast.clock.advance(seconds=20)
        forced.phone_sends(between(START, HOME, 0.5))
        seen_forced = what_her_devices_hold(forced)
        told_forced = her_notifications(forced.cast.services, forced.mira)
        companion = forced.companion_sees()
        companion_events = forced.cast.events(forced.noor, forced.walk)

    assert len(seen_forced) == len(seen_real)
    for number, (got, expected) in enumerate(zip(seen_forced, seen_real, strict=True)):
        assert got == expected, f"her devices' message {number} gives the duress PIN away"
    assert told_forced == told_real
    # Meanwhile, the people looking out for her see a silent alarm, live, and where she is.
    assert companion_real.get("state") != "alarm"  # over (404), or going on
    assert (companion["state"], companion["live"]) == ("alarm", True)
    assert any(
        e["kind"] in ("alarm", "duress") and e["reason"] == "duress" for e in companion_events
    )
    assert companion["last_position"]["lat"] == pytest.approx(between(START, HOME, 0.5)[0])


def test_who_looked_during_her_silent_alarm_stays_hidden_once_it_is_over(tmp_path: Path) -> None:
    """The alarm's link opened, her companion following after her devices saw the walk end:
    hidden from them while the silent alarm lasted, and still once a companion ends it (the
    cover that hid it is gone then, and her page said "Someone opened the alarm's link")."""
    with scene(tmp_path, "real", False) as real:
        inside_then_found_safe(real, PIN)
        seen_real = what_her_devices_hold(real)
    with scene(tmp_path, "duress", False) as forced:
        inside_then_found_safe(forced, DURESS)
        seen_forced = what_her_devices_hold(forced)
        with forced.cast.services.db.read_engine.connect() as conn:
            kinds = list(conn.execute(sa.select(events.c.kind)).scalars())
    assert {"alarm_escalated", "alarm_resolved"} <= set(kinds)  # it climbed, and was ended
    assert len(seen_forced) == len(seen_real)
    for number, (got, expected) in enumerate(zip(seen_forced, seen_real, strict=True)):
        assert got == expected, f"her devices' message {number} gives the duress PIN away"


def alarm_links(run: Run) -> list[str]:
    with run.cast.services.db.read_engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts.c.payload).where(alerts.c.kind == "alarm").order_by(alerts.c.id)
        )
        return [r.payload["link_path"] for r in rows if r.payload.get("link_path")]


def sos_until_gus_has_a_link(run: Run) -> list[str]:
    """A minute in, her SOS; the watchdog looks until it has climbed to Gus: its links."""
    run.cast.clock.advance(minutes=1)
    run.phone_sends(between(START, HOME, 0.1))
    run.as_mira("POST", f"{run.url}/sos")
    for _ in range(10):
        if alarm_links(run):
            break
        run.look(minutes=1)
    return alarm_links(run)


def guardian_looked_then_her_pin(run: Run, pin: str) -> None:
    """Her SOS climbs to Gus, who opens the alarm's link (her page says so, as it says every
    look); then she gives her PIN to end the alarm. The look was hers to see before her
    duress PIN: it stays in her list, as after her real PIN (it went at once: an outside
    review)."""
    for path in sos_until_gus_has_a_link(run):
        run.cast.client.get(path)  # Gus opens the alarm's link
    run.as_mira("GET", f"{run.url}/looks")
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})
    run.as_mira("GET", f"{run.url}/looks")


def guardian_looks_again_after_her_pin(run: Run, pin: str) -> None:
    """Her SOS climbs to Gus, who opens its link; she ends the alarm with her PIN; eleven
    minutes on, Gus opens the alarm's link again: after her real PIN it still works (an hour
    after the alarm's end), and her list says so (hidden after her duress PIN: a diff
    review)."""
    first = sos_until_gus_has_a_link(run)[0]
    run.cast.client.get(first)  # Gus opens the alarm's link
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})
    run.as_mira("GET", f"{run.url}/looks")
    run.cast.clock.advance(minutes=11)
    run.cast.client.get(first)  # ...and again
    run.as_mira("GET", f"{run.url}/looks")


def sos_after_her_pin_reaches_gus(run: Run, pin: str) -> None:
    """Her PIN ("I'm OK", nothing asked), then her SOS; nobody is on it, and it climbs to Gus,
    who opens its link: her list shows it after her real PIN (not after her duress PIN: a
    diff review)."""
    gives_it(run, pin)
    run.as_mira("POST", f"{run.url}/sos")
    for _ in range(6):
        run.phone_sends(run.here)
        run.look(minutes=1)
    links = alarm_links(run)
    assert links, "the alarm reached no guardian"
    run.cast.client.get(links[-1])
    run.as_mira("GET", f"{run.url}/looks")
    run.look(minutes=1)
    run.as_mira("GET", f"{run.url}/looks")


@pytest.mark.parametrize(
    "play", [guardian_looks_again_after_her_pin, sos_after_her_pin_reaches_gus]
)
def test_an_alarms_link_opened_after_her_duress_pin_is_in_her_list_as_her_pin_would_have_it(
    tmp_path: Path, play: Callable[[Run, str], None]
) -> None:
    real, forced = twins(tmp_path, play)
    assert sum(b.count(b"alarm_link") for b in real.seen) >= 2
    same_bytes(real, forced)


def test_a_look_she_saw_before_her_duress_pin_stays_in_her_list(tmp_path: Path) -> None:
    real, forced = twins(tmp_path, guardian_looked_then_her_pin)
    shown = [b for b in real.seen if b"alarm_link" in b]
    assert shown, "Gus's look was never in her list"
    same_bytes(real, forced)
    assert forced.noor_walk["state"] == "alarm"  # the silent alarm goes on for them


def deleted_after(run: Run, pin: str) -> list[bytes]:
    """She ends the walk with `pin`, then is made to delete her account; then everything
    anyone outside can try on it: her sessions, her password, her address for a sign-up
    (with an invite: `WWM_OPEN_SIGNUP` is off), and each of her phone's doors."""
    ends_the_walk(run, pin)
    run.cast.clock.advance(minutes=1)
    run.as_mira("POST", "/api/me/delete", json={"password": "correct horse battery"})
    run.as_mira("GET", "/api/me")
    client, email = run.cast.client, run.mira.email
    for password in ("correct horse battery", "a wrong one"):
        answer = client.post("/api/session", json={"email": email, "password": password})
        run.seen.append(f"{answer.status_code} ".encode() + answer.content)
    invite = run.cast.services.writer.run_sync(lambda tx: create_invite(tx, None))
    signed_up = client.post(
        "/api/signup",
        json={"email": email, "name": "Ana", "password": "a new password 1", "invite": invite},
    )
    run.seen.append(str(signed_up.status_code).encode())  # (a new account's token: random)
    run.cast.clock.advance(seconds=30)
    here = between(START, HOME, 0.7)
    t = run.cast.clock.now_ms()
    run.phone_sends(here)
    owntracks = {"_type": "location", "lat": here[0], "lon": here[1], "tst": t // 1000 + 1}
    basic = base64.b64encode(f"mira:{run.phone}".encode()).decode()
    answer = client.post(
        "/api/owntracks", json=owntracks, headers={"Authorization": f"Basic {basic}"}
    )
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)
    answer = client.post(
        f"/api/traccar?id={run.phone}&lat={here[0]}&lon={here[1]}&timestamp={t // 1000 + 2}"
    )
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)
    return run.seen


def test_made_to_delete_her_account_after_her_duress_pin_it_is_gone_as_with_her_pin(
    tmp_path: Path,
) -> None:
    """After her duress PIN the deletion waits for the silent alarm to end; until then nothing
    outside tells it from a deletion done: no sign-in, her address free, her phone refused,
    while what her phone sends still reaches the people looking for her."""
    with scene(tmp_path, "real", duress_in_profile=False) as real:
        seen_real = deleted_after(real, PIN)
    assert seen_real[-6:-2] == [
        b'401 {"error":"wrong email or password"}',
        b'401 {"error":"wrong email or password"}',
        b"201",
        b'401 {"error":"unknown or revoked device token"}',
    ]
    with scene(tmp_path, "duress", duress_in_profile=False) as forced:
        seen_forced = deleted_after(forced, DURESS)
        for number, (got, expected) in enumerate(zip(seen_forced, seen_real, strict=True)):
            assert got == expected, f"message {number} gives the duress PIN away"
        companion = forced.companion_sees()
        assert (companion["state"], companion["live"]) == ("alarm", True)
        # Her phone's three posts after the deletion, on the walk for those looking for her.
        track = forced.cast.client.get(f"{forced.url}/fixes", headers=forced.noor.auth).json()
        there = between(START, HOME, 0.7)
        assert len([f for f in track if f["lat"] == pytest.approx(there[0])]) == 3

        # Noor finds her and resolves the alarm: the deletion is finished, nothing of her left.
        for step in ("ack", "resolve"):
            done = forced.cast.client.post(
                f"{forced.url}/{step}", json={"note": "She's with me"}, headers=forced.noor.auth
            )
            assert done.status_code == 200, done.text
        assert "deleted" in forced.look(seconds=5)
        with forced.cast.services.db.read_engine.connect() as conn:
            hers = sa.select(walks.c.id).where(walks.c.walker_id == forced.mira.id)
            assert conn.execute(hers).all() == []
            assert (
                conn.execute(sa.select(people.c.id).where(people.c.id == forced.mira.id)).all()
                == []
            )


@pytest.mark.parametrize("where", ["on the way", "at her door"])
def test_on_her_next_walk_after_her_duress_pin_her_account_is_not_deleted(
    tmp_path: Path, where: str
) -> None:
    """She ends a walk with her duress PIN and starts another: deleting her account during
    it is refused, as after her real PIN. It went through (her phone refused, her new walk's
    companion left with a walker who can't end it) when the silent alarm's walk was the one
    live walk of hers it found."""

    def next_walk(run: Run, pin: str) -> None:
        ends_the_walk(run, pin)
        run.cast.clock.advance(minutes=1)
        run.as_mira(
            "POST",
            "/api/walks",
            json={
                "destination": {"lat": HOME[0], "lon": HOME[1], "radius": 40, "name": "home"},
                "from": {"lat": START[0], "lon": START[1]},
                "pin": PIN,
            },
        )
        run.seen[-1] = run.seen[-1].split(b" ")[0]  # (its number differs)
        run.phone_sends(HOME if where == "at her door" else between(START, HOME, 0.4))
        run.as_mira("POST", "/api/me/delete", json={"password": "correct horse battery"})
        run.as_mira("GET", "/api/me")

    with scene(tmp_path, "real", duress_in_profile=False) as real:
        next_walk(real, PIN)
        seen_real = real.seen
    assert seen_real[-2].startswith(b"409 ")
    assert b"during a walk" in seen_real[-2]
    with scene(tmp_path, "duress", duress_in_profile=False) as forced:
        next_walk(forced, DURESS)
        assert forced.companion_sees()["state"] == "alarm"  # the silent alarm goes on
        for number, (got, expected) in enumerate(zip(forced.seen, seen_real, strict=True)):
            assert got == expected, f"message {number} gives the duress PIN away"


def test_ending_her_contacts_does_not_cut_them_out_of_the_alarm(tmp_path: Path) -> None:
    """Whoever holds her phone ends the walk with her duress PIN, then ends her contacts: the
    people looking out for her stay in the alarm until it is resolved."""
    with scene(tmp_path, "run", duress_in_profile=False) as run:
        ends_the_walk(run, DURESS)
        run.cast.clock.advance(seconds=5)
        for contact in run.cast.client.get("/api/contacts", headers=run.mira.auth).json():
            gone = run.cast.client.delete(f"/api/contacts/{contact['id']}", headers=run.mira.auth)
            assert gone.status_code == 204
        assert run.companion_sees()["state"] == "alarm"
        assert run.look(minutes=3) == ["escalated"]
        assert [a["reason"] for a in alarm_alerts_to(run, run.gus)] == ["duress"]
        resolved = run.cast.client.post(
            f"{run.url}/resolve", json={"note": "Found her"}, headers=run.noor.auth
        )
        assert resolved.status_code == 200, resolved.text
        assert resolved.json() == {"id": run.walk["id"], "resolved": True}
        # Resolved: the contacts she ended are ended; they see nothing of her any more.
        assert run.cast.client.get(run.url, headers=run.noor.auth).status_code == 404


def test_a_duress_pin_during_a_wrong_pin_alarm_is_refused_and_still_heard(tmp_path: Path) -> None:
    with scene(tmp_path, "run", duress_in_profile=False) as run:
        for _ in range(3):
            run.as_mira("POST", f"{run.url}/ok", json={"pin": "0000"})
        assert [a["reason"] for a in alarm_alerts_to(run, run.noor)] == ["wrong_pins"]
        for pin in (PIN, DURESS):
            run.cast.clock.advance(seconds=20)  # the wait after the last attempt
            refused = run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})
            assert refused.status_code == 403
        assert run.seen[-1] == run.seen[-2]  # the same refusal, whichever PIN
        assert [a["reason"] for a in alarm_alerts_to(run, run.noor)] == ["wrong_pins", "duress"]


def test_her_duress_pin_as_a_walks_pin_is_not_named(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.client.put(
        "/api/me/duress-pin",
        json={"password": "correct horse battery", "duress_pin": DURESS},
        headers=mira.auth,
    )
    walk = cast.start_walk(mira, pin=DURESS)
    assert "duress" not in json.dumps(walk)


def alarm_alerts_to(run: Run, who: Member) -> list[dict[str, Any]]:
    with run.cast.services.db.read_engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts.c.payload)
            .join(deliveries, deliveries.c.alert_id == alerts.c.id)
            .where(deliveries.c.person_id == who.id, alerts.c.kind == "alarm")
            .order_by(alerts.c.id)
        )
        return [dict(r.payload) for r in rows]


def test_her_duress_pin_given_again_is_said_as_what_she_was_made_to_do(tmp_path: Path) -> None:
    """Two alarms in the same words would read as one sent twice: the second says what the
    duress PIN was given for this time."""
    with scene(tmp_path, "run", duress_in_profile=False) as run:
        extends_the_walk(run, DURESS)
        run.cast.clock.advance(minutes=2)
        run.as_mira("POST", f"{run.url}/end", json={"pin": DURESS, "note": ""})
        said = [render(alarm) for alarm in alarm_alerts_to(run, run.noor)]
    # The first says not to call her in its title, what a lock screen shows (it was on its
    # second line), and what she was made to do.
    assert [title for title, _body in said] == [
        "ALARM: Mira needs help and can't say so. Do not call or message Mira.",
        "ALARM: Mira gave the duress PIN again to end the walk.",
    ]
    (_title, first), (_again, second) = said
    assert (
        "Mira entered their duress PIN to ask for more time: the PIN that says they are not "
        "free to say so. Whoever is with them may see their phone: go there, or call the "
        "emergency number."
    ) in first.splitlines()
    # The second warns not to call her too, and says whom to call instead (no number set
    # here: "for help" said nothing of whom).
    assert (
        "Do not call or message Mira: whoever is with them may see their phone. Go there, "
        "or call the emergency number."
    ) in second.splitlines()


def test_after_her_duress_pin_only_a_companion_or_guardian_ends_the_alarm(
    tmp_path: Path,
) -> None:
    with scene(tmp_path, "run", duress_in_profile=False) as run:
        says_she_is_inside(run, DURESS)
        assert [a["reason"] for a in alarm_alerts_to(run, run.noor)] == ["duress"]
        assert alarm_alerts_to(run, run.mira) == []
        # Whoever made her say it can't end it with her PIN: her walk is over for her.
        again = run.as_mira("POST", f"{run.url}/ok", json={"pin": PIN})
        assert again.status_code == 409
        assert run.companion_sees()["state"] == "alarm"
        # Nobody said "I'm on it": the ladder climbs to her guardian, silently for her.
        assert run.look(minutes=3) == ["escalated"]
        assert [a["reason"] for a in alarm_alerts_to(run, run.gus)] == ["duress"]
        assert alarm_alerts_to(run, run.mira) == []
        # Her guardian, who doesn't follow her walks, can say "I'm on it" and resolve it.
        acked = run.cast.client.post(f"{run.url}/ack", headers=run.gus.auth)
        assert acked.status_code == 200, acked.text
        resolved = run.cast.client.post(
            f"{run.url}/resolve", json={"note": "I'm with her, she's fine"}, headers=run.gus.auth
        )
        assert resolved.status_code == 200, resolved.text
        # The walk becomes what her phone showed: she is inside.
        mine = run.cast.client.get(run.url, headers=run.mira.auth).json()
        assert (mine["state"], mine["live"]) == ("safe", False)
        assert run.cast.client.get(run.url, headers=run.noor.auth).status_code == 404
        # Her own timeline never had an alarm in it, and has no gaps.
        ids = [e["id"] for e in run.cast.events(run.mira, run.walk)]
        assert ids == list(range(1, len(ids) + 1))
        kinds = [e["kind"] for e in run.cast.events(run.mira, run.walk)]
        assert not any(k.startswith("alarm") for k in kinds)


def test_a_guardian_of_someone_else_or_of_a_calm_walk_sees_no_such_walk(tmp_path: Path) -> None:
    with scene(tmp_path, "run", duress_in_profile=False) as run:
        # No alarm: her guardian can't touch the walk (it doesn't exist for him).
        calm = run.cast.client.post(f"{run.url}/resolve", json={"note": "x"}, headers=run.gus.auth)
        assert calm.status_code == 404
        says_she_is_inside(run, DURESS)
        stranger = run.cast.person("Sam")
        refused = run.cast.client.post(f"{run.url}/ack", headers=stranger.auth)
        assert refused.status_code == 404


def test_a_duress_pin_must_differ_from_her_pin(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    body = {
        "destination": {"lat": HOME[0], "lon": HOME[1]},
        "from": {"lat": START[0], "lon": START[1]},
        "pin": PIN,
    }
    same = cast.client.post("/api/walks", json={**body, "duress_pin": PIN}, headers=mira.auth)
    assert (same.status_code, same.json()["field"]) == (422, "duress_pin")
    bad = cast.client.post("/api/walks", json={**body, "duress_pin": "12"}, headers=mira.auth)
    assert (bad.status_code, bad.json()["field"]) == (422, "duress_pin")
    wrong_password = cast.client.put(
        "/api/me/duress-pin", json={"password": "nope", "duress_pin": "1357"}, headers=mira.auth
    )
    assert wrong_password.status_code == 403
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []


# -- after her duress PIN, the rules go on for what her devices are shown --------------------
#
# A real walk would still be asked "Are you OK?" when she stalls, is late, goes silent or
# lingers at the door: the walk her devices are shown must be asked too, at the same moment,
# and take her answer (or her silence) as the real walk would.


def gives_it(run: Run, pin: str) -> None:
    """A minute in, her phone reporting, she is made to give her PIN ("I'm OK", though
    nothing was asked): with her duress PIN, the silent alarm begins."""
    run.cast.clock.advance(minutes=1)
    run.phone_sends(between(START, HOME, 0.1))
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})


def reports_for(run: Run, minutes: int) -> None:
    """Her phone reports once a minute from where it is; the watchdog looks each time."""
    for _ in range(minutes):
        run.cast.clock.advance(minutes=1)
        run.phone_sends(run.here)
        assert "check" not in run.look()


def asked_at(run: Run, seconds: int) -> None:
    """The deadline is `seconds` away: one second before it nothing is asked; at it, she is."""
    assert "check" not in run.look(seconds=seconds - 1)
    assert "check" in run.look(seconds=1)


def stalls(run: Run, pin: str) -> str:
    gives_it(run, pin)  # her first fix: her progress counts from here
    reports_for(run, 4)  # from the same place
    asked_at(run, 60)  # five minutes without progress (day)
    return "stalled"


def goes_silent(run: Run, pin: str) -> str:
    gives_it(run, pin)
    # Three minutes without a fix (day): the silent alarm's ladder climbs at that moment too.
    asked_at(run, 180)
    return "silent"


def is_late(run: Run, pin: str) -> str:
    """A timer walk of five minutes (see `SCENES`): she gives her PIN without her phone."""
    run.cast.clock.advance(minutes=1)
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})
    asked_at(run, 240)
    return "late"


def lingers(run: Run, pin: str) -> str:
    gives_it(run, pin)
    run.cast.clock.advance(minutes=1)
    run.phone_sends(between(START, HOME, 0.8))  # a lift most of the way
    run.cast.clock.advance(seconds=30)
    run.phone_sends(HOME)  # at the door
    reports_for(run, 4)
    asked_at(run, 60)  # five minutes at the door without saying "I'm inside"
    return "lingering"


def goes_on(run: Run, minutes: int) -> None:
    """Her phone goes on reporting from where it is, and the watchdog looks, every minute."""
    for _ in range(minutes):
        run.cast.clock.advance(minutes=1)
        run.phone_sends(run.here)
        run.look()


def answers_with(pin: str) -> Callable[[Run], None]:
    def answer(run: Run) -> None:
        run.cast.clock.advance(seconds=30)
        run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})

    return answer


def answers_on_the_page_with(pin: str) -> Callable[[Run], None]:
    def answer(run: Run) -> None:
        run.cast.clock.advance(seconds=30)
        with run.cast.services.db.read_engine.connect() as conn:
            payload = conn.execute(
                sa.select(alerts.c.payload)
                .where(alerts.c.kind == "check")
                .order_by(alerts.c.id.desc())
                .limit(1)
            ).scalar_one()
        run.seen.append(run.cast.client.get(payload["link_path"]).content)
        run.seen.append(run.cast.client.post(payload["link_path"], data={"pin": pin}).content)

    return answer


def gets_it_wrong(run: Run) -> None:
    for _ in range(3):
        run.cast.clock.advance(seconds=10)
        run.as_mira("POST", f"{run.url}/ok", json={"pin": "0000"})


def says_nothing(run: Run) -> None:
    """The response window (day) passes: an alarm, whose ladder then climbs."""
    assert "alarm" not in run.look(seconds=89)
    assert "alarm" in run.look(seconds=1)
    run.look(minutes=3)  # to her guardian
    run.look(minutes=10)  # and said again at the top (no hook), ten minutes on


ASKED = {"she stalls": stalls, "she is late": is_late, "she goes silent": goes_silent}
ASKED["she lingers at the door"] = lingers
ANSWERS: dict[str, Callable[[Run], None]] = {
    "her PIN": answers_with(PIN),
    "her duress PIN": answers_with(DURESS),
    "her PIN, on the page": answers_on_the_page_with(PIN),
    "wrong PINs": gets_it_wrong,
    "no answer": says_nothing,
}
SCENES: dict[Callable[[Run, str], str], dict[str, Any]] = {
    is_late: {"destination": None, "from": None, "minutes": 5}
}


def twins(
    tmp_path: Path, play: Callable[[Run, str], object], walk: dict[str, Any] | None = None
) -> tuple[Run, Run]:
    """The same evening twice: with her PIN, and with her duress PIN."""
    runs = []
    for name, pin in (("real", PIN), ("duress", DURESS)):
        with scene(tmp_path, name, False, **(walk or {})) as run:
            play(run, pin)
            run.cast.clock.advance(seconds=20)
            run.phone_sends(between(START, HOME, 0.5))
            what_her_devices_hold(run)
            run.told = her_notifications(run.cast.services, run.mira)
            noor_sees = run.cast.client.get(f"{run.url}/events", headers=run.noor.auth)
            run.noor_sees = noor_sees.json() if noor_sees.status_code == 200 else []
            run.noor_walk = run.companion_sees()
            run.noor_told = run.cast.told(run.noor)
            run.her_events = run.cast.events(run.mira, run.walk)
            runs.append(run)
    return runs[0], runs[1]


def same_bytes(real: Run, forced: Run) -> None:
    assert len(forced.seen) == len(real.seen)
    for number, (got, expected) in enumerate(zip(forced.seen, real.seen, strict=True)):
        assert got == expected, f"her devices' message {number} gives the duress PIN away"
    assert forced.told == real.told


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS.keys())
@pytest.mark.parametrize("asked", ASKED.values(), ids=ASKED.keys())
def test_after_her_duress_pin_her_devices_are_asked_as_her_pin_would_have_them(
    tmp_path: Path, asked: Callable[[Run, str], str], answer: Callable[[Run], None]
) -> None:
    reasons: list[str] = []

    def play(run: Run, pin: str) -> None:
        reasons.append(asked(run, pin))
        answer(run)
        goes_on(run, minutes=12)  # quiet after an answer, then asked again, at the same moments

    real, forced = twins(tmp_path, play, SCENES.get(asked))
    same_bytes(real, forced)
    reason = reasons[0]
    # Her own channels were asked, with the answer page's link; nobody else was.
    assert [(a["kind"], a["reason"]) for a in map(json.loads, forced.told)][:1] == [
        ("check", reason)
    ]
    # The people looking out for her see that she was asked, and how she answered; the
    # silent alarm goes on whatever her answer (only they can resolve it).
    noor = forced.noor_sees
    asked_events = [e for e in noor if e["kind"] == "check" and e.get("cover")]
    assert asked_events[0]["reason"] == reason
    after = noor[noor.index(asked_events[0]) + 1 :]
    answered = [e for e in after if e["kind"] == "check_answered"]
    shown_alarms = [e for e in after if e["kind"] == "alarm" and e.get("cover")]
    if answer in (ANSWERS["her PIN"], ANSWERS["her PIN, on the page"]):
        assert [(e["pin"], e["reason"]) for e in answered][:1] == [("real", reason)]
    elif answer is ANSWERS["her duress PIN"]:
        assert [(e["pin"], e["reason"]) for e in answered][:1] == [("duress", reason)]
        assert [e["said"] for e in after if e["kind"] == "duress"][:1] == ["check_answered"]
    else:
        expected = "wrong_pins" if answer is gets_it_wrong else "no_answer"
        assert [e["reason"] for e in shown_alarms] == [expected]
        told = [a["reason"] for a in forced.noor_told if a["kind"] == "alarm"]
        assert expected in told
    assert forced.noor_walk["state"] == "alarm"
    assert not any(a["kind"] == "check" for a in forced.noor_told), "the question is hers"


# -- an alarm her devices are shown, under the silent alarm -------------------------------


def sos_acked_and_climbing(run: Run, pin: str) -> None:
    """After her PIN (either), she presses SOS; Noor says "I'm on it"; nobody comes, and the
    ladder climbs again when the pause is over, then is said again at its top."""
    gives_it(run, pin)
    run.cast.clock.advance(minutes=1)
    run.as_mira("POST", f"{run.url}/sos")
    run.look(minutes=1)
    acked = run.cast.client.post(f"{run.url}/ack", headers=run.noor.auth)
    assert acked.status_code == 200, acked.text
    run.look(minutes=9, seconds=59)  # "I'm on it" paused the climb for ten minutes...
    run.look(seconds=1)  # ...then it goes on, to her guardian
    run.look(minutes=9, seconds=59)  # her guardian is the top (no hook): said again...
    run.look(seconds=1)  # ...ten minutes after it got there


def she_ends_it(run: Run) -> None:
    run.cast.clock.advance(seconds=30)
    run.as_mira("POST", f"{run.url}/ok", json={"pin": PIN})
    goes_on(run, minutes=6)  # quiet for five minutes after the alarm, then asked again


def noor_finds_her(run: Run) -> None:
    run.cast.clock.advance(seconds=30)
    found = run.cast.client.post(
        f"{run.url}/resolve", json={"note": "I'm with her"}, headers=run.noor.auth
    )
    assert found.status_code == 200, found.text
    goes_on(run, minutes=6)


def wrong_pins_then_noor_finds_her(run: Run) -> None:
    """Someone holding her phone tries three wrong PINs (the alarm is now one no PIN ends),
    then her real PIN: refused alike; then Noor finds her."""
    for _ in range(3):
        run.cast.clock.advance(seconds=10)
        run.as_mira("POST", f"{run.url}/ok", json={"pin": "0000"})
    run.cast.clock.advance(seconds=6)
    run.as_mira("POST", f"{run.url}/ok", json={"pin": PIN})
    noor_finds_her(run)


ENDINGS = {
    "she answers with her PIN": she_ends_it,
    "Noor finds her": noor_finds_her,
    "wrong PINs, then Noor finds her": wrong_pins_then_noor_finds_her,
}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_an_alarm_her_devices_are_shown_is_acknowledged_climbs_and_ends_as_it_would(
    tmp_path: Path, ending: Callable[[Run], None]
) -> None:
    def play(run: Run, pin: str) -> None:
        sos_acked_and_climbing(run, pin)
        ending(run)

    real, forced = twins(tmp_path, play)
    same_bytes(real, forced)
    # What the test is about: her devices were told of Noor's "I'm on it", and her timeline
    # has the ladder climbing and the alarm's end.
    assert [json.loads(t)["kind"] for t in real.told][:1] == ["alarm_acknowledged"]
    mine = [e["kind"] for e in real.her_events]
    assert mine.count("alarm_escalated") == 2
    assert "alarm_acknowledged" in mine
    assert "alarm_resolved" in mine
    # The people looking out for her: her SOS, and the silent alarm they are in until one of
    # them finds her.
    noor = forced.noor_sees
    assert any(e["kind"] == "sos" and e["cover"] for e in noor)
    if ending is wrong_pins_then_noor_finds_her:
        # Her devices were shown the alarm turn into one no PIN ends, as with her PIN.
        shown = [e for e in real.her_events if e["kind"] == "alarm"]
        assert [(e["reason"], e.get("during")) for e in shown][-1:] == [("wrong_pins", True)]
        heard = [(e["reason"], e.get("during")) for e in noor if e["kind"] == "alarm"]
        assert ("wrong_pins", True) in heard
    if ending is not she_ends_it:
        assert forced.noor_walk["state"] == "active"
        assert [e["reason"] for e in noor if e["kind"] == "alarm_resolved"] == ["duress"]
    else:
        assert forced.noor_walk["state"] == "alarm"
        resolved = [e for e in noor if e["kind"] == "alarm_resolved"]
        assert [(e["cover"], e["reason"]) for e in resolved] == [(True, "sos")]


# -- a new walk while the silent alarm holds the last one open ------------------------------


def starts_another_walk(run: Run, pin: str) -> None:
    """She is made to end the walk; a minute later she starts another, and her phone goes on
    reporting (one fix is sent twice)."""
    ends_the_walk(run, pin)
    run.cast.clock.advance(minutes=1)
    body = {
        "destination": {"lat": HOME[0], "lon": HOME[1], "radius": 40, "name": "home"},
        "from": {"lat": START[0], "lon": START[1]},
        "pin": PIN,
    }
    started = run.as_mira("POST", "/api/walks", json=body)
    assert started.status_code == 201, started.text
    first = run.url
    run.walk = started.json()
    for step in range(1, 5):
        run.cast.clock.advance(seconds=30)
        run.phone_sends(between(START, HOME, 0.3 + 0.05 * step))
    run.phone_sends(run.here)  # the same fix again: a duplicate
    run.look(minutes=1)
    # Her first walk, as her devices see it: over.
    for path in (first, f"{first}/events", f"{first}/fixes"):
        run.as_mira("GET", path)


def test_a_new_walk_after_a_forced_end_keeps_her_fixes_reaching_the_alarm(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, starts_another_walk)
    same_bytes(real, forced)
    with scene(tmp_path, "again", False) as run:
        starts_another_walk(run, DURESS)
        told = [json.loads(m.split(b" ", 1)[1]) for m in run.seen if b'"results"' in m]
        assert [r["results"][0]["status"] for r in told][-5:] == ["accepted"] * 4 + ["duplicate"]
        second = run.walk
        first = {"id": second["id"] - 1}
        sent = [between(START, HOME, 0.3 + 0.05 * step)[0] for step in range(1, 5)]
        for walk in (first, second):
            # Both walks have every fix once: the silent alarm's, for those looking for her,
            # and the new walk, for everyone on it.
            track = run.cast.client.get(
                f"/api/walks/{walk['id']}/fixes", headers=run.noor.auth
            ).json()
            assert [f["lat"] for f in track][-4:] == pytest.approx(sent)
            assert len({f["t"] for f in track}) == len(track)
        alarm = run.cast.client.get(f"/api/walks/{first['id']}", headers=run.noor.auth).json()
        assert alarm["state"] == "alarm"
        assert alarm["last_position"]["lat"] == pytest.approx(sent[-1])
        # Her own devices see the first walk's track end where it ended for them.
        mine = run.cast.client.get(f"/api/walks/{first['id']}/fixes", headers=run.mira.auth)
        assert [f["lat"] for f in mine.json()] == [pytest.approx(between(START, HOME, 0.3)[0])]


def test_the_cover_is_asked_and_her_fixes_reach_both_walks_on_either_database(
    cast: Cast,
) -> None:
    """The same machinery on SQLite and PostgreSQL: after her duress PIN, her devices are
    asked when she goes silent; made to end the walk and start another, her phone's fixes
    reach both walks, each once and numbered in each walk's own track."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.channel(mira)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin=DURESS)
    url = f"/api/walks/{walk['id']}"
    cast.send(phone, cast.fix(between(START, HOME, 0.1)))
    assert (
        cast.client.post(f"{url}/ok", json={"pin": DURESS}, headers=mira.auth).json()["answered"]
        == "nothing"
    )
    cast.clock.advance(minutes=2, seconds=59)
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(seconds=1)
    # (Nobody above her companions: they are the top of the silent alarm's ladder, and hear
    # it again ten minutes after it began.)
    assert cast.services.watchdog.tick_sync() == ["check"]
    assert cast.events(mira, walk)[-1]["kind"] == "check"
    assert [e["kind"] for e in cast.events(noor, walk)][-2:] == ["alarm", "check"]
    assert [a["reason"] for a in cast.told(mira, "check")] == ["silent"]
    where = cast.client.get(url, headers=mira.auth).json()["last_position"]
    ended = cast.client.post(f"{url}/end", json={"pin": PIN}, headers=mira.auth)
    assert ended.json()["state"] == "ended"
    assert ended.json()["last_position"] == where
    second = cast.start_walk(mira)
    sent = [cast.fix(between(START, HOME, 0.2 + 0.1 * n), seconds_ago=30 - 10 * n) for n in (1, 2)]
    assert cast.statuses(phone, *sent) == ["accepted", "accepted"]
    assert cast.statuses(phone, sent[1]) == ["duplicate"]
    for which, who in ((second, mira), (second, noor), (walk, noor)):
        track = cast.client.get(f"/api/walks/{which['id']}/fixes", headers=who.auth).json()
        assert [f["t"] for f in track][-2:] == [f["t"] for f in sent]
    ids = [
        f["id"]
        for f in cast.client.get(f"/api/walks/{second['id']}/fixes", headers=mira.auth).json()
    ]
    assert ids == [1, 2]
    assert cast.client.get(url, headers=noor.auth).json()["state"] == "alarm"
    # Her own devices still see the first walk end where it ended for them.
    mine = cast.client.get(url, headers=mira.auth).json()
    assert (mine["state"], mine["last_position"]) == ("ended", where)


def test_resolved_while_she_is_asked_the_walk_goes_on_with_her_question(tmp_path: Path) -> None:
    """Noor resolves the silent alarm while her devices wait to answer "Are you OK?": the walk
    becomes what they were shown, question included; unanswered, it is an alarm for everyone,
    at the moment her real PIN's walk would have raised it."""

    def play(run: Run, pin: str) -> None:
        goes_silent(run, pin)
        run.cast.clock.advance(seconds=30)
        found = run.cast.client.post(
            f"{run.url}/resolve", json={"note": "She's with me"}, headers=run.noor.auth
        )
        assert found.status_code == (200 if pin == DURESS else 409), found.text
        assert "alarm" not in run.look(seconds=59)
        assert run.look(seconds=1) == ["alarm"]

    real, forced = twins(tmp_path, play)
    same_bytes(real, forced)
    assert forced.noor_walk["state"] == real.noor_walk["state"] == "alarm"
    assert [e["reason"] for e in forced.noor_sees if e["kind"] == "alarm"][-1] == "no_answer"


# -- two devices, a phone clock running ahead, her links after the silent alarm climbed ------

AHEAD_S = 40  # her phone's clock runs this far ahead of the server's


def her_phone_reports(run: Run, phone: str, where: tuple[float, float], battery: int) -> None:
    """Her phone (OwnTracks, which reports its battery) sends a fix, stamped by its own clock,
    which runs ahead."""
    run.here = where
    token = base64.b64encode(f"mira:{phone}".encode()).decode()
    message = {
        "_type": "location",
        "tid": "MI",
        "lat": where[0],
        "lon": where[1],
        "tst": run.cast.clock.now_ms() // 1000 + AHEAD_S,
        "acc": 8,
        "batt": battery,
    }
    answer = run.cast.client.post(
        "/api/owntracks", json=message, headers={"Authorization": f"Basic {token}"}
    )
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)


def her_links(run: Run, made: list[dict[str, Any]], status: int = 201) -> None:
    """She shares her walk twice (until it ends, and for two hours), and lists her links: what
    she is answered, but for the links' secrets (random in each run)."""
    for body in ({}, {"hours": 2}):
        answer = run.as_mira("POST", f"{run.url}/shares", json=body)
        assert answer.status_code == status, answer.text
        made.append(answer.json())
    run.seen[-2:] = [masked_token(m) for m in run.seen[-2:]]
    run.as_mira("GET", f"{run.url}/shares")


def masked_token(message: bytes) -> bytes:
    return re.sub(rb"shr_[A-Za-z0-9_-]+", b"shr_TOKEN", message)


def she_tests_her_channel(run: Run) -> None:
    """She tests her channel: it is answered with the test's key (random in each run)."""
    channel = run.as_mira("GET", "/api/channels").json()[0]
    tested = run.as_mira("POST", f"/api/channels/{channel['id']}/test")
    assert tested.status_code == 202, tested.text
    run.seen[-1] = re.sub(rb"wwm-alert-[A-Za-z0-9_-]+", b"wwm-alert-KEY", run.seen[-1])


def through_her_link(run: Run, token: str) -> None:
    """Her link, as anyone holding it (she too) sees it: the page's JSON, then its stream."""
    shown = run.cast.client.get(f"/api/share/{token}")
    run.seen.append(f"{shown.status_code} ".encode() + shown.content)
    if shown.status_code != 200:
        return
    view = shown.json()
    with run.cast.client.websocket_connect(f"/api/share/{token}/live") as ws:
        for _ in range(1 + len(view["events"]) + len(view["fixes"])):
            run.seen.append(ws.receive_text().encode())
        if not view["live"]:
            run.seen.append(ws.receive_text().encode())


def two_devices_then(ending: str, last: str, found: bool = False) -> Callable[[Run, str], None]:
    """Her phone (with its battery, its clock ahead) and her watch (`Run.phone_sends`: no
    battery) report as she walks home; she gives her PIN (either) with nothing asked; the
    silent alarm, if any, climbs to her guardian (who gets a link of the walk); she shares
    her walk, lists her links and tests her channel; at home, `last` ("watch" or "phone")
    reports last, and she says `ending` ("inside" or "end") with the same PIN. Then both
    devices go on reporting; if `found`, Noor then finds her and resolves the silent alarm,
    and her phone reports again."""

    def play(run: Run, pin: str) -> None:
        phone = run.cast.device(run.mira, "owntracks")
        made: list[dict[str, Any]] = []
        her_phone_reports(run, phone, between(START, HOME, 0.05), battery=75)
        run.cast.clock.advance(seconds=30)
        run.phone_sends(between(START, HOME, 0.1))
        run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})
        for step in range(1, 15):  # fourteen minutes, toward home
            run.cast.clock.advance(seconds=30)
            her_phone_reports(run, phone, between(START, HOME, 0.1 + 0.06 * step), battery=75)
            run.cast.clock.advance(seconds=30)
            run.phone_sends(between(START, HOME, 0.13 + 0.06 * step))
            run.look()
            if step == 7:  # the silent alarm has reached her guardian (and made a link)
                her_links(run, made)
                she_tests_her_channel(run)
        run.cast.clock.advance(seconds=30)
        if last == "watch":
            her_phone_reports(run, phone, HOME, battery=75)
            run.cast.clock.advance(seconds=20)
            run.phone_sends(HOME)
        else:
            run.phone_sends(HOME)
            run.cast.clock.advance(seconds=20)
            her_phone_reports(run, phone, HOME, battery=75)
        path = f"{run.url}/{ending}"
        answered = run.as_mira("POST", path, json={"pin": pin, "note": "Home"})
        assert answered.status_code == 200, answered.text
        run.cast.clock.advance(seconds=10)
        her_phone_reports(run, phone, HOME, battery=70)  # for those looking for her only
        run.phone_sends(HOME)
        for link in made:
            through_her_link(run, link["token"])
        run.as_mira("GET", f"{run.url}/shares")
        her_links(run, [], status=409)  # over for her: refused the same way
        she_tests_her_channel(run)
        if found:
            what_her_devices_hold(run)
            resolved = run.cast.client.post(
                f"{run.url}/resolve", json={"note": "Found her"}, headers=run.noor.auth
            )
            assert resolved.status_code == (200 if pin == DURESS else 404), resolved.text
            run.cast.clock.advance(seconds=10)
            her_phone_reports(run, phone, HOME, battery=65)

    return play


TWO_DEVICES = {
    f"{ending}, {last} last": two_devices_then(ending, last)
    for ending in ("inside", "end")
    for last in ("watch", "phone")
}
TWO_DEVICES["end, watch last, then Noor finds her"] = two_devices_then("end", "watch", True)


@pytest.mark.parametrize("play", TWO_DEVICES.values(), ids=TWO_DEVICES.keys())
def test_two_devices_a_clock_ahead_and_links_after_the_climb_show_her_the_same(
    tmp_path: Path, play: Callable[[Run, str], None]
) -> None:
    real, forced = twins(tmp_path, play)
    same_bytes(real, forced)
    # What the runs are about: her phone's battery outlives her watch's fixes, the time is
    # the server's, and the silent alarm climbed (with links for her guardian) before she
    # shared her walk.
    mine = json.loads(real.cast.client.get(real.url, headers=real.mira.auth).content)
    assert mine["last_position"]["battery"] == 75
    assert mine["last_position"]["t"] <= mine["ended_at"]
    links = real.cast.client.get(f"{real.url}/shares", headers=real.mira.auth).json()
    assert [link["id"] for link in links] == [1, 2]
    to_gus = alarm_alerts_to(forced, forced.gus)
    assert [(a["reason"], a["rung"], a["again"]) for a in to_gus] == [
        ("duress", "guardians", False),
        ("duress", "guardians", True),
    ]
    if forced.noor_walk.get("state") == "alarm":
        assert forced.noor_walk["last_position"]["battery"] == 70
    else:  # resolved: over for everyone, as it was for her
        assert mine["state"] == "ended"
        assert forced.cast.client.get(forced.url, headers=forced.noor.auth).status_code == 404


def test_a_walk_she_starts_under_her_duress_pins_silent_alarm_offers_no_call_to_her(
    cast: Cast,
) -> None:
    """Made to end her walk with her duress PIN, she starts another, whoever made her beside
    her: its page offered Noor "Call Mira" and quick replies (an outside review). Not to Sam,
    who follows only the new walk and knows of no silent alarm: his page would tell him of
    it (whoever made her give her PIN may be among her companions)."""
    mira, noor, sam = cast.person("Mira"), cast.person("Noor"), cast.person("Sam")
    mine = cast.client.patch("/api/me", json={"phone": "+358401234567"}, headers=mira.auth)
    assert mine.status_code == 200, mine.text
    cast.link(mira, noor)
    first = cast.start_walk(mira, duress_pin=DURESS)
    ended = cast.client.post(
        f"/api/walks/{first['id']}/end", json={"pin": DURESS}, headers=mira.auth
    )
    assert ended.json()["state"] == "ended"  # for her devices
    cast.link(mira, sam)
    second = cast.start_walk(mira)
    url, path = f"/api/walks/{second['id']}", f"/walks/{second['id']}"
    assert cast.client.get(url, headers=noor.auth).json()["duress"] is True
    assert cast.client.get(url, headers=sam.auth).json()["duress"] is False
    assert "duress" not in cast.client.get(url, headers=mira.auth).json()  # never to her
    his = page(cast.client, path, noor).text
    assert "Noor" in his  # (signed in: his page)
    assert "tel:+358" not in his  # her number (the emergency number stays)
    assert 'class="replies"' not in his
    assert "tel:+358401234567" in page(cast.client, path, sam).text
    # Found and the silent alarm ended: a walk to call her on again.
    resolved = cast.client.post(
        f"/api/walks/{first['id']}/resolve", json={"note": "With her"}, headers=noor.auth
    )
    assert resolved.status_code == 200, resolved.text
    assert cast.client.get(url, headers=noor.auth).json()["duress"] is False
    again = page(cast.client, path, noor).text
    assert "tel:+358401234567" in again
    assert 'class="replies"' in again


def acked_before_her_sos(run: Run, pin: str) -> None:
    """Noor says "I'm on it" to the silent alarm (with her real PIN there is none, and his
    tap is refused); she presses SOS, and he says it again, to the alarm her devices are shown
    now; the ladders climb on."""
    gives_it(run, pin)
    run.cast.clock.advance(seconds=30)
    run.cast.client.post(f"{run.url}/ack", headers=run.noor.auth)  # 409 with her real PIN
    run.cast.clock.advance(seconds=30)
    run.as_mira("POST", f"{run.url}/sos")
    run.look(minutes=1)
    acked = run.cast.client.post(f"{run.url}/ack", headers=run.noor.auth)
    assert acked.status_code == 200, acked.text
    run.look(minutes=2, seconds=30)
    run.look(minutes=8)


def test_im_on_it_to_the_silent_alarm_first_does_not_keep_it_from_her_devices_alarm(
    tmp_path: Path,
) -> None:
    """His tap on the silent alarm, counted on her side too, swallowed the "Noor is on it" her
    devices would have been told with her real PIN, and her ladder was paused with nobody on
    it (a review of this session's change)."""
    real, forced = twins(tmp_path, acked_before_her_sos)
    kinds = [e["kind"] for e in real.her_events]
    assert "alarm_acknowledged" in kinds
    same_bytes(real, forced)


def guardian_acks_her_shown_sos(run: Run, pin: str) -> None:
    """Three minutes on, the silent alarm climbs to Gus (after her duress PIN only); she
    presses SOS, and Gus, whom only the silent alarm reached, says "I'm on it"."""
    gives_it(run, pin)
    reports_for(run, 3)
    run.cast.clock.advance(seconds=10)
    run.as_mira("POST", f"{run.url}/sos")
    run.look(seconds=10)
    run.cast.client.post(f"{run.url}/ack", headers=run.gus.auth)  # 404 with her real PIN
    run.look(seconds=30)


def test_a_guardian_only_the_silent_alarm_reached_is_not_on_her_devices_alarm(
    tmp_path: Path,
) -> None:
    """With her real PIN no alarm has reached Gus at her SOS's first minute; after her duress
    PIN his "I'm on it" was told to her devices and paused their ladder (a diff review)."""
    real, forced = twins(tmp_path, guardian_acks_her_shown_sos)
    same_bytes(real, forced)


@pytest.mark.parametrize("pin", [PIN, DURESS], ids=["her PIN", "her duress PIN"])
def test_three_wrong_pins_during_an_alarm_are_no_new_rung_for_im_on_it(
    tmp_path: Path, pin: str
) -> None:
    """Three wrong PINs during an alarm say it again (and show her devices one, after her
    duress PIN): taken for a new rung, Noor's second "I'm on it" held the alarm from Gus for
    twenty minutes, and was said twice (a diff review)."""
    with scene(tmp_path, "held", duress_in_profile=False) as run:
        gives_it(run, pin)
        if pin == PIN:
            run.as_mira("POST", f"{run.url}/sos")
        run.cast.clock.advance(seconds=30)
        assert run.cast.client.post(f"{run.url}/ack", headers=run.noor.auth).status_code == 200
        for _ in range(8):
            run.cast.clock.advance(minutes=1)
            run.phone_sends(run.here)
            run.look()
        for _ in range(3):
            run.cast.clock.advance(seconds=10)
            run.as_mira("POST", f"{run.url}/ok", json={"pin": "0000"})
        run.cast.clock.advance(seconds=30)
        assert run.cast.client.post(f"{run.url}/ack", headers=run.noor.auth).status_code == 200
        with run.cast.services.db.read_engine.connect() as conn:
            row = conn.execute(
                sa.select(walks.c.alarm_at, walks.c.escalate_at).where(walks.c.id == run.walk["id"])
            ).one()
        assert row.escalate_at - row.alarm_at <= 10.5 * 60_000
        said = [e for e in run.cast.events(run.noor, run.walk) if e["kind"] == "alarm_acknowledged"]
        assert len(said) == 1


def her_page(run: Run, path: str) -> str:
    """A page of hers, taken down (its form token masked: each service makes its own)."""
    shown: str = page(run.cast.client, path, run.mira).text
    masked = re.sub(r'name="csrf" value="[0-9a-f]+"', 'name="csrf" value="CSRF"', shown)
    masked = re.sub(r'"csrf": "[0-9a-f]+"', '"csrf": "CSRF"', masked)
    run.seen.append(masked.encode())
    return shown


def noor_leaves(run: Run) -> None:
    """Noor ends his contact with her, himself."""
    mine = run.cast.client.get("/api/contacts", headers=run.noor.auth).json()
    (contact,) = [c for c in mine if c["person"]["name"] == "Mira"]
    left = run.cast.client.delete(f"/api/contacts/{contact['id']}", headers=run.noor.auth)
    assert left.status_code == 204, left.text


def noor_leaves_then_her_sos(run: Run, pin: str) -> None:
    """She gives her PIN; Noor ends his contact with her; her walk page; she presses SOS on
    it; he says "I'm on it" and writes to her; eleven minutes on. With her real PIN he is
    gone: refused. After her duress PIN the silent alarm keeps him (contacts.standing), and
    his "I'm on it" and his words reached her devices, her shown ladder paused by them, and
    her pages said her alarm would be heard (a duress review)."""
    gives_it(run, pin)
    run.cast.clock.advance(seconds=20)
    noor_leaves(run)
    shown = her_page(run, f"/walks/{run.walk['id']}")
    run.cast.clock.advance(seconds=5)
    sos = run.cast.client.post(
        f"/walks/{run.walk['id']}/sos",
        data={"csrf": csrf_of(shown)},
        headers={**cookie(run.mira), "sec-fetch-site": "same-origin", "accept": "application/json"},
    )
    run.seen.append(sos.content)
    her_page(run, f"/walks/{run.walk['id']}")
    run.cast.clock.advance(seconds=20)
    run.cast.client.post(f"{run.url}/ack", headers=run.noor.auth)  # 404 with her real PIN
    run.cast.client.post(f"{run.url}/messages", json={"text": "coming"}, headers=run.noor.auth)
    run.look(minutes=11)


def test_a_companion_who_left_during_her_silent_alarm_is_gone_for_her_devices(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, noor_leaves_then_her_sos)
    said = b"".join(real.seen)
    assert b"Nobody would hear an alarm from this walk" in said
    assert "alarm_acknowledged" not in [e["kind"] for e in real.her_events]
    same_bytes(real, forced)
    # ...while the silent alarm still reaches him: his "I'm on it" and his words are on it.
    assert {"alarm_acknowledged", "message"} <= {e["kind"] for e in forced.noor_sees}


def forgotten_after_a_forced_end(run: Run, pin: str) -> None:
    """Made to end the walk; Noor ends the alarm; eight days on (she keeps walks seven): her
    home page's list of her walks named where the one walk kept for its alarm went (her
    devices are shown it forgotten, as with her real PIN: a duress review)."""
    run.cast.clock.advance(minutes=2)
    run.phone_sends(between(START, HOME, 0.2))
    run.as_mira("POST", f"{run.url}/end", json={"pin": pin})
    run.cast.clock.advance(minutes=1)
    run.cast.client.post(f"{run.url}/resolve", json={"note": "found her"}, headers=run.noor.auth)
    run.look(minutes=60 * 24 * 8)
    her_page(run, "/")


def test_her_home_page_names_no_destination_of_a_walk_her_devices_were_shown_forgotten(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, forgotten_after_a_forced_end)
    assert b"to home" not in b"".join(real.seen)
    same_bytes(real, forced)


def forced_end_then_she_ends_noor(run: Run, pin: str) -> None:
    """Made to end the walk, then (her phone, whoever holds it) ends her contact with Noor:
    her walk page said what an alarm would be by the silent alarm's companions (a duress
    review)."""
    run.cast.clock.advance(minutes=2)
    run.as_mira("POST", f"{run.url}/end", json={"pin": pin})
    mine = run.cast.client.get("/api/contacts", headers=run.mira.auth).json()
    (contact,) = [c for c in mine if c["person"]["name"] == "Noor"]
    run.as_mira("DELETE", f"/api/contacts/{contact['id']}")
    her_page(run, f"/walks/{run.walk['id']}")


def test_her_walk_page_after_she_ends_a_companion_under_the_cover_is_as_with_her_pin(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, forced_end_then_she_ends_noor)
    same_bytes(real, forced)


def removes_her_phone(run: Run, pin: str) -> None:
    """Made to end the walk; then whoever holds her phone removes it from her account, and it
    goes on reporting. With her real PIN it is revoked: its next fixes refused. After her
    duress PIN it was revoked too, and the track the people looking for her followed ended
    there (an outside review)."""
    run.cast.clock.advance(minutes=2)
    run.phone_sends(between(START, HOME, 0.2))
    run.as_mira("POST", f"{run.url}/end", json={"pin": pin})
    (phone,) = run.cast.client.get("/api/devices", headers=run.mira.auth).json()
    run.as_mira("DELETE", f"/api/devices/{phone['id']}")
    run.as_mira("GET", "/api/devices")
    run.cast.clock.advance(seconds=30)
    run.phone_sends(between(START, HOME, 0.3))


def test_her_phone_removed_during_her_silent_alarm_still_reaches_those_looking_for_her(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, removes_her_phone)
    assert any(said.startswith(b"401 ") for said in real.seen)  # (the phone, after)
    same_bytes(real, forced)
    # Its fixes since are theirs: where she is now, not where the phone was removed.
    assert forced.noor_walk["last_position"]["lat"] == pytest.approx(between(START, HOME, 0.5)[0])
    # Once the silent alarm is over, it is revoked for good: its topic and key are gone.
    with scene(tmp_path, "after", False) as run:
        removes_her_phone(run, DURESS)
        with run.cast.services.db.read_engine.connect() as conn:
            assert conn.execute(sa.select(devices.c.revoked_at)).scalar_one() is None
        found = {"note": "found her"}
        assert run.cast.client.post(f"{run.url}/resolve", json=found, headers=run.noor.auth)
        run.look(minutes=2)
        with run.cast.services.db.read_engine.connect() as conn:
            assert conn.execute(sa.select(devices.c.revoked_at)).scalar_one() is not None


def test_her_phone_is_not_removed_during_an_alarm_her_devices_are_shown(cast: Cast) -> None:
    mira, _noor, phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    (device,) = cast.client.get("/api/devices", headers=mira.auth).json()
    refused = cast.client.delete(f"/api/devices/{device['id']}", headers=mira.auth)
    assert refused.status_code == 409, refused.text
    assert "during an alarm" in refused.json()["error"]
    assert cast.statuses(phone, cast.fix((60.17, 24.94))) == ["accepted"]


def noor_follows_by_his_app(run: Run, pin: str) -> None:
    """Noor's app reads her walk from its start, and every eleven minutes after; a minute in,
    she gives her PIN. Her list of who looked showed his app's reads until her duress PIN,
    and none after (an outside review): the reads of a door he was still looking through go
    on being shown, as with her real PIN."""
    run.cast.client.get(run.url, headers=run.noor.auth)
    gives_it(run, pin)
    for _ in range(3):
        run.cast.clock.advance(minutes=11)
        run.phone_sends(run.here)
        run.cast.client.get(run.url, headers=run.noor.auth)
    run.as_mira("GET", f"{run.url}/looks")


def test_a_companions_app_that_read_her_walk_before_her_duress_pin_goes_on_in_her_list(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, noor_follows_by_his_app)
    looked = real.cast.client.get(f"{real.url}/looks", headers=real.mira.auth).json()
    assert [look.get("who") for look in looked if look["via"] == "api"] == ["Noor"] * 4
    same_bytes(real, forced)


def noor_looked_as_it_began_then_the_alarm_sends_him(run: Run, pin: str) -> None:
    """Noor opens her walk as it begins, once; a quarter of an hour on she gives her PIN,
    and after her duress PIN its silent alarm sends him to her walk again. A look through a
    door he had used at all before it was shown, 30 s after her PIN (a diff review): only one
    he was still looking through (his app reading her walk) is."""
    run.cast.client.get(run.url, headers=run.noor.auth)
    for _ in range(3):
        run.cast.clock.advance(minutes=5)
        run.phone_sends(run.here)
        run.look()
    gives_it(run, pin)
    run.cast.clock.advance(seconds=30)
    if pin == DURESS:
        run.cast.client.get(run.url, headers=run.noor.auth)
    run.as_mira("GET", f"{run.url}/looks")


def test_a_companion_who_looked_only_as_her_walk_began_is_not_shown_coming_back(
    tmp_path: Path,
) -> None:
    real, forced = twins(tmp_path, noor_looked_as_it_began_then_the_alarm_sends_him)
    same_bytes(real, forced)


def her_page_sends(run: Run, where: tuple[float, float]) -> None:
    """Her walk page reports where she is (its browser is a device of hers)."""
    walk_id = run.walk["id"]
    token = csrf_of(page(run.cast.client, f"/walks/{walk_id}", run.mira).text)
    answer = run.cast.client.post(
        f"/walks/{walk_id}/fixes",
        json={"fixes": [run.cast.fix(where)]},
        headers={"x-csrf-token": token, "sec-fetch-site": "same-origin", **cookie(run.mira)},
    )
    run.seen.append(f"{answer.status_code} ".encode() + answer.content)


def removes_this_browser(run: Run, pin: str) -> None:
    """Her walk page reporting, she gives her PIN, removes "This browser" from her phones,
    and the page reports again: with her real PIN a new browser device is made; after her
    duress PIN the removed one was taken up again, and her list lacked it (a diff review)."""
    her_page_sends(run, between(START, HOME, 0.05))
    gives_it(run, pin)
    mine = run.cast.client.get("/api/devices", headers=run.mira.auth).json()
    (browser,) = [d for d in mine if d["name"].startswith("This browser")]
    run.as_mira("DELETE", f"/api/devices/{browser['id']}")
    run.cast.clock.advance(seconds=30)
    her_page_sends(run, between(START, HOME, 0.15))
    run.as_mira("GET", "/api/devices")


def test_her_browser_removed_under_the_cover_comes_back_as_with_her_pin(tmp_path: Path) -> None:
    real, forced = twins(tmp_path, removes_this_browser)
    mine = real.cast.client.get("/api/devices", headers=real.mira.auth).json()
    assert any(d["name"].startswith("This browser") for d in mine)
    same_bytes(real, forced)
