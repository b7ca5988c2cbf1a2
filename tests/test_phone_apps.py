"""The phone apps as they ship, second pass (issue 13): each request here is built as the app's
own source builds it, and the source is named beside it.

Mira walks home with Traccar Client or OwnTracks on her phone; Noor follows her."""

from __future__ import annotations

import base64
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from nacl.encoding import Base64Encoder
from nacl.secret import SecretBox

from tests.people import HOME, PIN, START, Cast, Member, between
from tests.service import Service, cli
from tests.test_owntracks_mqtt import location
from tests.test_phones import owntracks
from tests.test_service_e2e import now_ms, prepare
from walkwithme.replay import Replay, ReplayError, read_gpx


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


def heartbeat_form(phone: str, t: int, battery: int = 86) -> str:
    """10.x's heartbeat when the phone has no fresh location (`TrackerEngine.applyHeartbeatTick`:
    `Position(time = now)`, then the battery): no position at all."""
    return f"id={phone}&timestamp={t}&batt={battery}&charge=false&battery_health=good"


def legacy_query(phone: str, t: int, where: tuple[float, float]) -> str:
    """The old Android client (traccar/traccar-client-android, `ProtocolFormatter.kt`): every
    parameter in the query string of an empty POST, in its order."""
    return (
        f"/api/traccar?id={phone}&timestamp={t}&lat={where[0]}&lon={where[1]}"
        "&speed=0.0&bearing=0.0&altitude=12.0&accuracy=9.0&batt=64.0"
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


def test_traccar_client_10_reporting_minutes_apart_is_told_how_to_set_it(cast: Cast) -> None:
    """Traccar Client 10 at its defaults (Distance 75 m, Interval 300 s, no heartbeat) reports
    every 5 minutes before her walk, and nothing while she stands still on it: a red light
    asked her if she was OK, then alarmed her companions (an outside review). Its messages
    don't say how it is set; how far apart they come does. Set for walks, it reports every
    few seconds, and the advice goes."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    for _ in range(3):  # at home all evening, a message every 5 minutes
        t = cast.clock.now_ms() // 1000
        assert form(cast, position_form(phone, t, START)).status_code == 200
        cast.clock.advance(minutes=5)
    walk = cast.start_walk(mira)
    [said] = [w for w in walk["warnings"] if w.startswith("phone:")]
    assert "Traccar Client reported 5 minutes apart" in said
    assert 'Location accuracy "Highest", then Interval (seconds) 10' in said
    assert said == f"phone: {device(cast, mira)['advice']}"
    cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
    for _ in range(3):  # set as the advice says: every 10 s (last seen is kept every 30 s)
        cast.clock.advance(seconds=35)
        t = cast.clock.now_ms() // 1000
        assert form(cast, position_form(phone, t, START)).status_code == 200
    assert device(cast, mira)["advice"] is None
    again = cast.start_walk(mira)
    assert not any("phone:" in w for w in again["warnings"])


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
    [said] = [w for w in walk["warnings"] if w.startswith("phone:")]
    # As the app's settings screen names them: Interval is shown only with "Highest".
    assert 'Location accuracy "Highest", then Interval (seconds) 10' in said
    assert "Stationary heartbeat (seconds) 60" in said
    assert said == f"phone: {device(cast, mira)['advice']}"


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


def test_a_heartbeat_says_her_battery_and_a_low_one_is_told(cast: Cast) -> None:
    """The heartbeat comes when the phone has no fix (indoors, under the street): just when
    a dying battery matters most. Its battery is shown, and a low one told, as with a fix."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    t0 = cast.clock.now_ms() // 1000
    cast.clock.advance(seconds=10)
    assert form(cast, position_form(phone, t0 + 10, START)).status_code == 200
    cast.clock.advance(seconds=60)
    assert form(cast, heartbeat_form(phone, t0 + 70, battery=3)).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["battery"] == 3
    said = [e for e in cast.events(noor, walk) if e["kind"] == "low_battery"]
    assert [e["battery"] for e in said] == [3]
    assert said[0]["position"]["t"] == (t0 + 10) * 1000  # where she was last seen
    assert [a["battery"] for a in cast.told(noor, "low_battery")] == [3]
    # A battery it can't read: still a heartbeat, nothing more.
    cast.clock.advance(seconds=30)
    odd = f"id={phone}&timestamp={t0 + 100}&batt=lots"
    assert form(cast, odd).status_code == 200
    assert device(cast, mira)["last_refusal"] is None
    assert (
        cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["heard_at"]
        == (t0 + 100) * 1000
    )


def test_a_heartbeat_outside_a_walk_keeps_nothing_and_is_no_refusal(cast: Cast) -> None:
    mira = cast.person("Mira")
    phone = cast.device(mira)
    t = cast.clock.now_ms() // 1000
    assert form(cast, heartbeat_form(phone, t)).status_code == 200
    assert device(cast, mira)["last_refusal"] is None
    # One a day ahead is refused by name, and answered 200 all the same.
    assert form(cast, heartbeat_form(phone, t + 25 * 3600)).status_code == 200
    assert "future" in device(cast, mira)["last_refusal"]
    # One an hour ahead too (a clock that stays off is learned, in two minutes).
    assert form(cast, heartbeat_form(phone, t + 3600)).status_code == 200
    assert "future" in device(cast, mira)["last_refusal"]


def test_traccar_clients_push_registration_at_every_start_is_no_refusal_nor_a_report(
    cast: Cast,
) -> None:
    """Traccar Client 9.x and 10.x post `id` and `notificationToken` alone at every start
    (traccar/traccar-client, lib/push_service.dart): her devices page said "lat is required"
    each time she opened the app, and the gap since its last report was measured from it (an
    outside review)."""
    mira, _noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    assert form(cast, heartbeat_form(phone, t)).status_code == 200
    before = device(cast, mira)
    cast.clock.advance(minutes=20)
    assert form(cast, f"id={phone}&notificationToken=fcm-abc:123").status_code == 200
    after = device(cast, mira)
    assert after["last_refusal"] is None
    assert after["last_seen_at"] == before["last_seen_at"]
    assert form(cast, "id=not-a-device&notificationToken=x").status_code == 400
    assert cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=mira.auth).json() == []


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


# -- a phone that posts is alive, whatever times its messages carry ---------------------------


def cached_traccar_position(cast: Cast, phone: str, t0: int) -> None:
    """Traccar Client 10 on iOS with no fresh fix (indoors, in the metro): its stationary
    heartbeat carries the location `fetchOnce` gave, a cached one, with that location's own
    time (traccar/traccar-client-sdk, `TrackerEngine.applyHeartbeatTick` and
    `heartbeatPosition`), the same `timestamp` each time."""
    cached = f"id={phone}&lat=60.17&lon=24.94&timestamp={t0}&accuracy=8.0&batt=70&charge=false"
    assert form(cast, cached).status_code == 200


def old_owntracks_location(cast: Cast, phone: str, t0: int) -> None:
    """OwnTracks for iOS answering `reportLocation` "with the location it has": a location
    older than the walk (so not kept for it), sent again with its own old `tst`."""
    old = location(cast, START, tst=t0 - 600, m=1)
    assert owntracks_post(cast, phone, old).status_code == 200


@pytest.mark.parametrize(
    "send", [cached_traccar_position, old_owntracks_location], ids=["traccar", "owntracks"]
)
def test_a_phone_repeating_an_old_position_is_not_silent_and_is_asked_once_it_stops(
    cast: Cast, send: Any
) -> None:
    """Each message shows her phone alive when it reaches the server, whatever time it
    carries; its old position is not taken as where she is now. When the phone stops, her
    silence is counted from its last message."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, rules={"silent": "30s"})
    t0 = cast.clock.now_ms() // 1000
    for _ in range(12):  # two minutes, one message every 10 s
        cast.clock.advance(seconds=10)
        send(cast, phone, t0)
        assert look(cast) == []
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["heard_at"] == cast.clock.now_ms()  # heard from just now
    first = seen["last_position"]
    assert first is None or first["t"] == t0 * 1000  # never moved by the repeats
    asked = [e for e in cast.events(noor, walk) if e["kind"] in ("check", "alarm")]
    assert asked == []
    # The phone stops: 30 s after its last message, she is asked, for silence.
    assert look(cast, seconds=29) == []
    assert look(cast, seconds=1) == ["check"]
    check = cast.events(mira, walk)[-1]
    assert (check["kind"], check["reason"]) == ("check", "silent")


# -- item 6: the smaller ones ----------------------------------------------------------------


def test_the_old_android_clients_unknown_accuracy_is_stored_as_unknown(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    # `ProtocolFormatter` writes `accuracy=0.0` for a GPS fix that gave none.
    query = legacy_query(phone, t, START).replace("accuracy=9.0", "accuracy=0.0")
    assert cast.client.post(query).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["accuracy"] is None


def test_owntracks_androids_zeros_for_readings_it_has_not_are_unknown(cast: Cast) -> None:
    """OwnTracks for Android writes `acc`, `vel` and `cog` as 0 when its fix has none
    (owntracks/android, MessageLocation.kt): kept as a fix good to the millimetre, heading
    north (an outside review). The old Traccar Client for Android writes `bearing=0.0`."""
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    zeros = {"_type": "location", "lat": START[0], "lon": START[1], "tst": t,
             "acc": 0, "vel": 0, "cog": 0, "alt": 0, "batt": 80}  # fmt: skip
    assert owntracks_post(cast, phone, zeros).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["accuracy"] is None
    assert seen["last_position"]["bearing"] is None
    cast.clock.advance(seconds=30)
    moving = {**zeros, "tst": t + 30, "acc": 12, "vel": 5, "lat": START[0] + 0.0003}
    assert owntracks_post(cast, phone, moving).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["accuracy"] == 12
    assert seen["last_position"]["bearing"] == 0  # moving due north: north
    cast.clock.advance(minutes=1)
    assert cast.client.post(legacy_query(phone, t + 60, START)).status_code == 200  # 0.0, 0.0
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["bearing"] is None


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
        # iOS obeys setConfiguration only with cmd and remoteConfiguration on (Settings >
        # Remote Control); Android with Remote configuration (and Remote commands) on.
        assert "Settings > Remote Control, turn on cmd and remoteConfiguration" in said
        assert "allowRemoteConfiguration" not in said  # no such setting in either app
        # What seldom reports mean for her, not only for her companions (an outside review:
        # a phone reporting every 5 minutes was alarmed 3 minutes into her walk, at night).
        assert "you would be asked if you are OK whenever it has said nothing" in said
        assert "Preferences > Remote Control, turn on Remote configuration" in said


# -- the rest: OwnTracks' encryption ---------------------------------------------------------


def sealed(passphrase: str, message: dict[str, Any]) -> dict[str, str]:
    """As the apps encrypt (OwnTracks Android `EncryptionProvider`, iOS `OwnTracksEncryption`):
    libsodium secretbox, the key the passphrase's UTF-8 bytes zero-padded to 32, the data
    base64(nonce | MAC | ciphertext)."""
    key = passphrase.encode()[:32].ljust(32, b"\0")
    data = SecretBox(key).encrypt(orjson.dumps(message), encoder=Base64Encoder)
    return {"_type": "encrypted", "data": data.decode()}


def opened(passphrase: str, message: dict[str, Any]) -> Any:
    assert message["_type"] == "encrypted"
    key = passphrase.encode()[:32].ljust(32, b"\0")
    return orjson.loads(SecretBox(key).decrypt(message["data"].encode(), encoder=Base64Encoder))


def owntracks_post(
    cast: Cast, token: str, message: object, door: str = "/api/owntracks"
) -> httpx2.Response:
    return cast.client.post(
        door,
        content=orjson.dumps(message),
        headers={
            "Authorization": "Basic " + base64.b64encode(f"mira:{token}".encode()).decode(),
            "Content-Type": "application/json; charset=utf-8",
        },
        follow_redirects=False,  # as a phone app: a redirect is an answer, not a way on
    )


def test_an_encrypted_owntracks_walk_round_trip(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    made = cast.client.post(
        "/api/devices", json={"name": "phone", "owntracks_encryption": True}, headers=mira.auth
    )
    assert made.status_code == 201
    phone, key = made.json()["token"], made.json()["owntracks_key"]
    assert len(key.encode()) == 32  # all of it is the key
    assert "owntracks_key" not in device(cast, mira)  # shown once, never listed
    walk = cast.start_walk(mira)
    there = between(START, HOME, 0.1)
    location = {
        "_type": "location",
        "tid": "MI",
        "lat": there[0],
        "lon": there[1],
        "tst": cast.clock.now_ms() // 1000,
        "acc": 9,
        "batt": 66,
        "m": 1,
        "topic": "owntracks/mira/phone",
    }
    answer = owntracks_post(cast, phone, sealed(key, location))
    assert answer.status_code == 200
    # Significant mode: asked to switch to Move mode (and given her destination as a region),
    # in commands sealed with her key.
    # One sealed object whose plaintext is the array: the one shape both apps open.
    move, region = opened(key, answer.json())
    assert move["configuration"]["monitoring"] == 2
    assert region["action"] == "setWaypoints"
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert (seen["last_position"]["lat"], seen["last_position"]["battery"]) == (there[0], 66)

    # Sealed with another key: taken as a message that can't be used, said why.
    cast.clock.advance(seconds=5)
    wrong = owntracks_post(cast, phone, sealed("not her key", location))
    assert wrong.status_code == 200
    assert "check the encryption key" in device(cast, mira)["last_refusal"]
    # A new key: the old one stops working.
    renewed = cast.client.post(
        f"/api/devices/{made.json()['id']}/owntracks-key", headers=mira.auth
    ).json()["owntracks_key"]
    assert renewed != key
    cast.clock.advance(seconds=5)
    location["tst"] = cast.clock.now_ms() // 1000
    owntracks_post(cast, phone, sealed(key, location))
    assert "check the encryption key" in device(cast, mira)["last_refusal"]
    assert owntracks_post(cast, phone, sealed(renewed, location)).status_code == 200
    track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
    assert len(track) == 2


def test_an_encrypted_message_to_a_device_without_a_key_says_what_to_do(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    secret = sealed("her passphrase", {"_type": "location", "lat": 60.1, "lon": 24.9, "tst": 1})
    assert owntracks_post(cast, phone, secret).status_code == 200
    assert "no encryption key" in device(cast, mira)["last_refusal"]


def test_the_operator_gives_a_phone_its_encryption_key_with_the_device(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "people", "add", "mira@example.org")
    made = cli(data, "devices", "add", "mira@example.org", "phone", "--owntracks-encryption")
    assert made["token"].startswith("dev_")
    assert len(made["owntracks_key"].encode()) == 32
    plain = cli(data, "devices", "add", "mira@example.org", "tablet")
    assert "owntracks_key" not in plain


# -- the rest: a recorded walk replayed through the fix path -------------------------------


def gpx(points: list[tuple[float, float, str | None]]) -> str:
    """A GPX 1.1 track as phones' trackers write it."""
    rows = "".join(
        f'<trkpt lat="{lat}" lon="{lon}"><ele>12.5</ele>'
        + (f"<time>{at}</time>" if at else "")
        + "</trkpt>"
        for lat, lon, at in points
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>home</name><trkseg>{rows}</trkseg></trk></gpx>"
    )


def test_a_recorded_walk_is_replayed_through_the_fix_path(cast: Cast, tmp_path: Path) -> None:
    mira, noor, phone, walk = cast.walking()
    steps = [between(START, HOME, f) for f in (0.0, 0.1, 0.2, 0.3)]
    file = tmp_path / "walk.gpx"
    file.write_text(
        gpx(
            [
                (*steps[0], "2025-06-15T20:00:00Z"),
                (*steps[1], "2025-06-15T20:00:40Z"),
                (*steps[2], "2025-06-15T20:01:20Z"),
                (*steps[3], None),  # no time: at a walking pace
            ]
        )
    )
    points = read_gpx(file)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # real time would pass: the service's clock moves
        slept.append(seconds)
        cast.clock.advance(seconds=seconds)

    start = cast.clock.now_ms()
    done: list[int] = []
    counts = Replay(cast.client, phone, sleep).run(points, speed=2.0, progress=done.append)
    assert counts == {"accepted": 4}
    assert done == [1, 2, 3, 4]
    assert slept[:2] == [20.0, 20.0]  # 40 s apart as recorded, twice as fast
    track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
    assert [f["t"] - start for f in track[:3]] == [0, 20_000, 40_000]
    assert (track[-1]["lat"], track[-1]["lon"]) == steps[3]
    # A file that isn't GPX says so.
    (tmp_path / "not.gpx").write_text("<gpx")
    with pytest.raises(ReplayError, match="can't read"):
        read_gpx(tmp_path / "not.gpx")


# -- item 7: fields the native API would silently drop ---------------------------------------


def test_a_fix_with_another_apps_field_names_is_told_what_was_ignored(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    now = cast.clock.now_ms()
    owntracks_names = {"t": now, "lat": START[0], "lon": START[1], "acc": 8, "batt": 12, "vel": 4}
    [result] = cast.send(phone, owntracks_names)
    assert result["status"] == "accepted"
    assert "'acc' (did you mean accuracy?)" in result["warning"]
    assert "'batt' (did you mean battery?)" in result["warning"]
    assert "OwnTracks' vel is km/h" in result["warning"]
    [plain] = cast.send(phone, cast.fix(START, battery=40))
    assert "warning" not in plain


def test_a_time_in_seconds_is_refused_as_such(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    seconds = cast.clock.now_ms() // 1000
    [result] = cast.send(phone, {"t": seconds, "lat": START[0], "lon": START[1]})
    assert (result["status"], result["field"]) == ("refused", "t")
    assert "in seconds" in result["reason"]
    assert str(seconds * 1000) in result["reason"]


# -- the rest: a position Android says may be faked ------------------------------------------


def test_a_mock_location_is_kept_and_her_companions_are_told_once(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    # `ProtocolFormatter.kt` adds mock=true for a position from a mock provider (a faking app,
    # or an external GPS receiver: so it is kept, and said).
    assert cast.client.post(legacy_query(phone, t, START) + "&mock=true").status_code == 200
    cast.clock.advance(seconds=10)
    there = between(START, HOME, 0.05)
    assert cast.client.post(legacy_query(phone, t + 10, there) + "&mock=true").status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["lat"] == there[0]
    said = [e for e in cast.events(noor, walk) if e["kind"] == "phone_signal"]
    assert [(e["signal"], e["device"]) for e in said] == [("mock_location", "phone")]
    assert [e["kind"] for e in cast.events(mira, walk)].count("phone_signal") == 1


def test_another_position_at_the_time_of_one_kept_is_said_on_her_devices_page(
    cast: Cast,
) -> None:
    """The old iOS client stamps whole seconds: two positions within one second share a time.
    The first is kept; the second is not put on the map, and her devices page says why,
    where a position sent again (the same one) is simply taken as sent."""
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    assert form(cast, position_form(phone, t, START)).status_code == 200
    assert form(cast, position_form(phone, t, START)).status_code == 200  # sent again
    assert device(cast, mira)["last_refusal"] is None
    elsewhere = between(START, HOME, 0.01)
    assert form(cast, position_form(phone, t, elsewhere)).status_code == 200
    assert "same time" in device(cast, mira)["last_refusal"]
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert (seen["last_position"]["lat"], seen["last_position"]["lon"]) == START


def test_a_last_will_posted_over_http_does_not_say_her_phone_went_offline(cast: Cast) -> None:
    """Only the MQTT broker publishes a phone's last will (`lwt`): neither app posts one over
    HTTP, where a message proves the phone is online. One posted there is set aside, not put
    on the walk as "her phone is offline" for her companions."""
    mira, noor, phone, walk = cast.walking()
    will = {"_type": "lwt", "tst": cast.clock.now_ms() // 1000}
    assert owntracks(cast, phone, will).status_code == 200
    assert [e for e in cast.events(noor, walk) if e["kind"] == "phone_signal"] == []
    refused = device(cast, mira)["last_refusal"]
    assert "MQTT" in (refused or "")


# -- item 3, for the doors added here: nothing of where she is reaches the log ------------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The real service, a subprocess (tests/service.py)."""
    svc = Service(tmp_path / "data")
    yield svc
    svc.stop()


@pytest.mark.slow
def test_the_new_doors_log_no_position_or_token(service: Service) -> None:
    """Traccar Client 10's form and JSON upload, its heartbeat, and an SOS: the real service's
    output (its access log included) says nothing of where she was, nor the token; a refused
    request is logged by its door."""
    _as_mira, _as_noor, phone, _walk_id = prepare(service)
    url = service.url
    t = now_ms(url) // 1000
    where = between(START, HOME, 0.41)
    lat, lon = f"{where[0]:.6f}", f"{where[1]:.6f}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = f"id={phone}&lat={lat}&lon={lon}&timestamp={t}&accuracy=4.8&batt=87&charge=false"
    assert httpx2.post(f"{url}/api/traccar", content=body, headers=form).status_code == 200
    upload = [{"id": phone, "lat": float(lat), "lon": float(lon), "timestamp": t + 1}]
    assert httpx2.post(f"{url}/api/traccar", json=upload).status_code == 200
    beat = f"id={phone}&timestamp={t + 2}&batt=86&charge=false"
    assert httpx2.post(f"{url}/api/traccar", content=beat, headers=form).status_code == 200
    sos = f"id={phone}&lat={lat}&lon={lon}&timestamp={t + 3}&alarm=sos"
    assert httpx2.post(f"{url}/api/traccar", content=sos, headers=form).status_code == 200
    wrong = f"id=nobody&lat={lat}&lon={lon}&timestamp={t + 4}"
    assert httpx2.post(f"{url}/api/traccar", content=wrong, headers=form).status_code == 400
    service.stop()
    out = service.output()
    assert '"POST /api/traccar HTTP/1.1" 400' in out  # the access log is on
    for secret in (lat, lon, lat[:7], lon[:7], phone, phone[4:]):
        assert secret not in out


# -- the rest: the destination as a region on her phone --------------------------------------


def test_her_owntracks_is_given_the_destination_as_a_region_and_says_when_she_enters_it(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    moving = {
        "_type": "location",
        "tid": "MI",
        "lat": START[0],
        "lon": START[1],
        "tst": cast.clock.now_ms() // 1000,
        "acc": 9,
        "m": 2,
        "topic": "owntracks/mira/phone",
    }
    [given] = owntracks_post(cast, phone, moving).json()  # in Move mode: only the region
    assert given["action"] == "setWaypoints"
    [region] = given["waypoints"]["waypoints"]
    # No colon in its name: OwnTracks iOS would split it there and watch every destination
    # as one region, "Walk With Me".
    assert (region["_type"], region["desc"], region["rad"]) == (
        "waypoint",
        f"Walk With Me - home ({HOME[0]:.5f}, {HOME[1]:.5f})",
        40,
    )
    assert (region["lat"], region["lon"]) == HOME
    cast.clock.advance(seconds=10)
    moving["tst"] = cast.clock.now_ms() // 1000
    assert owntracks_post(cast, phone, moving).json() == []  # given once a walk

    # The app's transition for that region (as OwnTracks Android sends it over HTTP).
    cast.clock.advance(seconds=10)
    enter = {
        "_type": "transition",
        "tid": "MI",
        "acc": 12.5,
        "desc": region["desc"],
        "event": "enter",
        "lat": HOME[0],
        "lon": HOME[1],
        "tst": cast.clock.now_ms() // 1000,
        "wtst": region["tst"],
        "t": "c",
        "topic": "owntracks/mira/phone/event",
    }
    assert owntracks_post(cast, phone, enter).status_code == 200
    # Sent again (the answer was lost: Android puts it back at the head of its queue), and
    # an "enter" with nothing between: said once.
    assert owntracks_post(cast, phone, enter).status_code == 200
    cast.clock.advance(seconds=5)
    later = {**enter, "tst": cast.clock.now_ms() // 1000}
    assert owntracks_post(cast, phone, later).status_code == 200
    said = [e for e in cast.events(noor, walk) if e["kind"] == "phone_signal"]
    assert [e["signal"] for e in said] == ["entered_destination"]
    assert device(cast, mira)["last_refusal"] is None
    # She steps out and in again: both said.
    for event in ("leave", "enter"):
        cast.clock.advance(seconds=5)
        owntracks_post(cast, phone, {**enter, "event": event, "tst": cast.clock.now_ms() // 1000})
    said = [e for e in cast.events(noor, walk) if e["kind"] == "phone_signal"]
    assert [e["signal"] for e in said] == [
        "entered_destination",
        "left_destination",
        "entered_destination",
    ]
    # Another region of hers (work, say) is none of the walk's business.
    owntracks_post(cast, phone, {**enter, "desc": "work", "wtst": 1_600_000_000})
    assert "'transition'" in device(cast, mira)["last_refusal"]
    assert len([e for e in cast.events(noor, walk) if e["kind"] == "phone_signal"]) == 3

    # The next walk home gives the same region again (the same tst: updated, not added).
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/end", json={"pin": "2468"}, headers=mira.auth
    )
    assert ended.status_code == 200
    cast.start_walk(mira)
    cast.clock.advance(seconds=10)
    moving["tst"] = cast.clock.now_ms() // 1000
    [again] = owntracks_post(cast, phone, moving).json()
    assert again["waypoints"]["waypoints"][0]["tst"] == region["tst"]


# -- what an outside check of the real apps' requests found (session 22) ---------------------


def test_a_door_typed_with_a_slash_at_its_end_takes_the_fix_and_her_sos(cast: Cast) -> None:
    """A server URL typed as `https://host/api/traccar/` was answered with a redirect, which
    the old Android client counts as delivered (the fix and her SOS dropped from its queue)
    and 10.x as a failure (its queue stuck behind it). Each door takes it as it is."""
    mira, noor, phone, walk = cast.walking()
    t = cast.clock.now_ms() // 1000
    # Not following redirects: the old client takes a 3xx for a delivery, and drops the fix.
    first = cast.client.post(
        legacy_query(phone, t, START).replace("traccar?", "traccar/?"), follow_redirects=False
    )
    assert first.status_code == 200
    there = between(START, HOME, 0.1)
    cast.clock.advance(seconds=10)
    fixed = owntracks_message(cast, there)
    second = owntracks_post(cast, phone, fixed, door="/api/owntracks/")
    assert second.status_code == 200
    assert isinstance(second.json(), list)
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["t"] == fixed["tst"] * 1000
    cast.clock.advance(seconds=10)
    sos = legacy_query(phone, t + 20, there).replace("traccar?", "traccar/?") + "&alarm=sos"
    assert cast.client.post(sos, follow_redirects=False).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"


def owntracks_message(cast: Cast, where: tuple[float, float], **extra: Any) -> dict[str, Any]:
    """OwnTracks for Android's location (owntracks/android, MessageLocation.kt), moving."""
    return location(cast, where, **{"acc": 8, "batt": 64, "vel": 5, "cog": 170, **extra})


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        # OwnTracks for Android sends the battery's raw level, never scaled to 100
        # (support/DeviceMetricsProvider.kt): on a phone whose scale isn't 100, above it.
        ({"batt": 255}, "battery must be between 0 and 100"),
        ({"batt": -1}, "battery must be between 0 and 100"),
        ({"vel": -1, "cog": -1}, "speed must be between 0 and 1000 (m/s): left out; bearing"),
    ],
)
def test_a_reading_that_cant_be_is_left_out_and_her_position_kept(
    cast: Cast, extra: dict[str, Any], said: str
) -> None:
    """The app is answered 200 whatever we make of its message and never sends it again: a
    position refused for its battery would be where she was, lost for a reading nobody needs
    to find her."""
    mira, noor, phone, walk = cast.walking()
    sent = owntracks_message(cast, START, **extra)
    assert owntracks_post(cast, phone, sent).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    position = seen["last_position"]
    assert (position["t"], position["lat"], position["lon"]) == (
        sent["tst"] * 1000,
        START[0],
        START[1],
    )
    left_out = {"batt": "battery", "vel": "speed", "cog": "bearing"}
    assert all(position[left_out[key]] is None for key in extra)
    refusal = device(cast, mira)["last_refusal"]
    assert said in refusal
    assert refusal.endswith("; the position was kept")


def test_a_position_vaguer_than_any_bound_is_kept_as_vague_never_as_exact(cast: Cast) -> None:
    """Its accuracy says whether the position can be trusted at all: one over 100 km, left
    out, read as exact and put her "at the door" from 150 km away. It is kept as vague as the
    bound, out of the rules and the map; a negative one is refused (no app sends one:
    OwnTracks for iOS leaves `acc` out when it is negative, OwnTracking.m `waypointAsJSON`)."""
    mira, noor, phone, walk = cast.walking()
    near = owntracks_message(cast, START)
    assert owntracks_post(cast, phone, near).status_code == 200
    cast.clock.advance(seconds=10)
    vague = owntracks_message(cast, HOME, acc=150_000)
    assert owntracks_post(cast, phone, vague).status_code == 200
    cast.clock.advance(seconds=10)
    assert (
        owntracks_post(cast, phone, owntracks_message(cast, HOME, acc=150_000)).status_code == 200
    )
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "active"  # not "at the door"
    assert seen["last_position"]["t"] == near["tst"] * 1000
    assert "accuracy over 100000 m" in device(cast, mira)["last_refusal"]
    cast.clock.advance(seconds=10)
    invalid = owntracks_message(cast, HOME, acc=-1)
    assert owntracks_post(cast, phone, invalid).status_code == 200
    assert device(cast, mira)["last_refusal"] == "accuracy must be between 0 and 100000 (metres)"
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["t"] == near["tst"] * 1000


def test_the_old_ios_clients_unknown_battery_is_no_empty_battery(cast: Cast) -> None:
    """traccar/traccar-client-ios, PositionProvider.swift: with the battery's state unknown it
    sends `batt=0&charge=true`. Her companions are not told her battery is empty, nor that
    her phone is charging."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    t = cast.clock.now_ms() // 1000
    where = f"lat={START[0]:.6f}&lon={START[1]:.6f}&speed=0.0&bearing=0.0&altitude=14"
    on_battery = f"/api/traccar?id={phone}&timestamp={t - 30}&{where}&accuracy=65&batt=80"
    assert cast.client.post(on_battery).status_code == 200
    query = f"/api/traccar?id={phone}&timestamp={t}&{where}&accuracy=65&batt=0&charge=true"
    assert cast.client.post(query).status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["t"] == t * 1000
    assert seen["last_position"]["battery"] == 80  # as it last knew
    assert [e for e in cast.events(noor, walk) if e["kind"] == "low_battery"] == []
    assert cast.told(noor, "low_battery") == []
    assert [e.get("signal") for e in cast.events(noor, walk) if e["kind"] == "phone_signal"] == []


def test_a_plain_duplicate_in_a_message_does_not_hide_why_another_fix_was_refused() -> None:
    """A batch (Traccar Client 10's JSON) re-sending a fix before one refused: her devices page
    still says why the other was refused (a plain duplicate says nothing, and hid it)."""
    from walkwithme.usecases.fixes import DUPLICATE, Outcome
    from walkwithme.usecases.phones import _refused

    ahead = Outcome("refused", "its time is ahead of ours", "t")
    assert _refused([DUPLICATE, ahead]) == "its time is ahead of ours"
    assert _refused([DUPLICATE]) is None
