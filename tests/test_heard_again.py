"""Her phone heard again during an alarm, after a silence: the people looking for her are told
it is alive and where, once; a phone that merely reports seldom is not "back" each time."""

from __future__ import annotations

from typing import Any

from tests.people import HOME, START, Cast, Member, between
from walkwithme.notify.messages import render

DURESS = "1357"


def look(cast: Cast, **advance: float) -> list[str]:
    cast.clock.advance(**advance)
    return cast.services.watchdog.tick_sync()


def silent_alarm(cast: Cast) -> tuple[Member, Member, str, dict[str, Any]]:
    """Mira's phone reports once, then nothing: asked, unanswered, the alarm (by day: 3 min
    of silence, then 90 s to answer)."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.channel(mira)
    cast.send(phone, cast.fix(START))
    assert "check" in look(cast, minutes=3, seconds=1)
    assert "alarm" in look(cast, seconds=91)
    return mira, noor, phone, walk


def kinds(cast: Cast, who: Member, walk: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in cast.events(who, walk)]


def test_her_phone_back_after_the_silent_alarm_is_told_with_where_it_is(cast: Cast) -> None:
    mira, noor, phone, walk = silent_alarm(cast)
    cast.clock.advance(minutes=6)
    here = between(START, HOME, 0.3)
    cast.send(phone, cast.fix(here))

    told = cast.told(noor, "reporting_again")
    assert len(told) == 1
    title, body = render(told[0])
    assert title == "Mira's phone is reporting again."
    # Silent since her one fix: 3 min, 91 s, then 6 min.
    assert "It had said nothing for 10 min." in body
    assert "The alarm goes on until someone ends it." in body
    assert f"{here[0]:.5f}, {here[1]:.5f}" in body
    # On both timelines (no duress PIN: she sees her own walk's alarm), and still an alarm.
    assert kinds(cast, noor, walk)[-1] == "reporting_again"
    assert kinds(cast, mira, walk)[-1] == "reporting_again"
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"

    # Her next fixes, a minute apart: no more of it.
    for _ in range(3):
        cast.clock.advance(minutes=1)
        cast.send(phone, cast.fix(here))
    assert len(cast.told(noor, "reporting_again")) == 1


def test_silent_again_and_back_is_told_again_but_not_within_ten_minutes(cast: Cast) -> None:
    _mira, noor, phone, _walk = silent_alarm(cast)
    cast.clock.advance(minutes=1)
    cast.send(phone, cast.fix(START))
    assert len(cast.told(noor, "reporting_again")) == 1
    cast.clock.advance(minutes=5)  # quiet again, back within ten minutes of the first
    cast.send(phone, cast.fix(START))
    assert len(cast.told(noor, "reporting_again")) == 1
    cast.clock.advance(minutes=6)  # quiet again, back after them
    cast.send(phone, cast.fix(START))
    assert len(cast.told(noor, "reporting_again")) == 2


def test_a_phone_reporting_every_few_minutes_in_an_sos_alarm_is_not_back_each_time(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.send(phone, cast.fix(START))
    sos = cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert sos.status_code == 200, sos.text
    for _ in range(4):  # every 3 min 30 s: the silent rule's time by day, and half a minute
        cast.clock.advance(minutes=3, seconds=30)
        cast.send(phone, cast.fix(START))
    assert cast.told(noor, "reporting_again") == []
    assert "reporting_again" not in kinds(cast, noor, walk)


def test_back_before_any_alarm_is_no_news(cast: Cast) -> None:
    """Outside an alarm her companions see her walk; a question for silence is taken back."""
    _mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.send(phone, cast.fix(START))
    cast.clock.advance(minutes=20)
    cast.send(phone, cast.fix(START))
    assert cast.told(noor, "reporting_again") == []
    assert "reporting_again" not in kinds(cast, noor, walk)


def test_after_her_duress_pin_only_those_looking_for_her_hear_of_it(cast: Cast) -> None:
    """Her devices are shown a walk that ended: nothing of her phone being back."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.channel(noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin=DURESS)
    cast.send(phone, cast.fix(START))
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": DURESS}, headers=mira.auth
    )
    assert ended.status_code == 200, ended.text
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == (
        "alarm"
    )
    cast.clock.advance(minutes=15)
    cast.send(phone, cast.fix(START))
    assert len(cast.told(noor, "reporting_again")) == 1
    assert "reporting_again" in kinds(cast, noor, walk)
    assert "reporting_again" not in kinds(cast, mira, walk)


def test_told_to_everyone_before_her_duress_pin_counts_after_it(cast: Cast) -> None:
    """Her phone back in her SOS alarm is told to all; made to ask for more time with her
    duress PIN 30 s later, her phone silent and back again within ten minutes: nobody is told
    twice (her devices, as with her real PIN; those looking for her, as always)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.channel(noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin=DURESS)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=5)
    cast.send(phone, cast.fix(START))
    cast.clock.advance(seconds=30)
    more = cast.client.post(
        f"/api/walks/{walk['id']}/extend", json={"pin": DURESS, "minutes": 15}, headers=mira.auth
    )
    assert more.status_code == 200, more.text
    cast.clock.advance(minutes=4, seconds=30)
    cast.send(phone, cast.fix(START))
    assert len(cast.told(noor, "reporting_again")) == 1
    assert kinds(cast, noor, walk).count("reporting_again") == 1
    assert kinds(cast, mira, walk).count("reporting_again") == 1
