"""OwnTracks' Tours (iOS): from the app, Mira makes a link to her walk for the hours she
chooses, lists her tours and ends one. Each request is built as the app builds it
(owntracks/ios, OwnTracks/OwnTracks/Tours.m: `request`s posted like locations, with the
`topic` Connection.m adds in HTTP mode; times UTC, `2022-08-01T05:35:58`, no zone)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from tests.people import PIN, START, Cast, Member
from tests.test_phone_apps import device, form, opened, position_form, sealed
from tests.test_walker_pages import page, text_of
from walkwithme.usecases.fixes import record_fixes

HOUR_S = 3600


def app_time(ms: int) -> str:
    """A time as Tours.m writes it: ISO 8601 without its time zone, in UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def post(cast: Cast, phone: str, message: dict[str, Any]) -> Any:
    answer = cast.client.post(
        "/api/owntracks",
        content=orjson.dumps(message),
        headers={
            "Authorization": "Basic " + base64.b64encode(f"mira:{phone}".encode()).decode(),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.text  # a 4xx would make iOS drop it
    return answer.json()  # an array, or to an app that encrypts, one `encrypted` object


def ask_tour(cast: Cast, phone: str, label: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    request = {"label": label, "from": app_time(start_ms), "to": app_time(end_ms)}
    message = {
        "_type": "request",
        "request": "tour",
        "tour": request,
        "topic": "owntracks/mira/phone/request",
    }
    return response(post(cast, phone, message), "tour")


def list_tours(cast: Cast, phone: str) -> dict[str, Any]:
    message = {"_type": "request", "request": "tours", "topic": "owntracks/mira/phone/request"}
    return response(post(cast, phone, message), "tours")


def response(items: list[dict[str, Any]], request: str) -> dict[str, Any]:
    found = [
        item
        for item in items
        if item.get("_type") == "cmd"
        and item.get("action") == "response"
        and item.get("request") == request
    ]
    assert len(found) == 1, items
    return found[0]


def shows(cast: Cast, url: str) -> int:
    """What the link shows anyone who has it: 200 and the walk, or 404."""
    path = url.removeprefix(str(cast.client.base_url))
    assert path.startswith("/api/share/shr_")
    return cast.client.get(path).status_code


def walking(cast: Cast) -> tuple[Member, str, dict[str, Any]]:
    mira, _noor, phone, walk = cast.walking()
    post(cast, phone, {"_type": "location", "lat": START[0], "lon": START[1], "tst": now_s(cast)})
    return mira, phone, walk


def now_s(cast: Cast) -> int:
    return cast.clock.now_ms() // 1000


def test_a_tour_made_in_the_app_shows_her_walk_until_the_time_she_chose(cast: Cast) -> None:
    _mira, phone, _walk = walking(cast)
    now = cast.clock.now_ms()
    answer = ask_tour(cast, phone, "Home from the station", now - 5_000, now + 2 * HOUR_S * 1000)

    assert answer["status"] == 200
    tour = answer["tour"]
    assert tour["label"] == "Home from the station"
    assert tour["to"] == app_time(now + 2 * HOUR_S * 1000)
    assert uuid.UUID(tour["uuid"])  # the app keeps it, to end the tour
    assert tour["url"].startswith(f"{cast.client.base_url}/api/share/shr_")
    shown = cast.client.get(tour["url"].removeprefix(str(cast.client.base_url))).json()
    assert shown["last_position"]["lat"] == START[0]  # where she is, to whoever she sends it

    cast.clock.advance(seconds=2 * HOUR_S - 60)
    assert shows(cast, tour["url"]) == 200
    cast.clock.advance(seconds=61)
    assert shows(cast, tour["url"]) == 404  # the time she chose is over


def test_a_tour_made_is_said_on_her_walks_timeline_to_her_and_her_companions(
    cast: Cast,
) -> None:
    """A phone's token posts fixes; a tour is the one thing it can make that shows her walk
    to someone: she and her companions see that one was made (a token that leaked shows
    there, and she takes the link back from her walk page)."""
    mira, noor, phone, walk = cast.walking()
    now = cast.clock.now_ms()
    assert ask_tour(cast, phone, "Home", now, now + HOUR_S * 1000)["status"] == 200
    for who in (mira, noor):
        events = cast.client.get(f"/api/walks/{walk['id']}/events", headers=who.auth).json()
        said = [e for e in events if e["kind"] == "phone_signal"]
        assert [(e["signal"], e["device"]) for e in said] == [("tour_made", "phone")], events
    shares = cast.client.get(f"/api/walks/{walk['id']}/shares", headers=mira.auth).json()
    assert len(shares) == 1  # and she can take it back from there
    # In words on their pages.
    hers = text_of(page(cast.client, f"/walks/{walk['id']}", mira).text)
    assert "Your phone (phone) made a share link of this walk (an OwnTracks tour)" in hers
    assert "take it back below if it wasn't you" in hers
    his = text_of(page(cast.client, f"/walks/{walk['id']}", noor).text)
    assert "Mira's phone (phone) made a share link of this walk (an OwnTracks tour)" in his


def test_her_tours_are_listed_and_one_ended_from_the_app(cast: Cast) -> None:
    _mira, phone, _walk = walking(cast)
    now = cast.clock.now_ms()
    first = ask_tour(cast, phone, "To Noor's", now, now + HOUR_S * 1000)["tour"]
    second = ask_tour(cast, phone, "Late bus", now, now + 3 * HOUR_S * 1000)["tour"]

    listed = list_tours(cast, phone)
    assert listed["ntours"] == 2
    assert [(t["label"], t["uuid"], t["to"]) for t in listed["tours"]] == [
        ("To Noor's", first["uuid"], first["to"]),
        ("Late bus", second["uuid"], second["to"]),
    ]
    # Every tour has what the app must read (a missing one makes it fail), and no address:
    # only the link's hash is kept.
    assert all(t["from"] == app_time(now) and "url" not in t for t in listed["tours"])

    ended = post(cast, phone, {"_type": "request", "request": "untour", "uuid": first["uuid"]})
    assert [item for item in ended if item.get("action") == "response"] == []  # none expected
    assert shows(cast, first["url"]) == 404  # at once
    assert shows(cast, second["url"]) == 200
    assert [t["uuid"] for t in list_tours(cast, phone)["tours"]] == [second["uuid"]]


def test_nobody_else_ends_her_tour(cast: Cast) -> None:
    _mira, phone, _walk = walking(cast)
    now = cast.clock.now_ms()
    tour = ask_tour(cast, phone, "Home", now, now + HOUR_S * 1000)["tour"]
    otto = cast.person("Otto")
    his_phone = cast.device(otto)
    post(cast, his_phone, {"_type": "request", "request": "untour", "uuid": tour["uuid"]})
    assert shows(cast, tour["url"]) == 200
    assert list_tours(cast, his_phone)["tours"] == []  # and he sees none of hers


def test_a_tour_is_made_only_for_a_walk_going_on_and_from_now(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    now = cast.clock.now_ms()
    answer = ask_tour(cast, phone, "Home", now, now + HOUR_S * 1000)
    assert answer["status"] != 200
    assert "tour" not in answer
    assert "start the walk first" in device(cast, mira)["last_refusal"]

    cast.start_walk(mira)
    later = ask_tour(cast, phone, "Tomorrow", now + HOUR_S * 1000, now + 2 * HOUR_S * 1000)
    assert later["status"] != 200
    assert "tour" not in later
    assert "starts later" in device(cast, mira)["last_refusal"]
    assert list_tours(cast, phone)["tours"] == []  # no link was made for either

    # Three days asked: a link lasts 48 hours at most, and the answer says until when.
    long = ask_tour(cast, phone, "Away", now, now + 72 * HOUR_S * 1000)
    assert long["status"] == 200
    assert long["tour"]["to"] == app_time(now + 48 * HOUR_S * 1000)


def test_a_tour_request_it_cannot_read_is_answered_and_kept_as_a_refusal(cast: Cast) -> None:
    mira, phone, _walk = walking(cast)
    answer = response(
        post(cast, phone, {"_type": "request", "request": "tour", "tour": {"label": "Home"}}),
        "tour",
    )
    assert answer["status"] == 400
    assert "from and to" in device(cast, mira)["last_refusal"]


def test_an_encrypted_phone_gets_its_tour_encrypted(cast: Cast) -> None:
    mira, _noor, _phone, _walk = cast.walking()
    made = cast.client.post(
        "/api/devices", json={"name": "phone", "owntracks_encryption": True}, headers=mira.auth
    ).json()
    phone, key = made["token"], made["owntracks_key"]
    now = cast.clock.now_ms()
    request = {
        "_type": "request",
        "request": "tour",
        "tour": {"label": "Home", "from": app_time(now), "to": app_time(now + HOUR_S * 1000)},
    }
    items = opened(key, post(cast, phone, sealed(key, request)))
    assert response(items, "tour")["status"] == 200


def test_odd_tour_requests_are_answered_never_failed(cast: Cast) -> None:
    """Whatever the app (or anyone with its token) sends, the phone gets a 200 (a 5xx would
    hold every later message of its queue back), and no link is made of what makes no sense."""
    mira, phone, _walk = walking(cast)
    now = cast.clock.now_ms()
    for tour in (
        {"label": "Home", "from": "0001-01-01T00:30:00+01:00", "to": app_time(now + 60_000)},
        {"label": "Home", "from": app_time(now), "to": "99999-01-01T00:00:00"},
        {"label": "Home", "from": app_time(now), "to": 1_700_000_000},
        {"label": "\u0000\u0007", "from": app_time(now), "to": app_time(now + 60_000)},
    ):
        message = {"_type": "request", "request": "tour", "tour": tour}
        assert response(post(cast, phone, message), "tour")["status"] == 400
    for uuid_given in ("\u0000", "not-a-uuid", 17, None):
        post(cast, phone, {"_type": "request", "request": "untour", "uuid": uuid_given})
        assert "needs its uuid" in device(cast, mira)["last_refusal"]
    assert list_tours(cast, phone)["tours"] == []

    # A name with a control character in it keeps the rest of it.
    named = ask_tour(cast, phone, "Home\u0000 late", now, now + 60_000)
    assert named["tour"]["label"] == "Home late"


def test_a_tour_over_leaves_her_list(cast: Cast) -> None:
    _mira, phone, _walk = walking(cast)
    now = cast.clock.now_ms()
    ask_tour(cast, phone, "Short", now, now + 600_000)
    kept = ask_tour(cast, phone, "Long", now, now + 2 * HOUR_S * 1000)["tour"]
    cast.clock.advance(seconds=601)
    assert [t["uuid"] for t in list_tours(cast, phone)["tours"]] == [kept["uuid"]]


def test_a_tour_ends_with_her_walk(cast: Cast) -> None:
    """Home before the time she chose: the link shows nothing more (never her door for
    hours), and the tour leaves her list."""
    mira, phone, walk = walking(cast)
    now = cast.clock.now_ms()
    tour = ask_tour(cast, phone, "Home", now, now + 2 * HOUR_S * 1000)["tour"]
    cast.clock.advance(seconds=600)
    assert shows(cast, tour["url"]) == 200
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text
    assert shows(cast, tour["url"]) == 404
    assert list_tours(cast, phone)["tours"] == []


def test_her_token_alone_gets_neither_her_destination_nor_a_link_to_her_walk(cast: Cast) -> None:
    """Someone who read her phone's token (a log, a screenshot) but not its encryption key,
    or the token of a Traccar Client or of the API, posts to the OwnTracks door as her app
    would: her position is taken (a phone without its key yet must not fall silent), but no
    answer says where she is going or makes a link to her walk. Her own app, sealing with
    the key, gets both."""
    mira, _noor, _phone, walk = cast.walking()
    made = cast.client.post(
        "/api/devices", json={"name": "keyed", "owntracks_encryption": True}, headers=mira.auth
    ).json()
    keyed, key = made["token"], made["owntracks_key"]
    traccar = cast.device(mira, "traccar")
    now = cast.clock.now_ms()
    assert form(cast, position_form(traccar, now // 1000, START)).status_code == 200
    # A token that posted to the service's own door first (`walkwithme replay` takes one on
    # its command line): no OwnTracks either.
    api = cast.device(mira, "api")
    assert cast.statuses(api, cast.fix(START)) == ["accepted"]
    request = {
        "_type": "request",
        "request": "tour",
        "tour": {"label": "Home", "from": app_time(now), "to": app_time(now + HOUR_S * 1000)},
    }
    location = {"_type": "location", "lat": START[0], "lon": START[1], "tst": now // 1000}

    not_owntracks = "did not begin as OwnTracks"
    for token, why in ((keyed, "asked in clear"), (traccar, not_owntracks), (api, not_owntracks)):
        answered = post(cast, token, location) + post(cast, token, request)
        assert [i for i in answered if i.get("action") in ("setWaypoints", "response")] == []
        listed = [i for i in post(cast, token, {**request, "request": "tours"}) if "tours" in i]
        assert listed == []
        refusal = cast.client.get("/api/devices", headers=mira.auth).json()
        assert any(why in (d.get("last_refusal") or "") for d in refusal), refusal
    shares = cast.client.get(f"/api/walks/{walk['id']}/shares", headers=mira.auth).json()
    assert shares == []

    # Her app, sealing with its key: her destination as a region, and the link she asked for.
    items = opened(key, post(cast, keyed, sealed(key, location)))
    assert [i["action"] for i in items if i.get("action") == "setWaypoints"] == ["setWaypoints"]
    assert response(opened(key, post(cast, keyed, sealed(key, request))), "tour")["status"] == 200


def test_a_device_begun_at_the_api_stays_so_after_its_first_batch_failed(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first `POST /api/fixes` failed (the database busy: a 5xx, the phone sends again):
    how it began was remembered in memory the failure did not take back, and never written;
    an OwnTracks message with its token then counted as her OwnTracks app (her destination
    given to it). The failed batch leaves nothing behind; the one sent again records it."""
    mira, _noor, _phone, _walk = cast.walking()
    api = cast.device(mira, "api")
    real = record_fixes
    calls = 0

    def busy_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr("walkwithme.api.fixes_door.record_fixes", busy_once)
    failed = cast.client.post(
        "/api/fixes", json=cast.fix(START), headers={"Authorization": f"Bearer {api}"}
    )
    assert failed.status_code >= 500
    assert cast.statuses(api, cast.fix(START)) == ["accepted"]
    location = {"_type": "location", "lat": START[0], "lon": START[1]}
    location["tst"] = cast.clock.now_ms() // 1000
    answered = post(cast, api, location)
    assert [i for i in answered if i.get("action") == "setWaypoints"] == []
