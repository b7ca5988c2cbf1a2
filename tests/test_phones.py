"""The phone apps' doors: OwnTracks (HTTP mode) and Traccar Client, with payloads shaped like
the apps' own (../shared/protocols.md), through the one fix path to her companion's screen.

Mira walks home with OwnTracks or Traccar Client on her phone; Noor follows her."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest

from tests.people import HOME, START, Cast, Member, between
from tests.test_pages import page
from walkwithme.domain.errors import Invalid
from walkwithme.domain.reporting import App, Client, ask_of
from walkwithme.ingest.traccar import _timestamp


def monitoring(mode: int) -> dict[str, Any]:
    return {
        "_type": "cmd",
        "action": "setConfiguration",
        "configuration": {"_type": "configuration", "monitoring": mode},
    }


MOVE_MODE = monitoring(2)


def basic(token: str, user: str = "mira") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def location(cast: Cast, where: tuple[float, float], **extra: Any) -> dict[str, Any]:
    """An OwnTracks location message, as the Android app sends it in HTTP mode."""
    return {
        "_type": "location",
        "tid": "MI",
        "topic": "owntracks/mira/phone",
        "lat": where[0],
        "lon": where[1],
        "tst": cast.clock.now_ms() // 1000,
        "acc": 8,
        "batt": 77,
        "conn": "m",
        **extra,
    }


def owntracks(cast: Cast, token: str, message: object) -> httpx2.Response:
    return cast.client.post(
        "/api/owntracks",
        content=message if isinstance(message, bytes) else orjson.dumps(message),
        headers={**basic(token), "Content-Type": "application/json; charset=utf-8"},
    )


def modes(answer: httpx2.Response) -> list[dict[str, Any]]:
    """The answer's commands about the app's mode (a walk's first answer also gives the
    destination as a region: tests/test_phone_apps.py)."""
    found: list[dict[str, Any]] = answer.json()
    return [c for c in found if c.get("action") != "setWaypoints"]


def walk_of(cast: Cast, who: Member, walk: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = cast.client.get(f"/api/walks/{walk['id']}", headers=who.auth).json()
    return seen


def device(cast: Cast, who: Member) -> dict[str, Any]:
    found: dict[str, Any] = cast.client.get("/api/devices", headers=who.auth).json()[0]
    return found


def kinds(cast: Cast, who: Member, walk: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in cast.events(who, walk)]


# -- OwnTracks ---------------------------------------------------------------------------------


def test_owntracks_in_move_mode_walks_her_home_on_her_companions_screen(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=20)
    there = between(START, HOME, 0.25)
    answer = owntracks(cast, phone, location(cast, there, m=2, vel=5, cog=170, alt=12))
    assert answer.status_code == 200
    assert modes(answer) == []  # in Move mode already: nothing to ask of it
    last = walk_of(cast, noor, walk)["last_position"]
    assert (last["lat"], last["lon"], last["battery"], last["bearing"]) == (*there, 77, 170)
    assert last["speed"] == pytest.approx(5 / 3.6)  # OwnTracks says km/h
    assert "phone_reports" not in kinds(cast, noor, walk)
    assert device(cast, mira)["reports"] == "often"
    # A message that doesn't say its mode (a region's transition) leaves it as it was.
    leave = {
        "_type": "transition",
        "event": "leave",
        "lat": there[0],
        "lon": there[1],
        "tst": cast.clock.now_ms() // 1000,
        "t": "c",
    }
    assert modes(owntracks(cast, phone, leave)) == []
    assert device(cast, mira)["reports"] == "often"


def test_owntracks_outside_move_mode_is_asked_to_switch_and_she_is_told(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    answer = owntracks(cast, phone, location(cast, START, m=1))
    assert modes(answer) == [MOVE_MODE]
    told = cast.events(mira, walk)[-1]
    assert (told["kind"], told["reports"], told["mode"]) == (
        "phone_reports",
        "rarely",
        "significant",
    )
    assert "Move mode" in told["advice"]
    assert cast.events(noor, walk)[-1]["kind"] == "phone_reports"  # why "last seen" is old

    # Until it does, every answer asks again; she is told once.
    cast.clock.advance(seconds=30)
    assert modes(owntracks(cast, phone, location(cast, START, m=1))) == [MOVE_MODE]
    assert kinds(cast, mira, walk).count("phone_reports") == 1

    # It switched: nothing more to ask, and she sees it reports often now.
    cast.clock.advance(seconds=30)
    assert modes(owntracks(cast, phone, location(cast, between(START, HOME, 0.1), m=2))) == []
    now = cast.events(mira, walk)[-1]
    assert (now["kind"], now["reports"], now["advice"]) == ("phone_reports", "often", None)


def test_a_phone_set_to_report_seldom_before_her_walk_is_said_to_her_companions(
    cast: Cast,
) -> None:
    """Her OwnTracks was in Significant mode before the walk, and still is: nothing changed,
    yet her companions were never told why where she is seen is minutes old. Told once, in
    words (it was shown as "phone reports"), on his page and hers."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    assert owntracks(cast, phone, location(cast, START, m=1)).status_code == 200
    walk = cast.start_walk(mira)
    for step in range(2):
        cast.clock.advance(seconds=30)
        owntracks(cast, phone, location(cast, between(START, HOME, 0.05 * (step + 1)), m=1))
    assert kinds(cast, noor, walk).count("phone_reports") == 1
    his = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert "Mira&#39;s phone (phone) reports only now and then: where Mira is seen may be" in his
    hers = page(cast.client, f"/walks/{walk['id']}", mira).text
    assert "Your phone (phone) reports only now and then" in hers


def test_after_the_walk_the_app_is_given_back_the_mode_it_was_in(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert modes(owntracks(cast, phone, location(cast, START, m=1))) == [MOVE_MODE]
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, between(START, HOME, 0.2), m=2))) == []
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/end", json={"pin": "2468"}, headers=mira.auth
    )
    assert ended.status_code == 200
    # Move mode costs battery: its first message after the walk is answered with its own
    # Significant mode back, once.
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, HOME, m=2))) == [monitoring(1)]
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, HOME, m=2))) == []


def test_after_her_duress_pin_her_app_stays_in_move_mode_until_the_alarm_is_resolved(
    cast: Cast,
) -> None:
    """Her duress PIN ended the walk for her devices, but her companions are looking for her:
    her app is not switched back to Significant mode (a position every 15 minutes or so) while
    they do. Nor is it asked anything else: the walk is over, as far as her phone is told."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin="1357")
    assert modes(owntracks(cast, phone, location(cast, START, m=1))) == [MOVE_MODE]
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, between(START, HOME, 0.1), m=2))) == []
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/end", json={"pin": "1357"}, headers=mira.auth
    )
    assert ended.status_code == 200
    for step in (0.2, 0.3):
        cast.clock.advance(seconds=20)
        answer = owntracks(cast, phone, location(cast, between(START, HOME, step), m=2))
        assert modes(answer) == []  # no "back to Significant mode"
    seen = walk_of(cast, noor, walk)
    assert (seen["state"], seen["last_position"]["lat"]) == ("alarm", between(START, HOME, 0.3)[0])
    # Even switched out of Move mode meanwhile (by whoever holds her phone), it is asked
    # nothing: a Move mode command would tell her phone the walk is not over.
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, between(START, HOME, 0.3), m=1))) == []
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, between(START, HOME, 0.3), m=2))) == []
    # Noor found her: the walk is over for everyone, and her app gets its own mode back, once.
    resolved = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "with her"}, headers=noor.auth
    )
    assert resolved.status_code == 200
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, HOME, m=2))) == [monitoring(1)]
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, HOME, m=2))) == []


def test_an_app_that_never_said_its_mode_is_not_switched_back(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert modes(owntracks(cast, phone, location(cast, START))) == [MOVE_MODE]
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, START, m=2))) == []
    cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": "2468"}, headers=mira.auth)
    cast.clock.advance(seconds=20)
    assert modes(owntracks(cast, phone, location(cast, HOME, m=2))) == []


def test_a_walk_started_on_a_phone_known_to_report_rarely_says_so_plainly(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    # Before any walk: her phone says it is in Significant mode (the fix itself isn't kept).
    assert owntracks(cast, phone, location(cast, START, m=1)).json() == []
    walk = cast.start_walk(mira)
    assert any(w.startswith("phone: OwnTracks is in Significant mode") for w in walk["warnings"])
    assert device(cast, mira)["advice"] is not None


def test_owntracks_doors_status_codes(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    no_auth = cast.client.post("/api/owntracks", json=location(cast, START))
    assert no_auth.status_code == 401
    assert no_auth.headers["www-authenticate"].startswith("Basic")
    assert owntracks(cast, "dev_" + "x" * 43, location(cast, START)).status_code == 401

    # A friend deleted: an empty body, nothing to do.
    empty = owntracks(cast, phone, b"")
    assert (empty.status_code, empty.json()) == (200, [])
    unreadable = owntracks(cast, phone, b"{not json")
    assert unreadable.status_code == 400
    assert "not JSON" in unreadable.json()["error"]
    assert owntracks(cast, phone, [1, 2]).status_code == 400

    # Read but not used: answered 200, kept as the phone's last refusal, nothing stored.
    transition = {
        "_type": "transition",
        "event": "leave",
        "lat": 60.1,
        "lon": 24.9,
        "tst": cast.clock.now_ms() // 1000,
        "acc": 14,
        "t": "c",
        "tid": "MI",
    }
    assert owntracks(cast, phone, transition).status_code == 200
    assert "'transition'" in device(cast, mira)["last_refusal"]
    no_lat = location(cast, START)
    del no_lat["lat"]
    assert owntracks(cast, phone, no_lat).status_code == 200
    assert device(cast, mira)["last_refusal"] == "lat is required"
    future = location(cast, START, tst=cast.clock.now_ms() // 1000 + 25 * 3600)
    assert owntracks(cast, phone, future).status_code == 200
    assert "future" in device(cast, mira)["last_refusal"]
    # Seconds so many that their milliseconds overflow: refused, not a 500 the phone would
    # send again and again with every later position waiting behind it.
    endless = location(cast, START, tst=1e308)
    assert owntracks(cast, phone, endless).status_code == 200
    assert device(cast, mira)["last_refusal"] == "tst is not a time"
    secret = owntracks(cast, phone, {"_type": "encrypted", "data": "AAAA"})
    assert secret.status_code == 200
    assert "encryption" in device(cast, mira)["last_refusal"]
    assert walk_of(cast, noor, walk)["last_position"] is None


def test_owntracks_resent_after_a_lost_answer_is_kept_once(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    message = location(cast, START, m=2)
    assert owntracks(cast, phone, message).status_code == 200
    assert owntracks(cast, phone, message).status_code == 200  # the phone didn't hear us
    track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
    assert len(track) == 1


# -- Traccar Client ----------------------------------------------------------------------------


def test_the_old_traccar_client_with_its_query_string_and_its_sos(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    there = between(START, HOME, 0.3)
    t = cast.clock.now_ms() // 1000
    query = (
        f"id={phone}&timestamp={t}&lat={there[0]}&lon={there[1]}&speed=2.0&bearing=165"
        f"&altitude=10&accuracy=6.0&batt=64"
    )
    answer = cast.client.post(f"/api/traccar?{query}")
    assert (answer.status_code, answer.content) == (200, b"")
    last = walk_of(cast, noor, walk)["last_position"]
    assert last["speed"] == pytest.approx(2.0 * 1852 / 3600)  # knots
    assert (last["bearing"], last["battery"], last["accuracy"]) == (165, 64, 6)

    cast.clock.advance(seconds=5)
    sos = cast.client.get(
        f"/api/traccar?id={phone}&timestamp={t + 5}&lat={there[0]}&lon={there[1]}&alarm=sos"
    )
    assert sos.status_code == 200
    seen = walk_of(cast, noor, walk)
    assert seen["state"] == "alarm"
    alarm = cast.events(noor, walk)[-1]
    assert (alarm["kind"], alarm["reason"]) == ("alarm", "sos")


def test_traccar_client_10_posts_a_form(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms()  # milliseconds: 10.x may send either
    form = (
        f"id={phone}&lat={START[0]}&lon={START[1]}&timestamp={t}&accuracy=5.0"
        "&altitude=5.0&speed=0.0&bearing=0.0&batt=87&charge=false"
    )
    answer = cast.client.post(
        "/api/traccar",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    last = walk_of(cast, noor, walk)["last_position"]
    assert (last["t"], last["battery"]) == (t, 87)
    # Its heartbeat carries no marker: nothing she could do would clear a warning about it.
    assert device(cast, mira)["reports"] == "unknown"
    assert device(cast, mira)["advice"] is None


# 9.x marks its heartbeat's position with the extra `heartbeat: true` (lib/
# geolocation_service.dart, `onHeartbeat`), which its location plugin merges into the location;
# read in `location.extras` too, as its SOS is, for a plugin that keeps them apart.
@pytest.mark.parametrize("marked_in", ["location", "extras"])
def test_traccar_client_9_posts_json_and_its_heartbeat_is_remembered(
    cast: Cast, marked_in: str
) -> None:
    mira, noor, phone, walk = cast.walking()

    def message(**location: Any) -> dict[str, Any]:
        return {
            "device_id": phone,
            "location": {
                "timestamp": "2026-05-28T20:26:40.000Z",  # the fake clock's start
                "coords": {
                    "latitude": START[0],
                    "longitude": START[1],
                    "accuracy": 5,
                    "speed": -1,
                    "heading": -1,
                    "altitude": 5,
                },
                "is_moving": False,
                "odometer": 0,
                "event": "motionchange",
                "battery": {"level": 0.5, "is_charging": False},
                "activity": {"type": "still"},
                "extras": {},
                **location,
            },
        }

    beat = (
        message(heartbeat=True) if marked_in == "location" else message(extras={"heartbeat": True})
    )
    assert cast.client.post("/api/traccar", json=beat).status_code == 200
    last = walk_of(cast, noor, walk)["last_position"]
    assert (last["battery"], last["speed"], last["bearing"]) == (50, None, None)
    assert device(cast, mira)["reports"] == "often"
    # Its next messages don't repeat it: the heartbeat is known to be on.
    cast.clock.advance(seconds=10)
    later = message(timestamp="2026-05-28T20:26:50Z")
    assert cast.client.post("/api/traccar", json=later).status_code == 200
    assert device(cast, mira)["reports"] == "often"

    cast.clock.advance(seconds=10)
    sos = message(timestamp="2026-05-28T20:27:00Z", extras={"alarm": "sos"})
    assert cast.client.post("/api/traccar", json=sos).status_code == 200
    assert walk_of(cast, noor, walk)["state"] == "alarm"


def test_traccar_doors_status_codes(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    missing = cast.client.post(f"/api/traccar?lat=60.1&lon=24.9&timestamp={t}")
    assert (missing.status_code, missing.json()["field"]) == (400, "id")
    # An id it doesn't know: 400 naming it, as Traccar's own server answers.
    unknown = cast.client.post(f"/api/traccar?id=123456&lat=60.1&lon=24.9&timestamp={t}")
    assert (unknown.status_code, unknown.json()["field"]) == (400, "id")
    broken = cast.client.post(
        "/api/traccar", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    bad_lat = cast.client.post(f"/api/traccar?id={phone}&lat=north&lon=24.9&timestamp={t}")
    assert bad_lat.status_code == 200
    assert device(cast, mira)["last_refusal"] == "lat must be a number"
    assert walk_of(cast, noor, walk)["last_position"] is None


def test_an_sos_with_no_walk_going_on_is_kept_for_her_to_see(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    t = cast.clock.now_ms() // 1000
    answer = cast.client.post(
        f"/api/traccar?id={phone}&lat={START[0]}&lon={START[1]}&timestamp={t}&alarm=sos"
    )
    assert answer.status_code == 200
    assert "no walk going on" in device(cast, mira)["last_refusal"]


@pytest.mark.parametrize(
    ("written", "ms"),
    [
        ("1377177267", 1_377_177_267_000),
        ("1750000000123", 1_750_000_000_123),
        ("2025-06-15T13:45:12.862Z", 1_749_995_112_862),
        ("2025-06-15T16:45:12+03:00", 1_749_995_112_000),
        ("2025-06-15 13:45:12", 1_749_995_112_000),
    ],
)
def test_traccar_timestamps_in_every_form_the_clients_send(written: str, ms: int) -> None:
    assert _timestamp(written) == ms


def test_a_timestamp_that_is_none_of_them_is_refused_by_name() -> None:
    with pytest.raises(Invalid, match="timestamp"):
        _timestamp("yesterday")


# -- faults ------------------------------------------------------------------------------------


def test_a_fault_asks_the_phone_to_send_again_and_the_resend_is_kept(
    impatient: tuple[Cast, Path],
) -> None:
    cast, path = impatient
    mira, noor, phone, walk = cast.walking()
    message = location(cast, START, m=2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # a backup holds the write lock
    try:
        refused = owntracks(cast, phone, message)
        t = cast.clock.now_ms() // 1000
        traccar = cast.client.post(
            f"/api/traccar?id={phone}&lat={START[0]}&lon={START[1]}&timestamp={t}"
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (refused.status_code, traccar.status_code) == (503, 503)  # both apps keep it
    assert "Traceback" not in refused.text
    assert owntracks(cast, phone, message).status_code == 200
    assert walk_of(cast, noor, walk)["last_position"]["lat"] == START[0]


@pytest.mark.parametrize(
    ("mode", "on_walk", "asked_from", "ask", "then"),
    [
        ("significant", True, None, "move", "significant"),
        (None, True, None, "move", "unknown"),
        ("move", True, "significant", None, "significant"),  # it switched: nothing more
        ("move", False, "significant", "significant", None),  # given back, once
        ("move", False, "unknown", None, None),  # it never said: left as it is
        ("manual", False, "significant", None, None),  # she set it herself
        ("move", False, None, None, None),  # we never asked: her choice
    ],
)
def test_what_an_owntracks_app_is_asked_for(
    mode: str | None, on_walk: bool, asked_from: str | None, ask: str | None, then: str | None
) -> None:
    found = ask_of(Client(App.OWNTRACKS, mode), on_walk, asked_from)
    assert (found.mode, found.asked_from) == (ask, then)
    assert ask_of(Client(App.TRACCAR), on_walk, None).mode is None
