"""Charging: her phone's app says whether the phone is on its charger, and when that changes
during her walk, the timeline says so once, in words, for her and Noor; a low-battery notice
from a phone on its charger says it is charging.

The apps' own words for it, from their source:
- OwnTracks `bs` (0 unknown, 1 unplugged, 2 charging, 3 full): owntracks/android
  model/BatteryStatus.kt and support/DeviceMetricsProvider.kt; owntracks/ios
  OwnTracksAppDelegate.m (UIDeviceBatteryState's number).
- The old Traccar Clients add `charge=true` only while charging (or full) and nothing
  otherwise: traccar/traccar-client-android ProtocolFormatter.kt and PositionProvider.kt,
  traccar/traccar-client-ios ProtocolFormatter.swift.
- Traccar Client 10.x: `charge=true|false` in its form when it knows (traccar/traccar-client-sdk
  core/src/commonMain/kotlin/org/traccar/client/HttpUploader.kt).
- Traccar Client 9.x: `location.battery.is_charging` (its location plugin's JSON).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from tests.people import HOME, START, Cast, Member, between
from tests.test_pages import page
from tests.test_phones import location, owntracks
from walkwithme.notify.messages import render
from walkwithme.web import walker_words, words


def signals(cast: Cast, who: Member, walk: dict[str, Any]) -> list[str]:
    return [e["signal"] for e in cast.events(who, walk) if e["kind"] == "phone_signal"]


def legacy_android(cast: Cast, phone: str, where: tuple[float, float], **extra: str) -> None:
    """The old Android client: every parameter in the query string, `charge=true` only while
    charging (ProtocolFormatter.kt `formatRequest`)."""
    query = {
        "id": phone,
        "timestamp": str(cast.clock.now_ms() // 1000),
        "lat": str(where[0]),
        "lon": str(where[1]),
        "speed": "2.5",
        "bearing": "170.0",
        "altitude": "12.0",
        "accuracy": "6.0",
        "batt": "48.0",
        **extra,
    }
    assert cast.client.post("/api/traccar", params=query).status_code == 200


def client_10(cast: Cast, phone: str, where: tuple[float, float], charge: str, batt: int) -> None:
    """Traccar Client 10.x's form (HttpUploader.kt, `submitForm`)."""
    t = cast.clock.now_ms() // 1000
    form = (
        f"id={phone}&lat={where[0]}&lon={where[1]}&timestamp={t}&accuracy=4.8&altitude=21.0"
        f"&speed=2.72&bearing=170.0&batt={batt}&charge={charge}"
    )
    answer = cast.client.post(
        "/api/traccar",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200


def test_owntracks_charging_starts_and_stops_on_the_timeline_once_each(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    steps = [(0.1, 1), (0.2, 2), (0.3, 2), (0.4, 3), (0.5, 0), (0.6, 1), (0.7, 1)]
    for fraction, bs in steps:
        cast.clock.advance(seconds=20)
        answer = owntracks(cast, phone, location(cast, between(START, HOME, fraction), bs=bs))
        assert answer.status_code == 200
    # Unplugged at first (how the phone was: nothing to say), then on the charger (charging,
    # then full: still on it), unknown (nothing), then off it.
    assert signals(cast, noor, walk) == ["charging", "not_charging"]
    assert signals(cast, mira, walk) == ["charging", "not_charging"]
    seen = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert seen.count("Mira&#39;s phone (phone) is charging") == 1
    assert seen.count("Mira&#39;s phone (phone) is no longer charging") == 1
    said = [words.event_sentence(e, "Mira") for e in cast.events(noor, walk)]
    assert "Mira's phone (phone) is charging" in said
    hers = [walker_words.event_sentence(e) for e in cast.events(mira, walk)]
    assert "Your phone (phone) is no longer charging" in hers


def test_the_old_traccar_client_says_charging_by_its_presence(cast: Cast) -> None:
    _mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=20)
    legacy_android(cast, phone, between(START, HOME, 0.1))
    cast.clock.advance(seconds=20)
    legacy_android(cast, phone, between(START, HOME, 0.2), charge="true")
    cast.clock.advance(seconds=20)
    legacy_android(cast, phone, between(START, HOME, 0.3), charge="true")
    cast.clock.advance(seconds=20)
    legacy_android(cast, phone, between(START, HOME, 0.4))  # no `charge`: unplugged
    assert signals(cast, noor, walk) == ["charging", "not_charging"]


def test_traccar_9x_says_it_in_its_battery(cast: Cast) -> None:
    _mira, noor, phone, walk = cast.walking()
    for fraction, charging in ((0.1, False), (0.2, True)):
        cast.clock.advance(seconds=20)
        where = between(START, HOME, fraction)
        body = {
            "location": {
                "timestamp": _iso(cast.clock.now_ms()),
                "coords": {"latitude": where[0], "longitude": where[1], "accuracy": 5},
                "is_moving": True,
                "battery": {"level": 0.5, "is_charging": charging},
                "extras": {},
            },
            "device_id": phone,
        }
        answer = cast.client.post(
            "/api/traccar", content=orjson.dumps(body), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200
    assert signals(cast, noor, walk) == ["charging"]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def test_a_low_battery_notice_from_a_phone_on_its_charger_says_it_is_charging(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.clock.advance(seconds=20)
    client_10(cast, phone, between(START, HOME, 0.1), "false", 40)
    cast.clock.advance(seconds=20)
    client_10(cast, phone, between(START, HOME, 0.2), "true", 12)  # plugged in, at 12%
    low = [e for e in cast.events(noor, walk) if e["kind"] == "low_battery"]
    assert [e.get("charging") for e in low] == [True]
    assert words.event_sentence(low[0], "Mira") == "Mira's battery is low, but charging"
    told = cast.told(noor, "low_battery")
    assert [t.get("charging") for t in told] == [True]
    assert render(told[0])[0] == "Mira's phone battery is low (12%). It is charging."
    assert signals(cast, mira, walk) == ["charging"]


def test_a_low_battery_notice_from_a_phone_on_its_battery_says_nothing_of_charging(
    cast: Cast,
) -> None:
    _mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=20)
    client_10(cast, phone, between(START, HOME, 0.1), "false", 12)
    low = [e for e in cast.events(noor, walk) if e["kind"] == "low_battery"]
    assert words.event_sentence(low[0], "Mira") == "Mira's battery is low"
    assert signals(cast, noor, walk) == []


def test_charging_outside_a_walk_is_not_kept(cast: Cast) -> None:
    mira = cast.person("Mira")
    phone = cast.device(mira)
    legacy_android(cast, phone, START, charge="true")
    kept = cast.services.db.read_sync(
        lambda c: c.exec_driver_sql("SELECT charging, charging_walk_id FROM devices").all()
    )
    assert [tuple(r) for r in kept] == [(None, None)]


def test_10x_json_upload_says_it_as_a_boolean(cast: Cast) -> None:
    """10.x set to upload JSON: `"charge": true` (HttpUploader.kt, `uploadJson`)."""
    _mira, noor, phone, walk = cast.walking()
    for fraction, charge in ((0.1, False), (0.2, True)):
        cast.clock.advance(seconds=20)
        where = between(START, HOME, fraction)
        item = {
            "id": phone,
            "lat": where[0],
            "lon": where[1],
            "timestamp": cast.clock.now_ms() // 1000,
            "accuracy": 4.8,
            "batt": 60,
            "charge": charge,
        }
        answer = cast.client.post(
            "/api/traccar",
            content=orjson.dumps([item]),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 200
    assert signals(cast, noor, walk) == ["charging"]


def test_after_her_duress_pin_only_her_companions_hear_of_it(cast: Cast) -> None:
    """Her devices were shown the walk as over; the people looking for her still hear what
    her phone says of itself."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin="1357")
    cast.clock.advance(seconds=20)
    client_10(cast, phone, between(START, HOME, 0.1), "false", 60)
    forced = cast.client.post(
        f"/api/walks/{walk['id']}/end", json={"pin": "1357"}, headers=mira.auth
    )
    assert forced.status_code == 200, forced.text
    cast.clock.advance(seconds=20)
    client_10(cast, phone, between(START, HOME, 0.2), "true", 60)
    assert signals(cast, noor, walk) == ["charging"]
    assert signals(cast, mira, walk) == []
