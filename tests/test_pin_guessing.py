"""Someone holding her phone guesses her PIN.

Three wrong PINs raise the alarm, and from then on no PIN (hers, her duress PIN, or another
guess) ends or changes the walk, and every PIN gets the same answer, until a companion or a
guardian who has found her resolves it. PIN attempts in a row wait longer and longer, so a
4-digit PIN can't be tried through in hours; the wait is the same whichever PIN was tried.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.people import PIN, Cast
from tests.test_duress import DURESS, Run, her_notifications, scene, what_her_devices_hold
from tests.test_pages import page, text_of, timeline_of
from walkwithme.domain.errors import TooSoon
from walkwithme.notify.messages import render
from walkwithme.store.schema import alerts
from walkwithme.usecases import moments

WRONG = "0000"
LOCKED = moments.Refused.LOCKED.value


def three_wrong_pins(cast: Cast, url: str, auth: dict[str, str]) -> None:
    """Three wrong guesses in a row, each after the wait the one before set."""
    for attempt in range(3):
        wrong = cast.client.post(f"{url}/ok", json={"pin": WRONG}, headers=auth)
        assert wrong.status_code == 403, (attempt, wrong.text)
        assert wrong.json() == {"error": "wrong PIN", "field": "pin"}
    assert cast.client.get(url, headers=auth).json()["state"] == "alarm"


def after_the_wait(cast: Cast, url: str, auth: dict[str, str]) -> None:
    """Moves the clock past the wait the last attempt set (told by a 429's Retry-After)."""
    probe = cast.client.post(f"{url}/ok", json={"pin": WRONG}, headers=auth)
    assert probe.status_code == 429, probe.text
    cast.clock.advance(seconds=int(probe.headers["Retry-After"]))


ACTIONS: dict[str, Callable[[str], tuple[str, dict[str, object]]]] = {
    "I'm OK": lambda pin: ("ok", {"pin": pin}),
    "I'm inside": lambda pin: ("inside", {"pin": pin, "note": "Home"}),
    "end the walk": lambda pin: ("end", {"pin": pin}),
    "extend it": lambda pin: ("extend", {"pin": pin, "minutes": 30}),
}


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
def test_after_three_wrong_pins_her_right_pin_neither_ends_nor_changes_the_walk(
    cast: Cast, action: Callable[[str], tuple[str, dict[str, object]]]
) -> None:
    mira, noor, _phone, walk = cast.walking()
    url = f"/api/walks/{walk['id']}"
    three_wrong_pins(cast, url, mira.auth)
    expected_at = cast.client.get(url, headers=noor.auth).json()["expected_at"]
    after_the_wait(cast, url, mira.auth)
    cast.clock.advance(seconds=20)  # past the wait the probe itself set

    path, body = action(PIN)
    guessed = cast.client.post(f"{url}/{path}", json=body, headers=mira.auth)

    assert guessed.status_code == 403
    assert guessed.json() == {"error": LOCKED}
    seen = cast.client.get(url, headers=noor.auth).json()
    assert (seen["state"], seen["live"], seen["expected_at"]) == ("alarm", True, expected_at)
    assert cast.client.get(url, headers=mira.auth).json()["state"] == "alarm"
    # Her companions hear that her right PIN was given (perhaps by her, perhaps not).
    refused = cast.events(noor, walk)[-1]
    assert (refused["kind"], refused["right_pin"]) == ("pin_refused", True)
    # His page says so, not "A wrong PIN was given" as of the three before (a companion's
    # review): whether she or a stranger holds her phone is what he goes on.
    said = timeline_of(page(cast.client, f"/walks/{walk['id']}", noor).text)
    assert said.count("A wrong PIN was given") == 3
    assert "Mira's own PIN was given, and refused: after three wrong PINs, only someone" in said
    # Only someone who has found her ends it.
    resolved = cast.client.post(f"{url}/resolve", json={"note": "With her now"}, headers=noor.auth)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "active"
    # ...and then her PIN works again, at once.
    answered = cast.client.post(f"{url}/ok", json={"pin": PIN}, headers=mira.auth)
    assert answered.status_code == 200, answered.text


def test_pin_attempts_wait_longer_after_each_wrong_one(cast: Cast) -> None:
    """Two tries are free; then 5 s, 10 s, 20 s...: tested one second before, at and after."""
    mira, noor, _phone, walk = cast.walking()
    url = f"/api/walks/{walk['id']}"

    def attempt(pin: str = WRONG) -> int:
        return cast.client.post(f"{url}/ok", json={"pin": pin}, headers=mira.auth).status_code

    assert [attempt(), attempt()] == [403, 403]  # no wait for the first two
    assert attempt() == 403  # the third (the alarm) sets a wait of 5 s
    for wait_s in (5, 10, 20, 40):
        cast.clock.advance(seconds=wait_s - 1)
        early = cast.client.post(f"{url}/ok", json={"pin": PIN}, headers=mira.auth)
        assert early.status_code == 429
        assert early.headers["Retry-After"] == "1"
        assert "try again in 1 seconds" in early.json()["error"]
        cast.clock.advance(seconds=1)
        assert attempt() == 403  # at the end of the wait: taken (and refused: locked)
    # A refused-too-soon attempt was never checked: her companions' timeline doesn't have it.
    refused = [e for e in cast.events(noor, walk) if e["kind"] == "pin_refused"]
    assert len(refused) == 3 + 4


def test_the_longest_wait_is_fifteen_minutes() -> None:
    waits = [moments.pin_wait_ms(n) for n in range(1, 40)]
    assert waits[:3] == [0, 0, 5_000]
    assert waits == sorted(waits)
    assert max(waits) == 15 * 60_000
    # Guessing through 10,000 PINs at that pace would take months.
    assert sum(moments.pin_wait_ms(n) for n in range(1, 10_001)) > 90 * 24 * 3_600_000


def test_guesses_sent_side_by_side_are_counted_before_they_are_checked(cast: Cast) -> None:
    """Each attempt is counted as it comes in, before its PIN is checked: a burst of guesses
    can't all pass the wait that the first of them sets."""
    mira, _noor, _phone, walk = cast.walking()
    writer = cast.services.writer
    for _ in range(3):  # three claimed at once, none of them checked yet
        writer.run_sync(lambda tx: moments.claim_attempt(tx, walk["id"], mira.id))
    with pytest.raises(TooSoon):
        writer.run_sync(lambda tx: moments.claim_attempt(tx, walk["id"], mira.id))


# -- the same answer for every PIN: twin runs ------------------------------------------------

LockedMoment = Callable[[Run, str], None]


def says_she_is_ok(run: Run, pin: str) -> None:
    run.as_mira("POST", f"{run.url}/ok", json={"pin": pin})


def says_she_is_inside(run: Run, pin: str) -> None:
    run.as_mira("POST", f"{run.url}/inside", json={"pin": pin, "note": "Home"})


def ends_it(run: Run, pin: str) -> None:
    run.as_mira("POST", f"{run.url}/end", json={"pin": pin})


def extends_it(run: Run, pin: str) -> None:
    run.as_mira("POST", f"{run.url}/extend", json={"pin": pin, "minutes": 30})


def answers_on_the_checks_page(run: Run, pin: str) -> None:
    with run.cast.services.db.read_engine.connect() as conn:
        page = conn.execute(
            sa.select(alerts.c.payload["link_path"].as_string()).where(alerts.c.kind == "check")
        ).scalar_one()
    answered = run.cast.client.post(page, data={"pin": pin})
    run.seen.append(f"{answered.status_code} ".encode() + answered.content)


LOCKED_MOMENTS: dict[str, LockedMoment] = {
    "I'm OK": says_she_is_ok,
    "I'm inside": says_she_is_inside,
    "ending the walk": ends_it,
    "extending it": extends_it,
    "the check's page": answers_on_the_checks_page,
}


def wrong_pin_alarm_then(run: Run, pin: str, moment: LockedMoment) -> None:
    """She is asked "Are you OK?" (so the check's page exists), three wrong PINs raise the
    alarm, and then `pin` is tried twice: once too soon, once after the wait."""
    assert run.look(minutes=3) == ["check"]
    for _ in range(3):
        run.as_mira("POST", f"{run.url}/ok", json={"pin": WRONG})
    moment(run, pin)  # too soon: 429
    run.cast.clock.advance(seconds=5)
    moment(run, pin)  # taken, and refused
    run.cast.clock.advance(seconds=5)
    moment(run, pin)  # too soon again: the wait grew the same, whichever PIN
    run.cast.clock.advance(seconds=5)
    run.look(seconds=1)


@pytest.mark.parametrize("moment", LOCKED_MOMENTS.values(), ids=LOCKED_MOMENTS.keys())
def test_during_a_wrong_pin_alarm_every_pin_gets_the_same_answer(
    tmp_path: Path, moment: LockedMoment
) -> None:
    """Her PIN, her duress PIN and a wrong one, each in a run of its own: her devices receive
    the same bytes in all three, so the answers can't be used to find her PIN."""
    seen: dict[str, list[bytes]] = {}
    told: dict[str, list[str]] = {}
    heard: dict[str, list[str]] = {}
    for name, pin in (("right", PIN), ("duress", DURESS), ("wrong", "9999")):
        with scene(tmp_path, name, duress_in_profile=False) as run:
            wrong_pin_alarm_then(run, pin, moment)
            seen[name] = what_her_devices_hold(run)
            told[name] = her_notifications(run.cast.services, run.mira)
            assert run.companion_sees()["state"] == "alarm"
            heard[name] = [e["kind"] for e in run.cast.events(run.noor, run.walk)]
    assert any(b.startswith(b"429 ") for b in seen["right"])
    for name in ("duress", "wrong"):
        assert len(seen[name]) == len(seen["right"])
        for number, (got, expected) in enumerate(zip(seen[name], seen["right"], strict=True)):
            assert got == expected, f"message {number} tells her {name} PIN from her right one"
        assert told[name] == told["right"]
    # Those looking out for her do hear her duress PIN.
    assert "duress" in heard["duress"]
    assert "duress" not in heard["right"]


def test_wrong_pins_during_an_alarm_already_on_make_it_one_no_pin_ends(cast: Cast) -> None:
    """The alarm is on (her SOS, or no answer), and whoever holds her phone tries PINs: three
    wrong ones turn it into an alarm that wrong PINs raised, so the fourth, right or not,
    can't call it off. Those on it still are, and hear why it changed."""
    mira, noor, _phone, walk = cast.walking()
    cast.channel(noor)
    url = f"/api/walks/{walk['id']}"
    assert cast.client.post(f"{url}/sos", headers=mira.auth).status_code == 200
    assert cast.client.post(f"{url}/ack", headers=noor.auth).status_code == 200
    cast.clock.advance(minutes=6)
    three_wrong_pins(cast, url, mira.auth)
    after_the_wait(cast, url, mira.auth)
    cast.clock.advance(seconds=20)  # past the wait the probe itself set

    guessed = cast.client.post(f"{url}/ok", json={"pin": PIN}, headers=mira.auth)

    assert guessed.status_code == 403
    assert guessed.json() == {"error": LOCKED}
    assert cast.client.get(url, headers=noor.auth).json()["state"] == "alarm"
    alarms = [e for e in cast.events(noor, walk) if e["kind"] == "alarm"]
    assert [(e["reason"], e.get("during")) for e in alarms] == [
        ("sos", None),
        ("wrong_pins", True),
    ]
    sos, locked = cast.told(noor, "alarm")
    assert [sos["reason"], locked["reason"]] == ["sos", "wrong_pins"]
    # Its alert says when the alarm was raised (her SOS), not when the PINs were tried.
    raised = [line for line in render(locked)[1].splitlines() if line.startswith("Raised at")]
    assert raised == ["Raised at 20:26 (6 min ago)."]
    # His page still says he is on it: it is the same alarm.
    shown = text_of(page(cast.client, f"/walks/{walk['id']}", noor).text)
    assert "You are on it" in shown
    assert "SOS pressed, then wrong PIN three times" in shown
    assert "6 min ago" in shown  # since the alarm began (her SOS), not since the PINs
    resolved = cast.client.post(f"{url}/resolve", json={"note": "With her now"}, headers=noor.auth)
    assert resolved.status_code == 200, resolved.text


def test_a_form_sent_without_a_pin_is_asked_again_and_not_counted(cast: Cast) -> None:
    """An empty PIN (a page's form sent before she typed) counted as a wrong one: two of
    them and one slip raised the alarm. It is asked for, and counts for nothing."""
    mira, noor, _phone, walk = cast.walking()
    url = f"/api/walks/{walk['id']}"
    for _ in range(3):
        empty = cast.client.post(f"{url}/ok", json={"pin": ""}, headers=mira.auth)
        assert empty.status_code == 422
        assert empty.json() == {"error": "enter your PIN", "field": "pin"}
    for _ in range(2):
        wrong = cast.client.post(f"{url}/ok", json={"pin": WRONG}, headers=mira.auth)
        assert wrong.status_code == 403
    assert cast.client.get(url, headers=noor.auth).json()["state"] == "active"
    assert [e["kind"] for e in cast.events(mira, walk)].count("pin_refused") == 2


# -- her PIN given with something refused ----------------------------------------------------

BAD_NEXT = {"day": "tomorow", "time": "20:00"}  # a day misspelt: 422, naming `next.day`


def test_her_pin_with_a_misspelt_next_walk_is_not_counted_as_a_wrong_one(cast: Cast) -> None:
    """Two typos, then her right PIN with a misspelt day for their next walk (422): it was
    counted as a third wrong one, so the next attempt waited and one typo more raised the
    alarm no PIN ends (an outside review). Her PIN starts the count again, as it does when
    what it came with is taken."""
    mira, noor, _phone, walk = cast.walking()
    url = f"/api/walks/{walk['id']}"
    for _ in range(2):
        wrong = cast.client.post(f"{url}/ok", json={"pin": WRONG}, headers=mira.auth)
        assert wrong.status_code == 403
    body = {"pin": PIN, "note": "Home", "next": BAD_NEXT}
    refused = cast.client.post(f"{url}/inside", json=body, headers=mira.auth)
    assert (refused.status_code, refused.json()["field"]) == (422, "next.day"), refused.text
    for _ in range(2):  # at once, no wait; and two typos again raise nothing
        wrong = cast.client.post(f"{url}/ok", json={"pin": WRONG}, headers=mira.auth)
        assert wrong.status_code == 403, wrong.text
    assert cast.client.get(url, headers=noor.auth).json()["state"] == "active"
    done = cast.client.post(f"{url}/inside", json={"pin": PIN, "note": "Home"}, headers=mira.auth)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "safe"


def test_her_duress_pin_with_a_misspelt_next_walk_raises_the_silent_alarm(
    tmp_path: Path,
) -> None:
    """Made to say she is inside with her duress PIN, the next walk's day misspelt: her
    devices get the 422 her PIN gets, and see nothing else change; her companions hear her
    duress PIN all the same (it was given, whatever came with it)."""
    heard: dict[str, list[str]] = {}
    seen: dict[str, list[bytes]] = {}
    for name, pin in (("right", PIN), ("duress", DURESS)):
        with scene(tmp_path, name, duress_in_profile=False) as run:
            run.phone_sends(run.here)
            body = {"pin": pin, "note": "Home", "next": BAD_NEXT}
            refused = run.as_mira("POST", f"{run.url}/inside", json=body)
            assert refused.status_code == 422, refused.text
            run.cast.clock.advance(minutes=1)
            run.phone_sends(run.here)
            run.look(seconds=1)
            seen[name] = what_her_devices_hold(run)
            heard[name] = [e.get("reason", e["kind"]) for e in run.cast.events(run.noor, run.walk)]
            noor_sees = run.companion_sees()["state"]
            assert noor_sees == ("alarm" if name == "duress" else "active"), name
    for number, (got, expected) in enumerate(zip(seen["duress"], seen["right"], strict=True)):
        assert got == expected, f"her devices' message {number} gives the duress PIN away"
    assert len(seen["duress"]) == len(seen["right"])
    assert "duress" in heard["duress"]
    assert "duress" not in heard["right"]
