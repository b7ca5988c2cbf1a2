"""The phone apps as they ship, second pass (issue 13): each request here is built as the app's
own source builds it, and the source is named beside it.

Mira walks home with Traccar Client or OwnTracks on her phone; Noor follows her."""

from __future__ import annotations

import base64
import secrets
import sqlite3
from typing import Any

import httpx2
import orjson
import pytest

from tests.people import HOME, START, Cast, Member, between


def device(cast: Cast, who: Member) -> dict[str, Any]:
    found: dict[str, Any] = cast.client.get("/api/devices", headers=who.auth).json()[0]
    return found


def look(cast: Cast, **advance: float) -> list[str]:
    cast.clock.advance(**advance)
    return cast.services.watchdog.tick_sync()


def form(cast: Cast, body: str) -> httpx2.Response:
    """Traccar Client 10.x: `HttpUploader` (traccar/traccar-client-sdk,
    core/src/commonMain/kotlin/org/traccar/client/HttpUploader.kt) posts a form."""
    return cast.client.post(
        "/api/traccar",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def position_form(phone: str, t: int, where: tuple[float, float]) -> str:
    """10.x's form for a position, its fields in the uploader's order (speed in knots,
    rounded to hundredths; the battery an Int; `charge` a Boolean)."""
    return (
        f"id={phone}&lat={where[0]}&lon={where[1]}&timestamp={t}&accuracy=4.8"
        "&altitude=21.0&speed=2.72&bearing=170.0&batt=87&charge=false"
    )


def heartbeat_form(phone: str, t: int) -> str:
    """10.x's heartbeat when the phone has no fresh location (`TrackerEngine.applyHeartbeatTick`:
    `Position(time = now)`, then the battery): no position at all."""
    return f"id={phone}&timestamp={t}&batt=86&charge=false"


def legacy_query(phone: str, t: int, where: tuple[float, float]) -> str:
    """The old Android client (traccar/traccar-client-android, `ProtocolFormatter`): every
    parameter in the query string of an empty POST."""
    return (
        f"/api/traccar?id={phone}&timestamp={t}&lat={where[0]}&lon={where[1]}"
        "&speed=0.0&bearing=0.0&altitude=12.0&accuracy=9.0&batt=64.0&charge=false"
    )


# -- item 4: the heartbeat warning only where it can be acted on -----------------------------


def test_the_old_traccar_client_has_no_heartbeat_to_turn_on(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    t = cast.clock.now_ms() // 1000
    assert cast.client.post(legacy_query(phone, t, START)).status_code == 200
    assert device(cast, mira)["advice"] is None
    walk = cast.start_walk(mira)
    assert not any("phone:" in w for w in walk["warnings"])
    cast.clock.advance(seconds=10)
    assert cast.client.post(legacy_query(phone, t + 10, START)).status_code == 200
    assert "phone_reports" not in [e["kind"] for e in cast.events(mira, walk)]


def test_traccar_client_10_is_not_told_of_a_heartbeat_it_cannot_show(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    t = cast.clock.now_ms() // 1000
    assert form(cast, position_form(phone, t, START)).status_code == 200
    walk = cast.start_walk(mira)
    assert not any("phone:" in w for w in walk["warnings"])


def test_traccar_client_9_without_a_heartbeat_seen_is_still_told(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    # traccar/traccar-client (9.x, flutter_background_geolocation): the plugin's JSON.
    message = {
        "location": {
            "timestamp": "2026-05-28T20:26:40.000Z",
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
            "battery": {"level": 0.8, "is_charging": False},
            "activity": {"type": "still"},
            "extras": {},
        },
        "device_id": phone,
    }
    assert cast.client.post("/api/traccar", json=message).status_code == 200
    walk = cast.start_walk(mira)
    assert any("turn on the heartbeat" in w for w in walk["warnings"])


def test_a_heartbeat_without_a_position_keeps_her_walk_from_being_silent(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t0 = cast.clock.now_ms() // 1000
    cast.clock.advance(seconds=10)
    assert form(cast, position_form(phone, t0 + 10, START)).status_code == 200
    # She waits at a crossing; the app stops sending positions and beats instead.
    cast.clock.advance(seconds=90)
    beat = form(cast, heartbeat_form(phone, t0 + 100))
    assert (beat.status_code, beat.content) == (200, b"")
    mine = device(cast, mira)
    assert mine["last_refusal"] is None  # taken, not refused for its missing position
    assert (mine["reports"], mine["advice"]) == ("often", None)  # so its heartbeat is on
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["t"] == (t0 + 10) * 1000  # where she is: unchanged
    assert seen["heard_at"] == (t0 + 100) * 1000
    # Silence is judged from the heartbeat: three minutes after the fix, nothing...
    assert look(cast, seconds=89) == []  # t0 + 189
    assert look(cast, seconds=1) == []  # t0 + 190: a fix's silence would have asked here
    assert look(cast, seconds=89) == []  # t0 + 279
    # ...three minutes after the heartbeat, she is asked, for silence.
    assert look(cast, seconds=1) == ["check"]
    check = cast.events(mira, walk)[-1]
    assert (check["kind"], check["reason"]) == ("check", "silent")


def test_a_heartbeat_outside_a_walk_keeps_nothing_and_is_no_refusal(cast: Cast) -> None:
    mira = cast.person("Mira")
    phone = cast.device(mira)
    t = cast.clock.now_ms() // 1000
    assert form(cast, heartbeat_form(phone, t)).status_code == 200
    assert device(cast, mira)["last_refusal"] is None
    # One from the future is refused by name, and answered 200 all the same.
    assert form(cast, heartbeat_form(phone, t + 3600)).status_code == 200
    assert "future" in device(cast, mira)["last_refusal"]


def test_after_a_heartbeat_its_later_positions_still_count_as_reporting_often(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    assert form(cast, heartbeat_form(phone, t)).status_code == 200
    cast.clock.advance(seconds=10)
    there = between(START, HOME, 0.1)
    assert form(cast, position_form(phone, t + 10, there)).status_code == 200
    assert device(cast, mira)["reports"] == "often"


# -- item 6: the smaller ones ----------------------------------------------------------------


def test_the_old_android_clients_unknown_accuracy_is_stored_as_unknown(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    # `ProtocolFormatter` writes `accuracy=0.0` for a GPS fix that gave none.
    query = legacy_query(phone, t, START).replace("accuracy=9.0", "accuracy=0.0")
    assert cast.client.post(query).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["accuracy"] is None


def test_traccar_client_10_uploading_json_posts_an_array(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    cast.clock.advance(seconds=10)
    there = between(START, HOME, 0.05)

    def item(at: int, where: tuple[float, float]) -> dict[str, Any]:
        # `HttpUploader` with `uploadJson`: one object a buffered position, JSON values.
        return {
            "id": phone,
            "lat": where[0],
            "lon": where[1],
            "timestamp": at,
            "accuracy": 4.8,
            "altitude": 21.0,
            "speed": 2.72,
            "bearing": 170.0,
            "batt": 87,
            "charge": False,
        }

    sent = cast.client.post(
        "/api/traccar",
        content=orjson.dumps([item(t, START), item(t + 10, there)]),
        headers={"Content-Type": "application/json"},
    )
    assert (sent.status_code, sent.content) == (200, b"")
    track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
    assert [f["t"] for f in track] == [t * 1000, (t + 10) * 1000]
    last = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["last_position"]
    assert (last["lat"], last["battery"]) == (there[0], 87)
    assert last["speed"] == pytest.approx(2.72 * 1852 / 3600)
    assert device(cast, mira)["last_refusal"] is None
    # Its SOS, in any of the array's objects, is her SOS.
    cast.clock.advance(seconds=5)
    sos = cast.client.post(
        "/api/traccar",
        content=orjson.dumps([{**item(t + 15, there), "alarm": "sos"}]),
        headers={"Content-Type": "application/json"},
    )
    assert sos.status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"


def test_an_owntracks_card_with_its_photo_is_taken_and_its_photo_dropped(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    # The apps send a 192x192 photo, base64: about 100 kB.
    face = base64.b64encode(secrets.token_bytes(75_000)).decode()
    card = {"_type": "card", "tid": "MI", "name": "Mira", "face": face}
    body = orjson.dumps(card)
    assert len(body) > 100_000
    answer = cast.client.post(
        "/api/owntracks",
        content=body,
        headers={
            "Authorization": "Basic " + base64.b64encode(f"mira:{phone}".encode()).decode(),
            "Content-Type": "application/json; charset=utf-8",
        },
    )
    assert answer.status_code == 200  # iOS drops a card answered with a 4xx, and alerts her
    assert device(cast, mira)["last_refusal"] is None  # nothing wrong with it
    url = cast.services.config.database_url
    if url.startswith("sqlite:///"):  # nothing of the photo is kept anywhere
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            assert face[:64] not in "\n".join(db.iterdump())


# -- item 5: how to let the server switch OwnTracks to Move mode -----------------------------


def test_the_advice_says_how_to_turn_on_remote_configuration_on_each_phone(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    # OwnTracks for iOS in Significant mode (`m: 1`), HTTP mode: its headers and body.
    significant = {
        "_type": "location",
        "tid": "MI",
        "lat": START[0],
        "lon": START[1],
        "tst": cast.clock.now_ms() // 1000,
        "acc": 16,
        "batt": 71,
        "bs": 1,
        "conn": "m",
        "m": 1,
        "topic": "owntracks/user/device",
    }
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"user:{phone}".encode()).decode(),
        "Content-Type": "application/json",
        "X-Limit-U": "user",
        "X-Limit-D": "device",
    }
    assert cast.client.post("/api/owntracks", json=significant, headers=headers).status_code == 200
    walk = cast.start_walk(mira)
    warning = next(w for w in walk["warnings"] if w.startswith("phone:"))
    # During the walk, the same advice is on the walk's timeline when the app says its mode
    # (usecases/phones.py) and in her devices' list.
    for said in (warning, device(cast, mira)["advice"]):
        # iOS obeys setConfiguration only with both on; Android with remoteConfiguration.
        assert "cmd" in said
        assert "allowRemoteConfiguration" in said
        assert "remoteConfiguration" in said.replace("allowRemoteConfiguration", "")
