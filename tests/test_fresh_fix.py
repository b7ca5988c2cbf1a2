"""A fresh fix before asking: before "Are you OK?" for silence or a stall, Mira's OwnTracks
(MQTT) is asked for its position (`reportLocation` on its /cmd topic) and the check waits 30 s
for the answer. The rule first (domain/fresh_fix.py), then the service against the real
Mosquitto broker on 127.0.0.1:1883 with a fake clock: the tests move the clock and ask the
watchdog to look; they only poll for the broker's deliveries, never for a deadline."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import LOCAL, make_services, pg_schema
from tests.mqtt_world import Phone, eventually
from tests.people import HOME, PIN, START, Cast, Member, between
from tests.test_owntracks_mqtt import location, mira_on_a_walk, serving
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.domain.fresh_fix import FRESH_FIX_WAIT_MS, Wait, before_asking
from walkwithme.domain.profiles import DAY, MINUTE, SECOND
from walkwithme.domain.rules import Reason, Watch
from walkwithme.domain.walks import WalkState
from walkwithme.mqtt_bridge import REPORT_LOCATION
from walkwithme.usecases import devices

pytestmark = pytest.mark.usefixtures("mqtt_broker")

DURESS = "1357"

# -- the rule -------------------------------------------------------------------------------

T0 = 1_780_000_000_000
QUIET = Watch(
    state=WalkState.ACTIVE,
    started_at=T0,
    expected_at=T0 + 30 * MINUTE,
    last_fix_at=T0,
    progress_at=T0,
    away_since=None,
    door_at=None,
    check_reason=None,
    check_asked_at=None,
    quiet_until=None,
)
SILENT_AT = T0 + DAY.silent_ms  # her phone's silence falls due


def wait(w: Watch = QUIET, reason: Reason = Reason.SILENT, **kw: Any) -> Wait | None:
    now = kw.pop("now", SILENT_AT)
    return before_asking(
        w, reason, DAY, now, fix_asked_at=kw.pop("asked", None), can_ask=kw.pop("can", True)
    )


def test_a_silent_phone_that_can_be_asked_is_asked_first() -> None:
    assert wait() == Wait(ask_phone=True, look_at=SILENT_AT + FRESH_FIX_WAIT_MS)
    assert wait(now=SILENT_AT + 5 * SECOND) == Wait(True, SILENT_AT + 5 * SECOND + 30 * SECOND)


def test_while_it_is_asked_she_is_not_and_once_the_wait_is_over_she_is() -> None:
    asked = SILENT_AT + 2 * SECOND
    for now in (asked, asked + 29 * SECOND, asked + FRESH_FIX_WAIT_MS - 1):
        assert wait(now=now, asked=asked) == Wait(ask_phone=False, look_at=asked + 30 * SECOND)
    assert wait(now=asked + FRESH_FIX_WAIT_MS, asked=asked) is None
    assert wait(now=asked + 5 * MINUTE, asked=asked) is None


def test_her_phone_answered_and_she_still_stands_still_she_is_asked_at_once() -> None:
    stalled_at = T0 + DAY.stalled_ms
    asked = stalled_at + SECOND
    answered = replace(QUIET, last_fix_at=asked + 3 * SECOND)  # a fresh fix, no progress
    assert wait(answered, Reason.STALLED, now=asked + 4 * SECOND, asked=asked) is None
    # A stale answer (the last fix it had, older than the question) is no answer.
    stale = replace(QUIET, last_fix_at=asked - 10 * SECOND)
    assert wait(stale, Reason.STALLED, now=asked + 4 * SECOND, asked=asked) == Wait(
        False, asked + FRESH_FIX_WAIT_MS
    )


def test_only_silence_and_a_stall_wait_for_a_phone() -> None:
    late = replace(QUIET, expected_at=T0)
    for reason in (Reason.LATE, Reason.MOVING_AWAY, Reason.LINGERING):
        assert wait(late, reason, now=T0 + 10 * MINUTE) is None


def test_no_phone_to_ask_or_a_late_look_asks_her_at_once() -> None:
    assert wait(can=False) is None
    # The watchdog was down past the wait: her check is not put off any longer.
    assert wait(now=SILENT_AT + FRESH_FIX_WAIT_MS) is None
    assert wait(now=SILENT_AT + FRESH_FIX_WAIT_MS - 1) is not None


def test_a_later_silence_asks_her_phone_again() -> None:
    asked = SILENT_AT  # the phone answered that time; she went quiet again later
    later = replace(QUIET, last_fix_at=asked + 10 * SECOND)
    again = asked + 10 * SECOND + DAY.silent_ms
    assert wait(later, now=again, asked=asked) == Wait(True, again + FRESH_FIX_WAIT_MS)


def test_a_rule_not_due_is_no_question() -> None:
    assert wait(now=SILENT_AT - 1) is None


# -- the service, with the broker --------------------------------------------------------------


def asked_for_position(phone: Phone) -> int:
    return sum(1 for command in phone.commands if command == REPORT_LOCATION)


def look(cast: Cast, **advance: float) -> list[str]:
    cast.clock.advance(**advance)
    return cast.services.watchdog.tick_sync()


def checks(cast: Cast, who: Member, walk: dict[str, Any]) -> list[str]:
    return [e["reason"] for e in cast.events(who, walk) if e["kind"] == "check"]


def reported(cast: Cast, phone: Phone, who: Member, walk: dict[str, Any], **fix: Any) -> None:
    """Her phone publishes where she is now, and the walk has it."""
    sent = location(cast, fix.pop("where", between(START, HOME, 0.2)), m=2, **fix)
    phone.publish(sent)

    def stored() -> bool:
        seen = cast.client.get(f"/api/walks/{walk['id']}", headers=who.auth).json()
        position = seen["last_position"]
        return position is not None and position["t"] == sent["tst"] * 1000

    eventually(stored)


def test_a_silent_phone_is_asked_and_its_fresh_fix_spares_her_the_question(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        reported(cast, phone, mira, walk)
        assert look(cast, minutes=2, seconds=59) == []
        # Silent for three minutes: her phone is asked first, she is not.
        assert look(cast, seconds=1) == ["fix_asked"]
        eventually(lambda: asked_for_position(phone) == 1)
        assert checks(cast, mira, walk) == []
        # It answers (OwnTracks' `t: "r"`), with a fix she made progress to.
        cast.clock.advance(seconds=4)
        reported(cast, phone, mira, walk, where=between(START, HOME, 0.4), t="r")
        assert look(cast) == []
        assert look(cast, seconds=26) == []
        assert checks(cast, mira, walk) == []
        assert checks(cast, noor, walk) == []
        assert asked_for_position(phone) == 1
        # Nothing on anyone's timeline says her phone was asked: a fix came, that is all.
        assert "fix_asked" not in str(cast.events(noor, walk))


def test_no_answer_and_the_check_goes_out_after_the_wait(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        reported(cast, phone, mira, walk)
        assert look(cast, minutes=3) == ["fix_asked"]
        eventually(lambda: asked_for_position(phone) == 1)
        assert look(cast, seconds=29) == []
        assert look(cast, seconds=1) == ["check"]
        assert checks(cast, mira, walk) == ["silent"]
        assert asked_for_position(phone) == 1  # once a silence, not again for the check
        # Unanswered, the alarm comes at the usual time after the question.
        assert look(cast, seconds=90) == ["alarm"]


def test_a_fresh_answer_without_progress_asks_her_at_once(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        here = between(START, HOME, 0.2)
        reported(cast, phone, mira, walk, where=here)
        for _ in range(4):  # she reports, standing still
            cast.clock.advance(minutes=1)
            reported(cast, phone, mira, walk, where=here)
        assert cast.services.watchdog.tick_sync() == []
        assert look(cast, minutes=1) == ["fix_asked"]  # stalled for five minutes
        eventually(lambda: asked_for_position(phone) == 1)
        cast.clock.advance(seconds=3)
        # Her phone's answer: a fresh fix where she was. Still stalled: asked now.
        reported(cast, phone, mira, walk, where=here, t="r")
        assert cast.services.watchdog.tick_sync() == ["check"]
        assert checks(cast, mira, walk) == ["stalled"]


def test_a_walker_whose_phones_cant_be_asked_is_asked_at_once(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """Her phone posts over HTTP (or through her page): nothing reaches it before its next
    post, so nothing waits for it."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        token = cast.device(mira)
        walk = cast.start_walk(mira)
        assert cast.statuses(token, cast.fix(between(START, HOME, 0.2))) == ["accepted"]
        assert look(cast, minutes=3) == ["check"]
        assert checks(cast, mira, walk) == ["silent"]
        assert asked_for_position(phone) == 0


def test_a_process_without_the_broker_asks_no_phone_but_honours_a_wait(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """Several `serve` on one PostgreSQL database: only the one that follows the broker can
    publish. A watchdog elsewhere (here: the same one, its bridge taken away) asks at once
    where no question is pending, and waits for one that is."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        bridge = cast.services.watchdog.phones
        reported(cast, phone, mira, walk)
        assert look(cast, minutes=3) == ["fix_asked"]
        cast.services.watchdog.phones = None
        assert look(cast, seconds=29) == []
        assert look(cast, seconds=1) == ["check"]
        # She answers; later silent again, the process without the broker asks her at once.
        answered = cast.client.post(
            f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth
        )
        assert answered.status_code == 200, answered.text
        assert look(cast, minutes=5) == ["check"]
        eventually(lambda: asked_for_position(phone) >= 1)  # the first look's, delivered
        assert asked_for_position(phone) == 1
        cast.services.watchdog.phones = bridge


@pytest.fixture
def on_postgres(world: dict[str, str]) -> Iterator[dict[str, str]]:
    """The same world on a PostgreSQL schema of its own, which several services can share."""
    with pg_schema("ff_") as url:
        yield {**world, "url": url}


def test_two_services_on_postgresql_one_following_the_broker(
    on_postgres: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """Two `serve` on one database, only the first following the broker: the second's
    watchdog honours the first's question to her phone, and asks her at once itself."""
    with serving(on_postgres, tmp_path / "one", clock) as cast:
        other = make_services(on_postgres["url"], tmp_path / "two", clock)
        assert other.watchdog.phones is None  # no WWM_MQTT_URL: it can't publish
        with TestClient(create_app(other), base_url="http://127.0.0.1:8001", client=LOCAL):
            mira, noor, walk = mira_on_a_walk(cast, on_postgres["topic"])
            reported(cast, phone, mira, walk)
            cast.clock.advance(minutes=3)
            assert cast.services.watchdog.tick_sync() == ["fix_asked"]
            eventually(lambda: asked_for_position(phone) == 1)
            cast.clock.advance(seconds=29)
            assert other.watchdog.tick_sync() == []
            cast.clock.advance(seconds=1)
            assert other.watchdog.tick_sync() == ["check"]
            assert checks(cast, mira, walk) == ["silent"]
            ok = cast.client.post(
                f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth
            )
            assert ok.status_code == 200, ok.text
            # Silent again: the second, which can't publish, asks her at once.
            cast.clock.advance(minutes=5)
            assert other.watchdog.tick_sync() == ["check"]
            assert asked_for_position(phone) == 1
        other.db.dispose()


@pytest.mark.parametrize("pin", [PIN, DURESS], ids=["her PIN", "her duress PIN"])
def test_under_a_duress_pins_cover_her_phone_is_asked_as_it_would_be(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone, pin: str
) -> None:
    """Her duress PIN, given when all is well, leaves her devices a walk that goes on: its
    silence asks her phone for a fix and waits, exactly as her real PIN's walk does."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        cast.services.writer.run_sync(
            lambda tx: devices.add_device(tx, mira.id, "phone", world["topic"])
        )
        walk = cast.start_walk(mira, duress_pin=DURESS)
        reported(cast, phone, mira, walk)
        said = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": pin}, headers=mira.auth)
        assert said.json()["answered"] == "nothing"
        assert look(cast, minutes=3) == ["fix_asked"]
        eventually(lambda: asked_for_position(phone) == 1)
        assert checks(cast, mira, walk) == []
        assert look(cast, seconds=30) == ["check"]
        assert checks(cast, mira, walk) == ["silent"]
        mine = cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).json()
        assert mine["state"] == "active"
        noor_sees = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
        assert noor_sees["state"] == ("alarm" if pin == DURESS else "active")
        # Those looking out for her see that her devices were asked, as they would have been.
        asked = [e.get("cover", False) for e in cast.events(noor, walk) if e["kind"] == "check"]
        assert asked == [pin == DURESS]
