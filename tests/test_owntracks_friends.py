"""Friends on a companion's OwnTracks map (HTTP mode): Noor follows Mira's walk with
OwnTracks on her own phone. The answers to Noor's app carry Mira's card and last location
while the walk is live, and nothing of where Mira is once it is over; Sam, a stranger, gets
nothing at all.

What the apps do with an HTTP answer, from their source (ingest/owntracks.py cites it): a
`card` and a `location` keyed by their `tid` (`owntracks/http/<tid>`); no message removes a
friend over HTTP, so after the walk her card is renamed "Mira (walk over)"."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.people import HOME, PIN, START, Cast, Member, between
from tests.test_phones import basic
from walkwithme.ingest.owntracks_crypto import open_sealed, seal
from walkwithme.usecases.friends import WALK_OVER_MS, tracker_id

NOOR_AT = (60.16952, 24.93545)  # Noor waits by Kamppi, following on her phone
DURESS = "1357"


def android_location(cast: Cast, where: tuple[float, float]) -> dict[str, Any]:
    """Noor's OwnTracks for Android in HTTP mode, as it posts a location: the fields of
    owntracks/android model/messages/MessageLocation.kt, with `topic` made visible by
    net/http/HttpMessageProcessorEndpoint.kt (`setTopicVisible`)."""
    tst = cast.clock.now_ms() // 1000
    return {
        "_type": "location",
        "_id": "a1b2c3d4",
        "acc": 12,
        "alt": 21,
        "batt": 64,
        "bs": 1,
        "conn": "m",
        "created_at": tst,
        "lat": where[0],
        "lon": where[1],
        "m": 1,
        "t": "p",
        "tid": "no",
        "topic": "owntracks/noor/phone",
        "tst": tst,
        "vac": 3,
    }


def posts(cast: Cast, token: str, message: dict[str, Any]) -> Any:
    """What her app gets back for one message: Android's `Content-Type`, Basic auth (an array,
    or to an app that encrypts, one `encrypted` object)."""
    answer = cast.client.post(
        "/api/owntracks",
        content=orjson.dumps(message),
        headers={**basic(token, "noor"), "Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 200, answer.text
    found: Any = answer.json()
    return found


def friends(answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answer's friends (not the commands to the app itself)."""
    return [item for item in answer if item["_type"] in ("card", "location")]


def mira_walks_with_noor_on_owntracks(cast: Cast) -> tuple[Member, Member, str, str, int]:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    mira_phone, noor_phone = cast.device(mira), cast.device(noor)
    walk = cast.start_walk(mira, duress_pin=DURESS)
    cast.clock.advance(seconds=30)
    cast.send(mira_phone, cast.fix(between(START, HOME, 0.2), battery=58, speed=1.5, bearing=170))
    return mira, noor, mira_phone, noor_phone, int(walk["id"])


def test_a_companion_on_owntracks_sees_her_walker_during_the_walk(cast: Cast) -> None:
    mira, noor, _mira_phone, noor_phone, walk_id = mira_walks_with_noor_on_owntracks(cast)
    there = between(START, HOME, 0.2)
    fix_tst = cast.clock.now_ms() // 1000
    cast.clock.advance(seconds=5)
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT))) == [
        {"_type": "card", "tid": "MI", "topic": "owntracks/http/MI", "name": "Mira"},
        {
            "_type": "location",
            "tid": "MI",
            "topic": "owntracks/http/MI",
            "tst": fix_tst,  # when she was there: the apps skip a location no newer than theirs
            "lat": there[0],
            "lon": there[1],
            "acc": 8,
            "vel": 5,  # km/h, as the apps read it (1.5 m/s)
            "cog": 170,
            "batt": 58,
        },
    ]
    # Noor's own position is outside any walk of hers: not kept.
    assert cast.client.get("/api/devices", headers=noor.auth).json()[0]["app"] == "owntracks"
    # Mira sees that Noor looked, from an app.
    seen = cast.client.get(f"/api/walks/{walk_id}/looks", headers=mira.auth).json()
    assert [(x["via"], x.get("who")) for x in seen] == [("api", "Noor")]


def test_a_stranger_on_owntracks_gets_nothing_of_her(cast: Cast) -> None:
    _mira, _noor, _mira_phone, _noor_phone, _walk = mira_walks_with_noor_on_owntracks(cast)
    sam = cast.person("Sam")
    sam_phone = cast.device(sam)
    assert posts(cast, sam_phone, android_location(cast, NOOR_AT)) == []


def test_her_own_owntracks_is_not_shown_herself(cast: Cast) -> None:
    _mira, _noor, mira_phone, _noor_phone, _walk = mira_walks_with_noor_on_owntracks(cast)
    mine = {**android_location(cast, between(START, HOME, 0.25)), "m": 2, "tid": "mi"}
    assert friends(posts(cast, mira_phone, mine)) == []


def test_after_the_walk_her_card_says_it_is_over_and_no_location_comes(cast: Cast) -> None:
    mira, _noor, mira_phone, noor_phone, walk_id = mira_walks_with_noor_on_owntracks(cast)
    cast.clock.advance(minutes=10)
    cast.send(mira_phone, cast.fix(HOME))
    done = cast.client.post(f"/api/walks/{walk_id}/inside", json={"pin": PIN}, headers=mira.auth)
    assert done.status_code == 200, done.text
    cast.clock.advance(seconds=30)
    # Nothing removes a friend over HTTP: the stale one says what it is, and where she is
    # now never reaches his map.
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT))) == [
        {"_type": "card", "tid": "MI", "topic": "owntracks/http/MI", "name": "Mira (walk over)"}
    ]
    cast.clock.advance(seconds=WALK_OVER_MS // 1000 + 1)
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT))) == []


def test_a_companion_whose_contact_ended_gets_nothing_of_her(cast: Cast) -> None:
    mira, noor, _mira_phone, noor_phone, _walk = mira_walks_with_noor_on_owntracks(cast)
    contact = next(c for c in cast.client.get("/api/contacts", headers=noor.auth).json())
    ended = cast.client.delete(f"/api/contacts/{contact['id']}", headers=noor.auth)
    assert ended.status_code == 204, ended.text
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT))) == []
    assert mira.id  # she walks on, seen by nobody else


def test_after_her_duress_pin_her_companion_still_sees_where_she_really_is(cast: Cast) -> None:
    mira, _noor, mira_phone, noor_phone, walk_id = mira_walks_with_noor_on_owntracks(cast)
    forced = cast.client.post(
        f"/api/walks/{walk_id}/end", json={"pin": DURESS, "note": "Got a lift"}, headers=mira.auth
    )
    assert forced.status_code == 200, forced.text
    cast.clock.advance(minutes=2)
    taken_to = between(START, HOME, 0.6)
    cast.send(mira_phone, cast.fix(taken_to))
    found = friends(posts(cast, noor_phone, android_location(cast, NOOR_AT)))
    assert found[0]["name"] == "Mira"  # not "walk over": the walk is in its silent alarm
    assert (found[1]["lat"], found[1]["lon"]) == pytest.approx(taken_to)


def test_an_encrypted_companion_gets_her_sealed(cast: Cast) -> None:
    """Noor's app encrypts: its answers, friends included, come back sealed with its key."""
    _mira, noor, _mira_phone, noor_phone, _walk = mira_walks_with_noor_on_owntracks(cast)
    device_id = cast.client.get("/api/devices", headers=noor.auth).json()[0]["id"]
    key = cast.client.post(f"/api/devices/{device_id}/owntracks-key", headers=noor.auth)
    assert key.status_code in (200, 201), key.text
    secret = key.json()["owntracks_key"]
    sealed = seal(secret, orjson.dumps(android_location(cast, NOOR_AT)))
    answer = posts(cast, noor_phone, sealed)
    assert answer["_type"] == "encrypted"  # the whole array, sealed as one
    opened = orjson.loads(open_sealed(secret, answer["data"]))
    assert [(item["_type"], item["tid"]) for item in friends(opened)] == [
        ("card", "MI"),
        ("location", "MI"),
    ]


def test_tracker_ids_are_initials_and_unique_in_one_answer() -> None:
    assert tracker_id("Mira Virtanen") == "MV"
    assert tracker_id("Mira") == "MI"
    assert tracker_id("Mira", {"MI"}) == "M1"
    assert tracker_id("") == "WW"


def test_each_tid_on_her_companions_map_always_names_the_same_walker(cast: Cast) -> None:
    """The apps file a friend under `owntracks/http/<tid>` and skip a location no newer than
    the one that contact has: were a tid given to another walker, Noor's map would show one
    walker's name at the other's position. Max Valli and Mira Virtanen are both "MV"."""
    noor = cast.person("Noor")
    max_, mira = cast.person("Max Valli"), cast.person("Mira Virtanen")
    cast.link(max_, noor)  # Max asked Noor first
    cast.link(mira, noor)
    noor_phone, mira_phone, max_phone = cast.device(noor), cast.device(mira), cast.device(max_)
    bound: dict[str, str] = {}  # tid -> the name it was first given to

    def noor_sees() -> list[tuple[str, str]]:
        cast.clock.advance(seconds=10)
        cards = [
            (item["tid"], item["name"].removesuffix(" (walk over)"))
            for item in friends(posts(cast, noor_phone, android_location(cast, NOOR_AT)))
            if item["_type"] == "card"
        ]
        for tid, name in cards:
            assert bound.setdefault(tid, name) == name, f"{tid} was {bound[tid]}, now {name}"
        return cards

    mira_walk = cast.start_walk(mira)
    cast.send(mira_phone, cast.fix(between(START, HOME, 0.1)))
    assert [name for _tid, name in noor_sees()] == ["Mira Virtanen"]
    max_walk = cast.start_walk(max_)
    cast.send(max_phone, cast.fix(between(START, HOME, 0.3)))
    assert sorted(name for _tid, name in noor_sees()) == ["Max Valli", "Mira Virtanen"]
    done = cast.client.post(
        f"/api/walks/{mira_walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert done.status_code == 200, done.text
    assert len(noor_sees()) == 2
    cast.client.post(f"/api/walks/{max_walk['id']}/inside", json={"pin": PIN}, headers=max_.auth)
    mira_again = cast.start_walk(mira)
    cast.send(mira_phone, cast.fix(between(START, HOME, 0.2)))
    assert len(noor_sees()) == 2
    assert mira_again["id"] != mira_walk["id"]
    assert len(set(bound)) == 2  # one tid each, never swapped


def test_a_traccar_clients_token_posted_to_the_owntracks_door_gets_nothing_of_her(
    cast: Cast,
) -> None:
    """Noor follows with Traccar Client, whose token travels in the URL of every request (a
    proxy's log, a history). Whoever reads it there and posts it to the OwnTracks door, in
    any message, is answered with nothing of Mira: only a device that began as OwnTracks is
    given where his walkers are."""
    _mira, _noor, _mira_phone, noor_phone, _walk = mira_walks_with_noor_on_owntracks(cast)
    t = cast.clock.now_ms() // 1000
    sent = cast.client.post(
        f"/api/traccar?id={noor_phone}&timestamp={t}&lat={NOOR_AT[0]}&lon={NOOR_AT[1]}"
    )
    assert sent.status_code == 200
    cast.clock.advance(seconds=5)
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT))) == []
    assert friends(posts(cast, noor_phone, {"_type": "transition"})) == []


def test_with_an_encryption_key_her_position_goes_only_in_a_sealed_answer(cast: Cast) -> None:
    """Noor's OwnTracks encrypts; his token alone (it is written in the app's settings) posting
    in clear is answered with nothing of Mira."""
    _mira, noor, _mira_phone, noor_phone, _walk = mira_walks_with_noor_on_owntracks(cast)
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT)))  # before the key
    device_id = cast.client.get("/api/devices", headers=noor.auth).json()[0]["id"]
    key = cast.client.post(f"/api/devices/{device_id}/owntracks-key", headers=noor.auth)
    assert key.status_code in (200, 201), key.text
    cast.clock.advance(seconds=5)
    assert friends(posts(cast, noor_phone, android_location(cast, NOOR_AT))) == []
