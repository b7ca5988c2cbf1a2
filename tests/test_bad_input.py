"""Bad input is a clear 4xx naming what is wrong, and changes nothing (attacker review F4 to
F6): control characters in what people type, booleans and strings where a number is asked,
and a body that is not a JSON object, not JSON, sent as something else, or not sent at all.
Her export stays a file that opens, whatever was stored before such text was refused."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.people import HOME, PIN, START, Cast
from tests.test_manage_pages import post
from walkwithme.store.schema import walks

pytestmark = pytest.mark.one_database  # on SQLite only (conftest.py says why)

# -- control characters ------------------------------------------------------------------------

NOT_TEXT = [
    "a\x01b",
    "nul\x00",
    "esc\x1b[31m",
    "tab\tname",
    "two\nlines",
    "x\ufffe",
    "x\uffff",
    "del\x7f",
    "c1\x9b31m",  # C1's CSI: a terminal's escape in one character
    "\u202eariM",  # shown as "Mira" reversed, and whatever follows it in a line too
    "a\u2067b",
    "Eve\u2028Mira is safe",  # a new line in an email or a chat: a forged line in an alert
    "Eve\u2029Mira is safe",
    "\u200b",  # a name that shows as nothing
    "a\U000e0041b",  # a tag character, invisible
    "\u200d",  # a joiner alone: nothing to show
    "\u3164",  # a Hangul filler: a letter that shows as nothing ("ㅤ pressed SOS")
    "\u115f\u1160",
    "\uffa0",
    "\u2800",  # the blank Braille pattern
]


@pytest.mark.parametrize("name", ["Noor", "Zoë", "سلام\u200f", "👩\u200d👩\u200d👧", "ნინო"])
def test_a_name_in_any_script_or_with_emoji_is_taken(cast: Cast, name: str) -> None:
    mira = cast.person("Mira")
    answer = cast.client.patch("/api/me", json={"name": name}, headers=mira.auth)
    assert answer.status_code == 200, answer.text
    assert cast.client.get("/api/me", headers=mira.auth).json()["name"] == name


@pytest.mark.parametrize("name", NOT_TEXT)
def test_a_name_with_a_control_character_is_refused_naming_it(cast: Cast, name: str) -> None:
    mira = cast.person("Mira")
    answer = cast.client.patch("/api/me", json={"name": name}, headers=mira.auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "name"
    assert "U+" in answer.json()["error"]
    assert cast.client.get("/api/me", headers=mira.auth).json()["name"] == "Mira"


def _refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.text
    assert "control character" in answer.json()["error"], answer.text


def test_every_door_that_takes_a_name_refuses_control_characters(cast: Cast) -> None:
    mira = cast.person("Mira")
    auth = mira.auth
    place = {"name": "ho\x01me", "lat": HOME[0], "lon": HOME[1]}
    _refused(cast.client.post("/api/places", json=place, headers=auth), "name")
    assert cast.client.get("/api/places", headers=auth).json() == []
    _refused(cast.client.post("/api/devices", json={"name": "ph\x07one"}, headers=auth), "name")
    assert cast.client.get("/api/devices", headers=auth).json() == []
    hook = {"kind": "webhook", "target": "https://example.org/hook", "label": "a\x0bb"}
    _refused(cast.client.post("/api/channels", json=hook, headers=auth), "label")
    asked = cast.client.post("/api/contacts", json={"email": "no\x01or@example.org"}, headers=auth)
    _refused(asked, "email")


def test_a_walk_to_a_destination_named_with_control_characters_does_not_start(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    body = {
        "destination": {"lat": HOME[0], "lon": HOME[1], "name": "ho\x01me\x0b"},
        "minutes": 30,
        "pin": PIN,
    }
    _refused(cast.client.post("/api/walks", json=body, headers=mira.auth), "destination.name")
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []


def test_messages_and_notes_take_tabs_and_line_breaks_and_no_other_control_character(
    cast: Cast,
) -> None:
    mira, noor, _phone, walk = cast.walking()
    talk = f"/api/walks/{walk['id']}/messages"
    for text in ("hi\x01\x08", "bell\x07", "cr\ronly", "\x00", "del\x7f", "c1\x85"):
        _refused(cast.client.post(talk, json={"text": text}, headers=noor.auth), "text")
    said = cast.client.post(talk, json={"text": "on my way\r\n\tsee you"}, headers=noor.auth)
    assert said.status_code == 201, said.text
    texts = [e.get("text") for e in cast.events(mira, walk) if e["kind"] == "message"]
    assert texts == ["on my way\n\tsee you"]  # a form's CRLF is kept as LF
    inside = f"/api/walks/{walk['id']}/inside"
    _refused(
        cast.client.post(inside, json={"pin": PIN, "note": "a\x1fb"}, headers=mira.auth), "note"
    )
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).json()["state"] != "safe"


def test_a_message_may_order_right_to_left_words_where_a_name_may_not(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    talk = f"/api/walks/{walk['id']}/messages"
    said = "\u202b\u05e9\u05dc\u05d5\u05dd\u202c (hello, in Hebrew)"
    assert cast.client.post(talk, json={"text": said}, headers=noor.auth).status_code == 201
    texts = [e.get("text") for e in cast.events(mira, walk) if e["kind"] == "message"]
    assert texts == [said]
    name = "\u202b\u05e0\u05d5\u05e8"  # Noor in Hebrew, inside a right-to-left embedding
    renamed = cast.client.patch("/api/me", json={"name": name}, headers=noor.auth)
    assert renamed.status_code == 422
    assert "reverses or reorders" in renamed.json()["error"]


def test_the_pages_refuse_the_same_text_through_the_same_use_cases(cast: Cast) -> None:
    mira = cast.person("Mira")
    bad = post(cast.client, mira, "/settings/profile", "/settings", name="Mi\x01ra", timezone="UTC")
    assert bad.status_code == 422, bad.text
    assert "control character" in bad.text
    assert cast.client.get("/api/me", headers=mira.auth).json()["name"] == "Mira"


def test_her_export_opens_whatever_was_stored_before_such_text_was_refused(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert cast.statuses(phone, cast.fix(HOME)) == ["accepted"]
    cast.services.writer.run_sync(
        lambda tx: tx.conn.execute(
            walks.update().where(walks.c.id == walk["id"]).values(dest_name="ho\x01me\x0b")
        )
    )
    gpx = cast.client.get(f"/api/walks/{walk['id']}/export.gpx", headers=mira.auth)
    assert gpx.status_code == 200, gpx.text
    names = [
        n.text for n in ET.fromstring(gpx.content).iter("{http://www.topografix.com/GPX/1/1}name")
    ]
    assert "home" in names, names
    geojson = cast.client.get(f"/api/walks/{walk['id']}/export.geojson", headers=mira.auth)
    kinds = {f["properties"]["kind"]: f["properties"] for f in geojson.json()["features"]}
    assert kinds["destination"]["name"] == "home"


# -- numbers that are numbers --------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, " 60 ", "60"])
def test_a_place_at_a_boolean_or_a_string_is_refused(cast: Cast, value: Any) -> None:
    mira = cast.person("Mira")
    answer = cast.client.post(
        "/api/places", json={"name": "t", "lat": value, "lon": 24.9}, headers=mira.auth
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "lat"
    assert "must be a number" in answer.json()["error"]
    assert cast.client.get("/api/places", headers=mira.auth).json() == []


@pytest.mark.parametrize("value", [True, "7", False])
def test_keeping_days_as_a_boolean_or_a_string_is_refused(cast: Cast, value: Any) -> None:
    mira = cast.person("Mira")
    answer = cast.client.put("/api/me/keeping", json={"days": value}, headers=mira.auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "days"
    assert cast.client.get("/api/me/keeping", headers=mira.auth).json()["days"] is None


def test_her_profile_takes_no_control_character_and_a_pace_that_is_a_number(cast: Cast) -> None:
    mira = cast.person("Mira")
    before = cast.client.get("/api/me", headers=mira.auth).json()
    _refused(cast.client.patch("/api/me", json={"phone": "+358\x0040"}, headers=mira.auth), "phone")
    for pace in (True, "1.4"):
        answer = cast.client.patch("/api/me", json={"pace": pace}, headers=mira.auth)
        assert (answer.status_code, answer.json()["field"]) == (422, "pace"), answer.text
    assert cast.client.get("/api/me", headers=mira.auth).json() == before


def test_a_destination_beyond_a_walk_is_refused_and_starts_nothing(cast: Cast) -> None:
    """Stockholm typed for Helsinki (or one wrong digit of a latitude): a walk "expected" 14
    hours on, whose late alarm would come the next morning. Refused, naming the place."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    stockholm = {"lat": 59.33, "lon": 18.06, "name": "home"}
    answer = cast.client.post(
        "/api/walks",
        json={"destination": stockholm, "from": {"lat": START[0], "lon": START[1]}, "pin": PIN},
        headers=mira.auth,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "destination"
    assert answer.json()["error"] == (
        "that place is 396 km from where you are, more than 4 hours' walk: "
        "check where you are going"
    )
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []
    # A walk of an hour or two is a walk.
    near = {"lat": START[0] + 0.05, "lon": START[1], "name": "home"}
    cast.start_walk(mira, destination=near)


def test_every_number_of_a_walk_is_a_number(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    home = {"lat": HOME[0], "lon": HOME[1]}
    for body, field in (
        ({"destination": home, "minutes": "30", "pin": PIN}, "minutes"),
        (
            {"destination": {**home, "radius": True}, "minutes": 30, "pin": PIN},
            "destination.radius",
        ),
        (
            {"destination": {"lat": "60.16", "lon": HOME[1]}, "minutes": 30, "pin": PIN},
            "destination.lat",
        ),
        ({"minutes": True, "pin": PIN}, "minutes"),
        ({"due_at": "1780000000000", "pin": PIN}, "due_at"),
        (
            {"destination": home, "minutes": 30, "pin": PIN, "companions": [str(noor.id)]},
            "companions.0",
        ),
    ):
        answer = cast.client.post("/api/walks", json=body, headers=mira.auth)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, answer.text
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []
    walk = cast.start_walk(mira)
    url = f"/api/walks/{walk['id']}"
    more = cast.client.post(f"{url}/extend", json={"pin": PIN, "minutes": "10"}, headers=mira.auth)
    assert (more.status_code, more.json()["field"]) == (422, "minutes")
    link = cast.client.post(f"{url}/shares", json={"hours": True}, headers=mira.auth)
    assert (link.status_code, link.json()["field"]) == (422, "hours")
    quick = cast.client.post(
        f"{url}/messages", json={"text": "On my way", "quick": "yes"}, headers=noor.auth
    )
    assert (quick.status_code, quick.json()["field"]) == (422, "quick")
    assert cast.client.get(f"{url}/shares", headers=mira.auth).json() == []
    offer = cast.client.post("/api/offers", json={"walker": str(mira.id)}, headers=noor.auth)
    assert (offer.status_code, offer.json()["field"]) == (422, "walker")


# -- the body as a whole -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_a_json_object_sent_as_something_else_is_told_the_content_type(
    cast: Cast, kind: str | None
) -> None:
    mira = cast.person("Mira")
    headers: dict[str, str] = {**mira.auth, **({"content-type": kind} if kind else {})}
    body = json.dumps({"name": "t", "lat": HOME[0], "lon": HOME[1]}).encode()
    answer = cast.client.post("/api/places", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"error": "send the JSON object with Content-Type: application/json"}
    assert cast.client.get("/api/places", headers=mira.auth).json() == []


@pytest.mark.parametrize(
    "body", [b'{"name": "\xff\xfe"}', b"[" * 5000, b'{"lat": ' + b"9" * 60_000 + b"}"]
)
def test_a_body_its_reader_gives_up_on_is_not_valid_json(cast: Cast, body: bytes) -> None:
    mira = cast.person("Mira")
    headers = {**mira.auth, "content-type": "application/json"}
    answer = cast.client.post("/api/places", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, {"error": "body is not valid JSON"})


def test_an_empty_body_says_so_and_what_it_needs(cast: Cast) -> None:
    mira = cast.person("Mira")
    headers = {**mira.auth, "content-type": "application/json"}
    answer = cast.client.post("/api/places", content=b"", headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": "the body is empty: send a JSON object with name, lat and lon"
    }


@pytest.mark.parametrize("days", ["NaN", "Infinity", "31", "1e308", "-1"])
def test_keeping_days_out_of_bounds_says_the_real_bound(cast: Cast, days: str) -> None:
    mira = cast.person("Mira")
    headers = {**mira.auth, "content-type": "application/json"}
    answer = cast.client.put("/api/me/keeping", content=f'{{"days": {days}}}', headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "days"
    assert "3650" not in answer.json()["error"]
    most = cast.client.get("/api/me/keeping", headers=mira.auth).json()["most_days"]
    if days in ("31", "1e308"):
        assert answer.json()["error"].endswith(f"to {most:g}"), answer.text
