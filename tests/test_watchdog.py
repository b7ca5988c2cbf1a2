"""The watchdog through the real service: checks, alarms, answers, on both databases.

The clock is fake: tests move it and ask the watchdog to look (`tick_sync`), exactly as its
loop would at that moment. Nothing sleeps.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import HOME, PIN, START, Cast, Member, between
from tests.test_pages import page
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.notify.messages import render
from walkwithme.notify.times import with_times
from walkwithme.store.database import StorageUnavailable
from walkwithme.store.schema import walks
from walkwithme.usecases import judging
from walkwithme.web import words


def about_walks(told: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alerts about a walk among those made for someone (not, say, a request to follow)."""
    return [alert for alert in told if alert.get("walk_id") is not None]


def kinds(cast: Cast, who: Member, walk: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in cast.events(who, walk)]


def state(cast: Cast, who: Member, walk: dict[str, Any]) -> str:
    found: str = cast.client.get(f"/api/walks/{walk['id']}", headers=who.auth).json()["state"]
    return found


def checks_of(cast: Cast, who: Member, walk: dict[str, Any]) -> list[str]:
    return [e["reason"] for e in cast.events(who, walk) if e["kind"] == "check"]


def look(cast: Cast, **advance: float) -> list[str]:
    cast.clock.advance(**advance)
    return cast.services.watchdog.tick_sync()


def test_a_silent_walker_is_asked_then_her_companion_alarmed(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert look(cast, minutes=2, seconds=59) == []
    assert look(cast, seconds=1) == ["check"]
    assert kinds(cast, mira, walk)[-1] == "check"
    assert look(cast, seconds=89) == []
    assert look(cast, seconds=1) == ["alarm"]
    alarm = cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()[-1]
    assert (alarm["kind"], alarm["reason"]) == ("alarm", "no_answer")
    assert alarm["asked_because"] == "silent"  # why she was asked, for whoever acts on it
    assert alarm["destination"]["name"] == "home"
    assert state(cast, noor, walk) == "alarm"
    title, body = render({"kind": "alarm", "walker": {"name": "Mira"}, **alarm})
    assert title == "ALARM: Mira did not answer “Are you OK?”"  # short: a lock screen's
    assert "Asked because: the phone went silent." in body.splitlines()
    said = words.event_sentence(alarm, "Mira")
    assert said == "ALARM: no answer to “Are you OK?”, asked because: the phone went silent"


def test_the_watchdogs_looks_refused_now_and_then_never_hold_off_a_silent_phones_alarm(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a fault her phone's messages may be on their way, and the watchdog waits a
    minute for them (judging.CATCH_UP_MS); a fault every 50 s held a silent phone's question
    and alarm off for as long as they came. Only a phone not yet silent when a fault began
    can have had messages held up by it: she is asked at most a minute later than without
    the faults, and alarmed when her answer's time is up."""
    _mira, _noor, _phone, _walk = cast.walking()
    real = judging.due_walks
    looks = itertools.count(1)

    def now_and_then(conn: Any, **kwargs: Any) -> Any:
        if next(looks) % 10 == 0:  # a look every 5 s: one refused every 50 s
            raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))
        return real(conn, **kwargs)

    monkeypatch.setattr(judging, "due_walks", now_and_then)
    decided: list[tuple[int, str]] = []
    for step in range(1, 6 * 12 + 1):  # six minutes
        cast.clock.advance(seconds=5)
        with contextlib.suppress(StorageUnavailable):
            decided += [(step * 5, kind) for kind in cast.services.watchdog.tick_sync()]
    [(asked_at, asked), (alarmed_at, alarmed)] = decided
    assert (asked, alarmed) == ("check", "alarm")
    assert 180 <= asked_at <= 180 + 65  # (silent for three minutes by day)
    assert alarmed_at == asked_at + 90


def test_a_write_refused_after_the_watchdog_looked_holds_the_walk_it_then_judges(
    cast: Cast,
) -> None:
    """The fault is read as the walk is judged, on the writer's thread, not when the watchdog
    looked (a diff review: a walk that fell due as another process began to hold SQLite's
    lock was asked at once after it, her phone's refused fix still on its way)."""
    mira, _noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix(START))
    cast.clock.advance(minutes=3)  # silent by day: due now
    services = cast.services
    [(walk_id, seen_due)] = services.db.read_sync(
        functools.partial(judging.due_walks, now_ms=cast.clock.now_ms(), limit=10)
    )
    faults = services.watchdog._faults(cast.clock.now_ms())  # its look: no fault yet
    services.writer._refused()  # meanwhile her phone's fix is refused (the lock), then
    services.writer._took_writes()  # the lock is let go
    decided = services.writer.run_sync(
        functools.partial(judging.judge, walk_id=walk_id, seen_due=seen_due, faults=faults)
    )
    assert decided is None  # held: her phone's fix is on its way
    assert "check" not in kinds(cast, mira, walk)


def test_an_answered_check_lets_the_walk_go_on(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert look(cast, minutes=3) == ["check"]
    answered = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert answered.json()["answered"] == "check"
    assert look(cast, minutes=2) == []
    assert state(cast, noor, walk) == "active"
    assert kinds(cast, noor, walk)[-2:] == ["check", "check_answered"]


def test_the_alarm_carries_what_a_companion_needs(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=30)
    cast.send(phone, cast.fix(between(START, HOME, 0.3), battery=41, bearing=170))
    cast.clock.advance(seconds=30)
    sos = cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert sos.json()["state"] == "alarm"
    alarm = cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()[-1]
    assert alarm["reason"] == "sos"
    last = alarm["last_position"]
    assert (last["battery"], last["bearing"], last["age_s"], last["accuracy"]) == (41, 170, 30, 8)
    assert last["lat"] == between(START, HOME, 0.3)[0]


def test_a_companion_says_im_on_it_then_resolves_with_a_note(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    acked = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)
    assert acked.status_code == 200
    no_note = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": ""}, headers=noor.auth
    )
    assert no_note.status_code == 422
    resolved = cast.client.post(
        f"/api/walks/{walk['id']}/resolve",
        json={"note": "Called her: she's fine"},
        headers=noor.auth,
    )
    assert resolved.json()["state"] == "active"
    seen_by_mira = cast.client.get(f"/api/walks/{walk['id']}/events", headers=mira.auth).json()
    assert [e["kind"] for e in seen_by_mira[-3:]] == [
        "alarm",
        "alarm_acknowledged",
        "alarm_resolved",
    ]
    assert seen_by_mira[-1]["note"] == "Called her: she's fine"
    assert seen_by_mira[-2]["by"]["name"] == "Noor"
    # Only in an alarm, and only her companions.
    again = cast.client.post(f"/api/walks/{walk['id']}/ack", headers=noor.auth)
    assert again.status_code == 409
    sam = cast.person("Sam")
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert cast.client.post(f"/api/walks/{walk['id']}/ack", headers=sam.auth).status_code == 404


def test_the_walker_ends_her_own_alarm_with_her_pin(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    done = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert done.json()["answered"] == "alarm"
    assert done.json()["state"] == "active"


def test_three_wrong_pins_raise_the_alarm(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    for attempt in range(3):
        wrong = cast.client.post(
            f"/api/walks/{walk['id']}/inside", json={"pin": "0000"}, headers=mira.auth
        )
        assert wrong.status_code == 403, attempt
    assert state(cast, noor, walk) == "alarm"
    assert (
        cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()[-1]["reason"]
        == "wrong_pins"
    )


def test_a_right_pin_clears_the_count_of_wrong_ones(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    for pin in ("0000", "0000", PIN, "0000", "0000"):
        cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": pin}, headers=mira.auth)
    assert state(cast, noor, walk) == "active"


def test_lingering_at_the_door_is_checked(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=15)  # her first fix, at her door, a walk away from the start
    cast.send(phone, cast.fix(HOME))
    assert state(cast, noor, walk) == "at_door"
    for _ in range(9):  # she stands at the door, her phone still reporting
        assert look(cast, seconds=30) == []
        cast.send(phone, cast.fix(HOME))
    assert look(cast, seconds=30) == ["check"]
    assert (
        cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()[-1]["reason"]
        == "lingering"
    )


def test_the_storys_walk_raises_nothing(cast: Cast) -> None:
    """She walks home at an easy pace, talks a little, walks in silence, waits at her door for
    a couple of minutes, and goes in."""
    mira, noor, phone, walk = cast.walking()
    steps = 40
    for step in range(1, steps + 1):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, step / steps)))
        if step == 5:
            cast.client.post(
                f"/api/walks/{walk['id']}/messages",
                json={"text": "Thanks for this"},
                headers=mira.auth,
            )
        assert cast.services.watchdog.tick_sync() == []
    for _ in range(4):  # two minutes at the door, keys in hand
        assert look(cast, seconds=30) == []
        cast.send(phone, cast.fix(HOME))
    cast.channel(noor)
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside",
        json={"pin": PIN, "note": "Come in?"},
        headers=mira.auth,
    )
    assert inside.json()["state"] == "safe"
    assert look(cast, minutes=30) == []
    assert "check" not in kinds(cast, mira, walk)
    assert "alarm" not in kinds(cast, mira, walk)
    assert render(cast.told(noor, "inside")[-1])[0] == "Mira is home, inside."


def test_inside_away_from_where_she_was_going_is_not_said_home(cast: Cast) -> None:
    """Half way, she goes in at a friend's and says "I'm inside" there: her companion is not
    told she is home (he was)."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.send(phone, cast.fix(between(START, HOME, 0.5)))
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside",
        json={"pin": PIN, "note": "Staying at Aino's"},
        headers=mira.auth,
    )
    assert inside.json()["state"] == "safe"
    told = render(cast.told(noor, "inside")[-1])
    assert told[0] == "Mira is inside, not where the walk was going: the walk is over."
    assert "Note: Staying at Aino's" in told[1]
    over = page(cast.client, f"/walks/{walk['id']}", noor)  # his page says so too
    assert "Mira is inside, not where the walk was going: since" in over.text


def test_inside_when_her_page_woke_on_her_doorstep_is_said_home(cast: Cast) -> None:
    """Her walk page slept in her pocket from the start; she opens it on her doorstep and its
    first fix there is too far from her last to count as arriving. She is last seen at her
    door, and "I'm inside" tells her companion she is home (it said "not where the walk was
    going": an outside review), in the alert and on his page."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.send(phone, cast.fix(START))
    cast.clock.advance(seconds=20)
    cast.send(phone, cast.fix(HOME))
    assert state(cast, noor, walk) == "active"  # not arrived: 20 s from across town
    cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth)
    assert render(cast.told(noor, "inside")[-1])[0] == "Mira is home, inside."
    over = page(cast.client, f"/walks/{walk['id']}", noor)
    assert "Mira got home: inside since" in over.text


def test_a_slower_walker_who_keeps_going_is_given_more_time(cast: Cast) -> None:
    """Half the planned pace, but always getting closer: the expected arrival moves, as a
    companion watching would move it, and the timeline says so. No check, no alarm."""
    mira, noor, phone, walk = cast.walking()
    planned = walk["expected_at"] - walk["started_at"]
    steps = 2 * planned // 30_000  # a fix every 30 s, taking twice as long as planned
    for step in range(1, steps + 1):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, step / steps)))
        assert cast.services.watchdog.tick_sync() == [], f"at step {step} of {steps}"
    later = [e for e in cast.events(noor, walk) if e["kind"] == "expected_later"]
    assert later, "the timeline should say she is given more time"
    expected = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert expected["expected_at"] > walk["expected_at"] + planned // 2
    assert later[-1]["expected_at"] <= expected["expected_at"]
    # Said once in a while, not with each step (it was said twice in a minute, the same
    # words); her expected time moves on all the same.
    times = [e["at"] for e in later]
    assert all(b - a >= 5 * 60_000 for a, b in itertools.pairwise(times))


def test_at_her_door_a_slower_walker_is_given_no_more_time(cast: Cast) -> None:
    """Slower than planned, she reaches her door; her fixes there still creep nearer it
    (keys, the gate, the phone's noise). Her companions were told "more time" after she had
    arrived: she needs none to get where she is."""
    mira, noor, phone, walk = cast.walking()
    planned = walk["expected_at"] - walk["started_at"]
    steps = 2 * planned // 30_000  # twice as long as planned, to a point 30 m from the door
    for step in range(1, steps + 1):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, step / steps * 0.985)))
    events = cast.events(noor, walk)
    assert "arrived" in [e["kind"] for e in events]
    said = len(events)
    for nearer in (0.99, 0.995, 1.0):  # at the door, a few metres nearer each time
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, nearer)))
    after = [e["kind"] for e in cast.events(noor, walk)[said:]]
    assert "expected_later" not in after


@pytest.mark.streets
def test_a_walker_on_time_to_a_door_beyond_the_street_map_is_given_no_more_time(
    cast: Cast,
) -> None:
    """Her door is 340 m past the last street the map knows, and she walks straight to it at
    the planned pace. Measured along the map's streets (to their end and back) she seemed to
    get no nearer, and was given time she didn't need, putting off her alarm: judged as the
    crow flies, she is on time."""
    mira, noor, phone, walk = cast.walking()
    planned = walk["expected_at"] - walk["started_at"]
    steps = planned // 30_000 - 1  # a fix every 30 s, a little ahead of time
    for step in range(1, steps + 1):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, min(1.0, step / (steps - 2)))))
        assert cast.services.watchdog.tick_sync() == [], f"at step {step} of {steps}"
    assert [e for e in cast.events(noor, walk) if e["kind"] == "expected_later"] == []
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["expected_at"] == walk["expected_at"]


def test_a_wait_at_the_start_is_not_taken_for_her_walking_pace(cast: Cast) -> None:
    """She waits 3 minutes where she starts (her phone's fixes wander a little), then walks
    home at the planned pace. Measured from her first fix, the wait made her pace look slow
    and her expected arrival moved half an hour: the late rule, the alarm of last resort,
    would have waited that long. Measured from where she set off, she is a few minutes late
    at most, as the wait made her."""
    mira, noor, phone, walk = cast.walking()
    planned = walk["expected_at"] - walk["started_at"]
    for step in range(12):  # a fix every 15 s, a few metres off this way and that
        cast.send(phone, cast.fix((START[0] + (-1) ** step * 0.00008, START[1])))
        cast.clock.advance(seconds=15)
        assert cast.services.watchdog.tick_sync() == []
    steps = planned // 30_000
    for step in range(1, steps + 1):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, step / steps)))
        cast.services.watchdog.tick_sync()
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["expected_at"] <= walk["expected_at"] + 4 * 60_000
    assert seen["state"] == "at_door"


def _first_check(cast: Cast, phone: str, places: list[tuple[float, float]], **fix: Any) -> int:
    """Her phone reports `places` in turn, every 10 s, the watchdog looking before each; the
    seconds until she was first asked "Are you OK?" (or -1: never)."""
    for n, where in enumerate(places):
        cast.clock.advance(seconds=10)
        if "check" in cast.services.watchdog.tick_sync():
            return (n + 1) * 10
        cast.send(phone, {**cast.fix(where), **fix})
    return -1


def test_walking_to_and_fro_without_getting_nearer_is_asked_in_time(cast: Cast) -> None:
    """No street map (the default), by day. She walks at her pace to and fro along 150 m
    across her way home, never nearer. Walking on holds off the stalled rule only for a way
    home's bends (30% of the 1.1 km left, 330 m: about four minutes), and earns no more time:
    she is asked within the stalled rule's 5 minutes and those four, not hours later."""
    mira, noor, phone, walk = cast.walking()
    east = 150 / 55_600  # degrees of longitude, at Helsinki's latitude
    places = [
        (START[0], START[1] + east * abs(((n * 13 / 150) % 2) - 1)) for n in range(360)
    ]  # 13 m every 10 s, back and forth
    asked = _first_check(cast, phone, places)
    assert 0 < asked <= 5 * 60 + 260 + 30
    assert checks_of(cast, noor, walk) == ["stalled"]
    assert "expected_later" not in kinds(cast, noor, walk)


def test_a_phone_flipping_between_two_places_is_asked_as_one_lying_still(cast: Cast) -> None:
    """Its fixes come in pairs from two places 70 m apart (Wi-Fi, then GPS; or two devices
    of hers), each claiming 15 m: it walks nowhere, and is asked when the stalled rule
    says, as a phone lying still is."""
    mira, noor, phone, walk = cast.walking()
    other = (START[0], START[1] + 70 / 55_600)
    places = [START if (n // 2) % 2 == 0 else other for n in range(360)]
    asked = _first_check(cast, phone, places, accuracy=15)
    assert 0 < asked <= 5 * 60 + 60  # (one step there at most, in its first minute)
    assert checks_of(cast, noor, walk) == ["stalled"]


def test_one_stray_fix_by_her_door_is_not_her_arrival(cast: Cast) -> None:
    """Halfway home, one fix lands by her door (a reflection between tall buildings): Noor
    is not told she is there, and is told when she really is."""
    mira, noor, phone, walk = cast.walking()
    for fraction in (0.1, 0.3, 0.5):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, fraction)))
    cast.clock.advance(seconds=10)
    cast.send(phone, cast.fix(HOME))  # the stray one
    for fraction in (0.55, 0.7, 0.85, 1.0):
        seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
        assert seen["state"] == "active", fraction
        assert "arrived" not in [e["kind"] for e in cast.events(noor, walk)]
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, fraction)))
    assert [e["kind"] for e in cast.events(noor, walk)].count("arrived") == 1


@pytest.mark.parametrize("stray_at", [0, 8], ids=["her first fixes", "on her way"])
def test_two_stray_fixes_ahead_of_her_raise_no_question(cast: Cast, stray_at: int) -> None:
    """Walking home by day at 1.3 m/s (a fix every 30 s, 39 m apart, 1.1 km in all), two
    fixes in a row land 310 m ahead on her way (reflections between tall buildings, each
    claiming 8 m). Her true fixes after them trail their record for four minutes while she
    walks on: no "Are you OK?" about walking away or stopping, and Noor is told when she
    arrives."""
    mira, noor, phone, walk = cast.walking()
    steps = 29
    decided: list[str] = []
    for step in range(steps + 1):
        cast.clock.advance(seconds=30)
        stray = stray_at <= step < stray_at + 2
        fraction = min(1.0, step / steps + (0.28 if stray else 0.0))
        cast.send(phone, cast.fix(between(START, HOME, fraction)))
        decided += cast.services.watchdog.tick_sync()
    assert decided == []
    assert "check" not in kinds(cast, noor, walk)
    assert state(cast, noor, walk) == "at_door"


def test_a_question_her_phones_fixes_answer_is_taken_back_and_raises_no_alarm(
    cast: Cast,
) -> None:
    """Her phone goes quiet in a tunnel, and she is asked "Are you OK?"; it reports again
    before her time to answer is up (she hasn't seen the question: her phone is in her
    pocket). The question is taken back, said on both timelines, and Noor gets no alarm while
    he watches her walk home. Then she stops at a corner, is asked again (stalled), and walks
    on: taken back too."""
    mira, noor, phone, walk = cast.walking()
    steps = [between(START, HOME, f / 20) for f in range(20)]
    cast.send(phone, cast.fix(steps[0]))
    cast.clock.advance(seconds=30)
    cast.send(phone, cast.fix(steps[1]))
    assert cast.services.watchdog.tick_sync() == []
    cast.clock.advance(minutes=3)  # the tunnel
    assert cast.services.watchdog.tick_sync() == ["check"]
    cast.clock.advance(seconds=40)
    cast.send(phone, cast.fix(steps[3]))
    for who in (noor, mira):  # said on both timelines
        said = [e for e in cast.events(who, walk) if e["kind"] == "check_withdrawn"]
        assert [e["reason"] for e in said] == ["silent"]
    for step in steps[4:7]:
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(step))
        assert cast.services.watchdog.tick_sync() == []
    # She stops at a corner (her phone reporting where she stands), and is asked again.
    decided: list[str] = []
    for _ in range(12):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(steps[6]))
        decided += cast.services.watchdog.tick_sync()
        if decided:
            break
    assert decided == ["check"]
    assert cast.events(noor, walk)[-1]["reason"] == "stalled"
    for step in steps[7:10]:  # and walks on: two fixes nearer each, and it is taken back
        cast.clock.advance(seconds=20)
        cast.send(phone, cast.fix(step))
        assert cast.services.watchdog.tick_sync() == []
    withdrawn = [e for e in cast.events(noor, walk) if e["kind"] == "check_withdrawn"]
    assert [e["reason"] for e in withdrawn] == ["silent", "stalled"]
    cast.clock.advance(minutes=2)  # past when the answer was due
    cast.send(phone, cast.fix(steps[11]))
    assert cast.services.watchdog.tick_sync() == []
    assert "alarm" not in [e["kind"] for e in cast.events(noor, walk)]


def test_a_phone_reporting_every_silent_limit_is_not_alarmed_for_silence(cast: Cast) -> None:
    """By day the silent rule asks after 3 minutes; her phone reports every 3 minutes, on the
    dot. At each fix's instant the watchdog looks first and asks: the fix taken as she is
    asked shows her phone alive, and takes the question back. It did not (a fix taken
    after the question only), and every such walk went into alarm a minute and a half on."""
    mira, noor, phone, walk = cast.walking()
    for step in range(1, 6):
        cast.clock.advance(minutes=3)
        cast.services.watchdog.tick_sync()
        cast.send(phone, cast.fix(between(START, HOME, step / 8)))
    said = kinds(cast, noor, walk)
    assert "alarm" not in said
    assert said.count("check") == said.count("check_withdrawn")


def test_a_stall_due_as_her_progress_is_confirmed_asks_nothing(
    cast: Cast,
) -> None:
    """Her phone reports every 60 s; she waits at the start, then walks on. The stalled rule's
    time falls on one of her fixes' instants: the watchdog, woken for it, asked "Are you OK?"
    a moment before that fix landed and showed her progress (and before the question was
    taken back by it, the next fix would have come when her time to answer was up, and Noor
    alarmed while she walked home: an outside tester's held-out walks). Her fix before was
    the first of the two that make progress: the stalled rule waits for the second, and
    she is not asked at all."""
    mira, noor, phone, walk = cast.walking()
    steps = [between(START, HOME, f / 10) for f in range(11)]
    cast.send(phone, cast.fix(steps[0]))
    for where in [steps[0]] * 3 + [steps[1]]:  # standing, standing, standing, off she goes
        cast.clock.advance(seconds=60)
        assert look(cast) == []
        cast.send(phone, cast.fix(where))
    for where in steps[2:]:  # five minutes since her first fix: not asked, her fix shows...
        cast.clock.advance(seconds=60)
        assert look(cast) == []
        cast.send(phone, cast.fix(where))  # ...progress, and she walks home
    for who in (noor, mira):
        assert not {"check", "alarm"} & set(kinds(cast, who, walk))
    assert state(cast, noor, walk) == "at_door"


def test_a_slow_walker_who_stops_is_given_no_more_time(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    planned = walk["expected_at"] - walk["started_at"]
    steps = 2 * planned // 30_000
    for step in range(1, steps // 3):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, step / steps)))
        cast.services.watchdog.tick_sync()
    given = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["expected_at"]
    decided: list[str] = []
    for _ in range(12):  # she stands still, her phone reporting
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, (steps // 3 - 1) / steps)))
        decided += cast.services.watchdog.tick_sync()
    # Asked (the alarm follows if she doesn't answer), because she stalled.
    assert decided[:1] == ["check"]
    assert [e["reason"] for e in cast.events(mira, walk) if e["kind"] == "check"] == ["stalled"]
    assert (
        cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["expected_at"]
        == given
    )


def test_a_fix_landing_while_the_watchdog_decides_prevents_a_false_alarm(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=3)
    due = cast.services.db.read_sync(lambda c: judging.due_walks(c, cast.clock.now_ms()))
    assert [walk_id for walk_id, _ in due] == [walk["id"]]
    # Her phone reports between the watchdog's look and its decision.
    cast.send(phone, cast.fix(between(START, HOME, 0.2)))
    _walk_id, seen_due = due[0]
    decided = cast.services.writer.run_sync(lambda tx: judging.judge(tx, walk["id"], seen_due))
    assert decided is None
    assert "check" not in kinds(cast, noor, walk)


def test_a_walk_that_breaks_the_rules_does_not_stop_the_watchdog(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    wren, otto = cast.person("Wren"), cast.person("Otto")
    cast.link(wren, otto)
    other = cast.start_walk(wren)
    # A walk whose stored time zone no longer exists: judging it fails.
    cast.services.writer.run_sync(
        lambda tx: tx.conn.execute(
            walks.update().where(walks.c.id == walk["id"]).values(timezone="Mars/Olympus")
        )
    )
    assert look(cast, minutes=3) == ["check"]  # Wren's walk is judged all the same
    assert kinds(cast, otto, other)[-1] == "check"
    assert cast.services.watchdog.failures == 1
    pushed = cast.services.db.read_sync(
        lambda c: c.execute(
            sa.select(walks.c.next_due_at).where(walks.c.id == walk["id"])
        ).scalar_one()
    )
    assert pushed == cast.clock.now_ms() + 60_000


def test_low_battery_is_told_to_the_companions_twice_not_more(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    for battery in (40, 16, 15, 14, 9, 5, 4):
        cast.clock.advance(seconds=10)
        cast.send(phone, cast.fix(START, battery=battery, bearing=180))
    notices = [
        e
        for e in cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()
        if e["kind"] == "low_battery"
    ]
    assert [n["battery"] for n in notices] == [15, 5]
    assert notices[0]["position"]["bearing"] == 180
    assert state(cast, noor, walk) == "active"  # a notice, not an alarm


def test_a_restarted_watchdog_acts_at_once_on_what_fell_due(cast: Cast) -> None:
    """Deadlines live in the database: a new service over the same database (a restart, after
    the server was down while the walk fell due) finds the walk on its first look."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=20)  # the server was down all this time
    restarted = make_services(
        cast.services.config.database_url, cast.services.config.data_dir, cast.clock
    )
    restarted.writer.start()
    try:
        assert restarted.watchdog.tick_sync() == ["check"]
    finally:
        restarted.writer.stop()
        restarted.db.dispose()
    assert kinds(cast, noor, walk)[-1] == "check"


def test_night_is_judged_by_the_walkers_own_time_zone(cast: Cast) -> None:
    """The fake clock starts at 20:26 UTC: day in London, 23:26 at night in Helsinki."""
    mira, noor, phone, walk = cast.walking()
    kai, lea = cast.person("Kai"), cast.person("Lea")
    cast.client.patch("/api/me", json={"timezone": "Europe/Helsinki"}, headers=kai.auth)
    cast.link(kai, lea)
    night_walk = cast.start_walk(kai)
    # Both phones silent for two minutes: only the night walk is asked (day waits three).
    assert look(cast, minutes=2) == ["check"]
    assert kinds(cast, lea, night_walk)[-1] == "check"
    assert kinds(cast, noor, walk)[-1] == "started"


def test_extending_with_the_right_pin_answers_the_check(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert look(cast, minutes=3) == ["check"]
    extended = cast.client.post(
        f"/api/walks/{walk['id']}/extend", json={"pin": PIN, "minutes": 15}, headers=mira.auth
    )
    assert extended.status_code == 200
    assert look(cast, seconds=95) == []
    assert state(cast, noor, walk) == "active"
    # Her companion reads it as her answer, not as a question left standing.
    said = cast.events(noor, walk)[-1]
    assert words.event_sentence(said, "Mira") == "Mira answered “I'm OK”, and asked for more time"


def test_after_three_wrong_pins_only_a_companion_ends_the_alarm(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    for _ in range(3):
        cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": "0000"}, headers=mira.auth)
    cast.clock.advance(seconds=5)  # the wait after the third wrong PIN
    guessed = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert guessed.status_code == 403
    assert state(cast, noor, walk) == "alarm"
    resolved = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "With her now"}, headers=noor.auth
    )
    assert resolved.json()["state"] == "active"
    assert cast.events(noor, walk)[-1]["reason"] == "wrong_pins"


def test_a_phone_clock_running_ahead_does_not_hold_the_walk_still(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    ahead = 55  # seconds: within the 60 s a phone's clock may run ahead
    for step in range(1, 11):
        cast.clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, step / 10), seconds_ago=-ahead))
        assert cast.services.watchdog.tick_sync() == []
    assert state(cast, noor, walk) == "at_door"


def test_a_fix_ahead_of_the_server_does_not_push_the_silence_deadline_back(cast: Cast) -> None:
    """Her phone's clock runs 59 s ahead: the fix is kept, but the rules count it as taken
    now, so she is asked after the three quiet minutes of the server's clock, not later."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=30)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.1), seconds_ago=-59)) == [
        "accepted"
    ]
    assert look(cast, minutes=2, seconds=59) == []
    assert look(cast, seconds=1) == ["check"]


def test_a_fix_more_than_a_minute_ahead_is_refused_and_moves_nothing(cast: Cast) -> None:
    """Refused, it is not where she is; but her phone sent it, so it is heard from as the
    fix arrives (the server's time, never the fix's), and silence counts from then."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=30)
    results = cast.send(phone, cast.fix(between(START, HOME, 0.1), seconds_ago=-61))
    assert [(r["status"], r["field"]) for r in results] == [("refused", "t")]
    assert "60 s ahead" in results[0]["reason"]
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"] is None
    assert seen["heard_at"] == cast.clock.now_ms()
    assert look(cast, minutes=2, seconds=59) == []
    assert look(cast, seconds=1) == ["check"]


def test_a_timer_walk_is_checked_on_at_the_time_she_set(cast: Cast) -> None:
    """ "Check on me at 23:30": no destination, no phone needed; extendable with her PIN."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.channel(noor)
    cast.channel(mira)
    phone = cast.device(mira)
    due_at = cast.clock.now_ms() + 30 * 60_000
    made = cast.client.post("/api/walks", json={"due_at": due_at, "pin": PIN}, headers=mira.auth)
    assert made.status_code == 201, made.text
    walk = made.json()
    assert (walk["kind"], walk["destination"], walk["expected_at"]) == ("timer", None, due_at)
    # Her walk page reports for a while, then her screen locks in the café: a phone that
    # stops is no matter here (it was asked about, and alarmed, three minutes later).
    for _ in range(3):
        cast.send(phone, cast.fix(START))
        cast.clock.advance(seconds=20)
    assert look(cast, minutes=28, seconds=59) == []
    extended = cast.client.post(
        f"/api/walks/{walk['id']}/extend", json={"pin": PIN, "minutes": 10}, headers=mira.auth
    )
    assert extended.json()["expected_at"] == due_at + 10 * 60_000
    assert look(cast, minutes=10) == []
    assert look(cast, seconds=1) == ["check"]
    assert cast.events(noor, walk)[-1]["reason"] == "late"
    assert look(cast, seconds=90) == ["alarm"]
    alarm = cast.events(noor, walk)[-1]
    assert alarm["destination"] is None
    # Said as what it is: not a walk home, and nowhere to be late to.
    started, alarmed = cast.told(noor, "started")[0], cast.told(noor, "alarm")[0]
    assert render(started)[0] == "Mira started a timed walk and shared it with you."
    assert render(alarmed)[0] == "ALARM: Mira did not answer “Are you OK?”"
    assert "Asked because: the time set for the walk ran out." in render(alarmed)[1]
    # Its timeline says the same, on the pages.
    assert words.event_sentence(alarm, "Mira") == (
        "ALARM: no answer to “Are you OK?”, asked because: the time set for the walk ran out"
    )
    # Her own question says why, and what else she can do.
    asked = render(cast.told(mira, "check")[-1])[1].splitlines()
    assert asked[:2] == [
        "Are you OK? Answer with your PIN.",
        "The time you set for this walk ran out: you can also add time, or end it.",
    ]


def test_a_question_asked_just_before_night_waits_for_the_answer_time_she_was_told(
    cast: Cast,
) -> None:
    """Asked at 20:59:30 (by day, 90 s to answer): she is told "answer by 21:01:00", and no
    alarm goes out before then, though the night's minute is up at 21:00:30 (it went out
    then)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")  # in UTC, as the clock is
    cast.link(mira, noor)
    cast.channel(noor)
    cast.channel(mira)
    asked_at = (cast.clock.now_ms() // 86_400_000) * 86_400_000 + (20 * 3600 + 59 * 60 + 30) * 1000
    assert asked_at > cast.clock.now_ms()
    made = cast.client.post("/api/walks", json={"due_at": asked_at, "pin": PIN}, headers=mira.auth)
    assert made.status_code == 201, made.text
    walk = made.json()
    cast.clock.set(asked_at)
    assert cast.services.watchdog.tick_sync() == ["check"]
    asked = cast.events(mira, walk)[-1]
    assert asked["answer_by"] == asked_at + 90_000
    # Her alert says it too: for a walker whose phone's app reports her walk, it is all she
    # sees of the question. By her clock, as of when it is sent.
    told = render(with_times(cast.told(mira, "check")[-1], asked_at, "UTC"))[1].splitlines()
    assert "Answer by 21:01 (1 min from now)." in told
    late = render(with_times(cast.told(mira, "check")[-1], asked_at + 95_000, "UTC"))[1]
    assert "Answer by 21:01 (the time is up)." in late.splitlines()
    assert look(cast, seconds=89) == []
    assert state(cast, noor, walk) == "active"
    assert look(cast, seconds=1) == ["alarm"]


def test_a_timer_walk_too_far_ahead_is_refused(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    refused = cast.client.post(
        "/api/walks",
        json={"due_at": cast.clock.now_ms() + 10 * 3_600_000, "pin": PIN},
        headers=mira.auth,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "due_at"


def test_metrics_count_decisions_and_deliveries_and_name_nobody(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix(START))
    assert look(cast, minutes=2) == []  # the night's deadline, early by day: looks again
    assert look(cast, minutes=1, seconds=5) == ["check"]  # five seconds after it was due
    text = cast.client.get("/metrics").text
    assert 'walkwithme_watchdog_decisions_total{decision="check"} 1.0' in text
    assert 'walkwithme_walks_live{state="active"} 1.0' in text
    assert "walkwithme_watchdog_lateness_seconds_count 1.0" in text
    assert "walkwithme_watchdog_lateness_max_seconds 5.0" in text
    assert "Mira" not in text
    assert str(START[0]) not in text


def test_the_services_counts_are_for_the_operator_only(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """Counts of walks in alarm, read from anywhere, could tell whoever holds her phone that
    her duress PIN raised a silent alarm: from another machine they need the token."""
    svc = make_services(db_url, tmp_path, clock, None, WWM_METRICS_TOKEN="s3cret-for-prom")
    far = ("203.0.113.7", 40000)
    with TestClient(create_app(svc), client=far) as client:
        assert client.get("/metrics").status_code == 403
        health = client.get("/healthz")
        assert health.status_code == 200
        assert set(health.json()) == {"ok", "version"}  # up, and nothing more
        wrong = {"Authorization": "Bearer not-it"}
        assert client.get("/metrics", headers=wrong).status_code == 403
        token = {"Authorization": "Bearer s3cret-for-prom"}
        assert "walkwithme_walks_live" in client.get("/metrics", headers=token).text
        assert "watchdog" in client.get("/healthz", headers=token).json()
    svc.db.dispose()


def test_contacts_ended_from_her_phone_mid_walk_still_hear_its_alarm(cast: Cast) -> None:
    """Whoever holds her unlocked phone ends her contacts (no PIN is asked for that), then
    lets the alarm come: her companion and her guardian are told all the same (the alarm
    reached nobody but the operator's hook, if there was one). They follow this walk until it
    is over; a companion who ends it himself leaves at once."""
    mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
    noor_contact = cast.link(mira, noor)
    gus_contact = cast.link(mira, gus, role="guardian")
    cast.channel(noor)
    cast.channel(gus)
    walk = cast.start_walk(mira)
    for contact in (noor_contact, gus_contact):
        ended = cast.client.delete(f"/api/contacts/{contact}", headers=mira.auth)
        assert ended.status_code == 204, ended.text
    still = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth)
    assert still.status_code == 200, still.text  # Noor follows it still
    assert look(cast, minutes=3) == ["check"]  # her phone is silent
    assert look(cast, seconds=90) == ["alarm"]
    assert [a["kind"] for a in cast.told(noor)][-1:] == ["alarm"]
    assert look(cast, minutes=3) == ["escalated"]
    assert [(a["kind"], a["rung"]) for a in cast.told(gus)] == [("alarm", "guardians")]
    # Over, it is over for them: the walk is no longer theirs to see.
    found = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "Found her"}, headers=noor.auth
    )
    assert found.status_code == 200, found.text
    ended = cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
    assert ended.status_code == 200, ended.text
    gone = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth)
    assert gone.status_code == 404, gone.text


def test_a_request_never_accepted_and_withdrawn_mid_walk_is_told_nothing(cast: Cast) -> None:
    """Only a contact that stood is kept on her walk when she ends it: Gus never said yes to
    being her guardian; she tries to withdraw the request during her walk (by its number: her
    requests are not hers to find until accepted, so the answer is "no such contact"), and
    her alarm does not reach him (a link to where she is went to him)."""
    mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
    cast.link(mira, noor)
    cast.channel(noor)
    cast.channel(gus)
    request = cast.ask(mira, gus, role="guardian")
    walk = cast.start_walk(mira)
    withdrawn = cast.client.delete(f"/api/contacts/{request}", headers=mira.auth)
    assert withdrawn.status_code == 404, withdrawn.text
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    for _ in range(5):  # past where the ladder would have reached her guardians
        look(cast, minutes=3)
    assert [a["kind"] for a in cast.told(noor)][-1:] == ["alarm"]
    assert about_walks(cast.told(gus)) == []  # (told of the request itself, when asked)


def noor_and_gus(cast: Cast) -> tuple[Member, Member, Member]:
    """Mira, Noor her companion; Gus not yet her guardian; both with alerts that work."""
    mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
    cast.link(mira, noor)
    cast.channel(noor)
    cast.channel(gus)
    return mira, noor, gus


def not_on_the_alarm(cast: Cast, walk: dict[str, Any], who: Member) -> None:
    """Past where the ladder would have reached her guardians: `who` was told nothing of the
    alarm, and can't say "I'm on it" or end it."""
    for _ in range(5):
        look(cast, minutes=3)
    assert about_walks(cast.told(who)) == []
    for action in ("ack", "resolve"):
        tried = cast.client.post(
            f"/api/walks/{walk['id']}/{action}", json={"note": "all fine"}, headers=who.auth
        )
        assert tried.status_code == 404, tried.text


@pytest.mark.parametrize("then_ends", [False, True])
def test_a_request_accepted_during_the_alarm_puts_nobody_on_it(cast: Cast, then_ends: bool) -> None:
    """Sent from her phone during her alarm (or before, and accepted only now), a request to be
    her guardian accepted by its accomplice, and perhaps ended then: he is not on the alarm
    (an outside review: he was told of it as it climbed, and could end it)."""
    mira, noor, gus = noor_and_gus(cast)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(seconds=30)
    request = cast.ask(mira, gus, role="guardian")
    accepted = cast.client.post(f"/api/contacts/{request}/accept", headers=gus.auth)
    assert accepted.status_code == 200, accepted.text
    if then_ends:
        cast.clock.advance(seconds=30)
        ended = cast.client.delete(f"/api/contacts/{request}", headers=gus.auth)
        assert ended.status_code == 204, ended.text
    not_on_the_alarm(cast, walk, gus)
    # Her next alarm, on a walk after it: he is her guardian now, and is on it.
    cast.client.post(f"/api/walks/{walk['id']}/resolve", json={"note": "ok"}, headers=noor.auth)
    if not then_ends:
        cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
        later = cast.start_walk(mira)
        cast.client.post(f"/api/walks/{later['id']}/sos", headers=mira.auth)
        for _ in range(3):
            look(cast, minutes=3)
        assert [a["kind"] for a in about_walks(cast.told(gus))][:1] == ["alarm"]


@pytest.mark.parametrize("who_ends", ["she", "he"])
def test_a_request_never_accepted_and_ended_during_the_alarm_puts_nobody_on_it(
    cast: Cast, who_ends: str
) -> None:
    """A request to be her guardian that was never accepted, ended during the alarm (by her
    phone's holder, or by its accomplice it was sent to): he is not on the alarm. He is told
    nothing of it, and can't say "I'm on it" or end it (an outside review: he could, and so
    learn of a silent alarm, where she is, and end it with a reassuring word)."""
    mira, noor, gus = noor_and_gus(cast)
    request = cast.ask(mira, gus, role="guardian")
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    ender = mira if who_ends == "she" else gus
    cast.clock.advance(seconds=30)
    ended = cast.client.delete(f"/api/contacts/{request}", headers=ender.auth)
    # (Her requests are not hers to find by number until accepted: "no such contact".)
    assert ended.status_code == (404 if who_ends == "she" else 204), ended.text
    not_on_the_alarm(cast, walk, gus)
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"


def test_im_on_it_without_an_alarm_says_there_is_none(cast: Cast) -> None:
    """It said "the alarm is over" of a walk that never had one (an outside review); once one
    was ended, it says that."""
    mira, noor, _phone, walk = cast.walking()
    url = f"/api/walks/{walk['id']}"
    none = cast.client.post(f"{url}/ack", headers=noor.auth)
    assert (none.status_code, none.json()["error"]) == (409, "there is no alarm on this walk")
    cast.client.post(f"{url}/sos", headers=mira.auth)
    cast.client.post(f"{url}/ok", json={"pin": PIN}, headers=mira.auth)
    over = cast.client.post(f"{url}/ack", headers=noor.auth)
    assert (over.status_code, over.json()["error"]) == (409, "the alarm is over")
