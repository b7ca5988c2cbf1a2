"""The walker's pages over HTTP: her home (the walk she can start, her walk, offers waiting,
her recent walks), starting a walk with the "nobody would hear an alarm" warning before she
starts, her walk page's positions through the one fix path, her PIN moments, and the duress
PIN giving her page byte for byte what her real PIN gives. (The browser drives the same pages
in test_walker_browser.py.)"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import segno
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import HOME, PIN, START, Cast, Member
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.web import words

pytestmark = pytest.mark.one_database  # on SQLite only (conftest.py says why)

OURS = {"sec-fetch-site": "same-origin"}
FORM = {"content-type": "application/x-www-form-urlencoded", **OURS}
DURESS = "1357"


def cookie(member: Member) -> dict[str, str]:
    return {"Cookie": f"wwm_session={member.token}"}


def page(client: TestClient, path: str, who: Member) -> Any:
    return client.get(path, headers={"accept": "text/html", **cookie(who)}, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def post_form(cast: Cast, who: Member, path: str, **fields: str) -> Any:
    token = csrf_of(page(cast.client, "/", who).text)
    return cast.client.post(
        path,
        data={"csrf": token, **fields},
        headers={**FORM, **cookie(who)},
        follow_redirects=False,
    )


def channel_that_worked(cast: Cast, who: Member) -> None:
    cast.channel(who)  # (tested, as every channel of the cast's is unless it says otherwise)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_her_home_offers_the_walk_she_can_start_then_her_walk_then_how_it_went(
    cast: Cast,
) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    alone = text_of(page(cast.client, "/", mira).text)
    assert "Walk me home" not in alone
    assert "ask a friend to be your companion first" in alone
    cast.link(mira, noor)
    home = page(cast.client, "/", mira).text
    assert 'href="/walks/new" id="walk-me-home"' in home
    assert "You have not walked with us yet" in text_of(home)
    walk = cast.start_walk(mira)
    during = text_of(page(cast.client, "/", mira).text)
    assert "Walk me home" not in during
    assert "You are on the way" in during
    # Away from her walk's page her browser shares nothing (she moved, and nothing was kept).
    assert "it does so only while your walk's page is open" in during
    assert f'href="/walks/{walk["id"]}"' in page(cast.client, "/", mira).text
    # In her alarm the card is the alarm's, saying where to go, not a calm "Started ...".
    sos = cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert sos.status_code == 200
    alarmed = page(cast.client, "/", mira).text
    assert 'class="card live-walk alarm"' in alarmed
    assert "Open your walk: it says why, what you can do" in text_of(alarmed)
    cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    done = cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth)
    assert done.status_code == 200
    after = text_of(page(cast.client, "/", mira).text)
    assert "Walk me home" in after
    assert "to home: got in safely" in after
    # Each past walk opens (her page of it: how it went, and its track to download).
    assert f'<a class="card" href="/walks/{walk["id"]}">' in page(cast.client, "/", mira).text
    over = page(cast.client, f"/walks/{walk['id']}", mira).text
    gpx = f"/api/walks/{walk['id']}/export.gpx"
    assert f'href="{gpx}"' in over
    downloaded = cast.client.get(gpx, headers=cookie(mira))
    assert downloaded.status_code == 200
    assert downloaded.text.startswith("<?xml")


def test_an_offer_waits_on_her_home_and_is_declined_with_a_note_or_accepted(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    made = cast.client.post("/api/offers", json={"walker": mira.id}, headers=noor.auth)
    assert made.status_code == 201, made.text
    home = text_of(page(cast.client, "/", mira).text)
    assert "Noor offers to walk you home now" in home
    offer_id = made.json()["id"]
    declined = post_form(cast, mira, f"/offers/{offer_id}/decline", note="Not tonight, thanks")
    assert declined.status_code == 303
    assert "offers to walk you home" not in text_of(page(cast.client, "/", mira).text)
    assert "Not tonight, thanks" in text_of(page(cast.client, "/", noor).text)

    cast.clock.advance(minutes=24 * 60)  # the next evening he may offer again
    again = cast.client.post("/api/offers", json={"walker": mira.id}, headers=noor.auth).json()
    form = page(cast.client, f"/walks/new?offer={again['id']}", mira)
    assert "Walk home with Noor" in form.text
    started = post_form(
        cast, mira, "/walks/new", offer=str(again["id"]), place="coords",
        coords=f"{HOME[0]}, {HOME[1]}", pin=PIN, pin_again=PIN, minutes="20",
    )  # fmt: skip
    assert started.status_code == 303, started.text
    walk_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert "Mira is on the way" in page(cast.client, f"/walks/{walk_id}", noor).text
    assert "accepted" in text_of(page(cast.client, "/", noor).text)


def test_without_a_channel_of_her_own_she_is_told_before_she_starts(cast: Cast) -> None:
    """With her walk page closed, "Are you OK?" reaches her only on a channel of her own: one
    she never sees becomes her companions' alarm. Said before she starts, and gone once she
    has one."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    before = text_of(page(cast.client, "/walks/new", mira).text)
    assert "“Are you OK?” reaches you only through an alert channel of your own" in before
    cast.channel(mira)
    after = text_of(page(cast.client, "/walks/new", mira).text)
    assert "alert channel of your own" not in after


def test_the_nobody_would_hear_warning_shows_before_she_starts(cast: Cast) -> None:
    mira, noor, otto = cast.person("Mira"), cast.person("Noor"), cast.person("Otto")
    cast.link(mira, noor)
    first = page(cast.client, "/walks/new", mira).text
    assert re.search(r'<p id="nobody-hears"[^>]*role="status" >', first)  # shown
    assert "Nobody would hear an alarm" in first
    cast.link(mira, otto)
    channel_that_worked(cast, otto)
    both = page(cast.client, "/walks/new", mira).text
    assert re.search(r'<p id="nobody-hears"[^>]*role="status" hidden>', both)  # not shown
    # Each companion says whether they would hear, for the page to judge her choice live.
    assert f'name="companion_{noor.id}" value="on" data-hears="0"' in both
    assert f'name="companion_{otto.id}" value="on" data-hears="1"' in both
    # Choosing only Noor (who would hear nothing) and a wrong second PIN: she is told, and
    # nothing starts; the warning is there with her choice.
    wrong = post_form(
        cast, mira, "/walks/new", place="coords", coords="60.1611, 24.9447",
        **{f"companion_{noor.id}": "on"}, pin=PIN, pin_again="9999",
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "The two PINs differ" in wrong.text
    assert re.search(r'<p id="nobody-hears"[^>]*role="status" >', wrong.text)
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []


def test_a_refused_start_marks_the_field_to_mend_in_words(cast: Cast) -> None:
    """The form comes back with the field the refusal is about marked for a screen reader
    (`aria-invalid`, described by the notice) and in focus, only that one, and in words, not
    the API's field names: "Pin must be 4 to 8 digits", "Lat must be between -90 and 90"."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    form = {
        "place": "coords", "coords": "60.1611, 24.9447", "pin": PIN, "pin_again": PIN,
        "from_lat": str(START[0]), "from_lon": str(START[1]), f"companion_{noor.id}": "on",
    }  # fmt: skip
    cases = [
        ({"pin": "12", "pin_again": "12"}, "pin", "Your PIN must be 4 to 8 digits"),
        ({"pin_again": "0000"}, "pin", "The two PINs differ"),
        ({"coords": "91, 20"}, "coords", "That place is not on the map: its latitude must be"),
        ({"minutes": "0", "from_lat": "", "from_lon": ""}, "minutes", "Minutes must be between"),
        ({"place": "timer", "check_at": "25:99"}, "check_at", "Say the time as HH:MM"),
        # Each answered 500 (an outside review): not numbers, or more than Python reads.
        ({"minutes": "nan", "from_lat": "", "from_lon": ""}, "minutes", "Minutes must be a"),
        ({"minutes": "inf", "from_lat": "", "from_lon": ""}, "minutes", "Minutes must be a"),
        ({"place": "timer", "check_at": "99999999999:00"}, "check_at", "Say the time as HH:MM"),
        ({"place": "timer", "check_at": "²3:00"}, "check_at", "Say the time as HH:MM"),
    ]
    for change, field, said in cases:
        refused = post_form(cast, mira, "/walks/new", **{**form, **change})
        assert refused.status_code == 422, change
        assert f'id="error">{said}' in refused.text, change
        marked = re.findall(r'<input [^>]*aria-invalid="true"[^>]*>', refused.text)
        assert len(marked) == 1, change
        assert f'name="{field}"' in marked[0], change
        assert 'aria-describedby="error-here' in marked[0]
        assert f'id="error-here">{said}' in refused.text, change
        assert "autofocus" in marked[0]
        if field in ("minutes", "check_at"):  # in the part of the form that folds away
            assert "<details open>" in refused.text
    for place in ("²", "9" * 5000):
        refused = post_form(cast, mira, "/walks/new", **{**form, "place": place})
        assert refused.status_code == 422
        assert 'id="error">Choose where you are going' in refused.text
    # A companion's number no id is: left out, not a fault.
    odd = post_form(cast, mira, "/walks/new", **{**form, "companion_²": "on", "pin": "12"})
    assert odd.status_code == 422
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []
    offer = page(cast.client, "/walks/new?offer=²", mira)
    assert offer.status_code == 200


def test_she_starts_a_walk_to_a_saved_place_with_a_timer_from_the_page(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    place = cast.client.post(
        "/api/places", json={"name": "Home", "lat": HOME[0], "lon": HOME[1]}, headers=mira.auth
    ).json()
    form = page(cast.client, "/walks/new", mira).text
    assert "> Home</label>" in form
    started = post_form(
        cast, mira, "/walks/new", place=str(place["id"]), pin=PIN, pin_again=PIN,
        from_lat=str(START[0]), from_lon=str(START[1]), minutes="25",
        **{f"companion_{noor.id}": "on"},
    )  # fmt: skip
    assert started.status_code == 303, started.text
    walk = cast.client.get("/api/walks", headers=mira.auth).json()[0]
    assert walk["destination"]["name"] == "Home"
    assert walk["expected_at"] - walk["started_at"] == 25 * 60_000
    assert [c["name"] for c in walk["companions"]] == ["Noor"]
    mine = text_of(page(cast.client, started.headers["location"], mira).text)
    assert "You are on the way" in mine
    assert "A browser stops reporting when the screen turns off or this tab is closed" in mine
    assert "I'm inside" in mine


def _fixes(
    cast: Cast, who: Member, walk_id: int, fixes: list[dict[str, Any]], **headers: str
) -> Any:
    token = csrf_of(page(cast.client, f"/walks/{walk_id}", who).text)
    return cast.client.post(
        f"/walks/{walk_id}/fixes",
        json={"fixes": fixes},
        headers={"x-csrf-token": token, **OURS, **cookie(who), **headers},
    )


def test_her_page_reports_through_the_fix_path_as_her_browser(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    wid = walk["id"]
    taken = [cast.fix(START, seconds_ago=20), cast.fix((60.1690, 24.9420), seconds_ago=10)]
    sent = _fixes(cast, mira, wid, taken)
    assert sent.status_code == 200, sent.text
    assert [r["status"] for r in sent.json()["results"]] == ["accepted", "accepted"]
    assert sent.json()["now"] == cast.clock.now_ms()
    # Sent again (an answer lost on the way): nothing is shown twice.
    again = _fixes(cast, mira, wid, taken)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    track = cast.client.get(f"/api/walks/{wid}/fixes", headers=noor.auth).json()
    assert [f["t"] for f in track] == [f["t"] for f in taken]
    phones = cast.client.get("/api/devices", headers=mira.auth).json()
    assert [d["name"] for d in phones] == ["This browser (the walk page)"]
    listed = text_of(page(cast.client, "/phones/apps", mira).text)
    assert "the walk page, in a browser" in listed  # not "an app that didn't say its name"
    # Not from our pages, without the session's token, or someone else's walk: refused.
    token = csrf_of(page(cast.client, f"/walks/{wid}", mira).text)
    cross = cast.client.post(
        f"/walks/{wid}/fixes",
        json={"fixes": [cast.fix(HOME)]},
        headers={"x-csrf-token": token, "sec-fetch-site": "cross-site", **cookie(mira)},
    )
    assert cross.status_code == 403
    assert _fixes(cast, mira, wid, [cast.fix(HOME)], **{"x-csrf-token": "nope"}).status_code == 403
    noor_token = csrf_of(page(cast.client, "/", noor).text)
    theirs = cast.client.post(
        f"/walks/{wid}/fixes",
        json={"fixes": [cast.fix(HOME)]},
        headers={"x-csrf-token": noor_token, **OURS, **cookie(noor)},
    )
    assert theirs.status_code == 404
    assert len(cast.client.get(f"/api/walks/{wid}/fixes", headers=noor.auth).json()) == 2


def test_inside_with_her_pin_and_a_closing_note_ends_the_walk_for_everyone(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    wrong = post_form(cast, mira, f"/walks/{wid}/inside", pin="0000")
    assert wrong.status_code == 403
    assert "That PIN is not right" in wrong.text
    # Said on her own walk page, which she keeps, with its SOS (not a page of its own).
    assert 'id="sos-form"' in wrong.text
    assert 'id="inside-form"' in wrong.text
    more = post_form(cast, mira, f"/walks/{wid}/extend", pin=PIN, minutes="15")
    assert more.status_code == 303
    assert "You asked for more time" in text_of(page(cast.client, f"/walks/{wid}", mira).text)
    said = post_form(cast, mira, f"/walks/{wid}/message", text="Almost there")
    assert said.status_code == 303
    told = cast.events(noor, {"id": wid})
    assert any(e["kind"] == "message" and e["text"] == "Almost there" for e in told)
    # Said with who sent it, on his page and on hers (to her, as hers), once loaded again.
    assert "Mira: “Almost there”" in text_of(page(cast.client, f"/walks/{wid}", noor).text)
    hers = text_of(page(cast.client, f"/walks/{wid}", mira).text)
    assert "You: “Almost there”" in hers
    assert "Mira: “Almost there”" not in hers
    # A next walk with a day and no time: said, and nothing ends.
    half = post_form(cast, mira, f"/walks/{wid}/inside", pin=PIN, next_day="tomorrow")
    assert half.status_code == 422
    # Said on her own page, with its SOS and the form to try again.
    assert "Give the next walk's time, or choose no next walk." in text_of(half.text)
    assert 'id="sos-form"' in half.text
    assert 'id="inside-form"' in half.text
    assert cast.client.get(f"/api/walks/{wid}", headers=noor.auth).json()["state"] == "active"
    done = post_form(cast, mira, f"/walks/{wid}/inside", pin=PIN, note="Would you like to come in?")
    assert done.headers["location"] == f"/walks/{wid}"
    mine = text_of(page(cast.client, f"/walks/{wid}", mira).text)
    assert "You are home, inside" in mine
    assert "Would you like to come in?" in mine
    events = cast.events(mira, {"id": wid})
    assert [e["kind"] for e in events][-1] == "inside"
    assert events[-1]["note"] == "Would you like to come in?"
    assert cast.client.get(f"/api/walks/{wid}", headers=noor.auth).status_code == 404  # over


def test_inside_away_from_her_door_or_on_a_timer_walk_is_not_said_home_on_her_page(
    cast: Cast,
) -> None:
    """Her "I'm inside" at a friend's, 1 km from her door, then on a timer walk: her page
    said "You are home, inside" both times."""
    mira, noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix((60.1699, 24.9384)))
    assert post_form(cast, mira, f"/walks/{walk['id']}/inside", pin=PIN).status_code == 303
    there = page(cast.client, f"/walks/{walk['id']}", mira).text
    assert '<h1 id="headline">You are inside</h1>' in there
    timer = post_form(
        cast, mira, "/walks/new", place="timer", check_at="23:30", pin=PIN, pin_again=PIN,
        **{f"companion_{noor.id}": "on"},
    )  # fmt: skip
    assert timer.status_code == 303, timer.text
    assert post_form(cast, mira, f"{timer.headers['location']}/inside", pin=PIN).status_code == 303
    later = page(cast.client, timer.headers["location"], mira).text
    assert '<h1 id="headline">You are inside</h1>' in later


def test_a_timer_walks_page_says_its_own_words_not_home_nor_late_to_arrive(cast: Cast) -> None:
    """On a timer walk her page said "Home?" over "I'm inside", "the way home" under a map
    with no route, and "We asked because: late to arrive" where she has nowhere to arrive
    (her companions' page said the time she set ran out): an outside review."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    due_at = cast.clock.now_ms() + 10 * 60_000
    made = cast.client.post("/api/walks", json={"due_at": due_at, "pin": PIN}, headers=mira.auth)
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    cast.clock.advance(minutes=11)
    assert cast.services.watchdog.tick_sync() == ["check"]
    shown = text_of(page(cast.client, f"/walks/{wid}", mira).text)
    assert "We asked because: the time set for the walk ran out." in shown
    assert "We asked because: late to arrive" not in shown
    assert "Home?" not in shown
    assert "Safe inside?" in shown
    assert "the way home" not in shown
    # A walk home says so.
    inside = cast.client.post(f"/api/walks/{wid}/inside", json={"pin": PIN}, headers=mira.auth)
    assert inside.status_code == 200, inside.text
    home = cast.start_walk(mira)["id"]
    walking_home = text_of(page(cast.client, f"/walks/{home}", mira).text)
    assert "Home?" in walking_home
    assert "the way home" in walking_home


def test_her_page_says_how_long_to_wait_after_too_many_pins(cast: Cast) -> None:
    """As the API: the page that refuses an attempt made too soon says when to try again, in
    words and in Retry-After."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    for _ in range(3):  # the third wrong one raises the alarm and sets the first wait
        assert post_form(cast, mira, f"/walks/{wid}/ok", pin="0000").status_code == 403
    soon = post_form(cast, mira, f"/walks/{wid}/ok", pin="0000")
    assert soon.status_code == 429
    assert soon.headers["Retry-After"] == "5"
    assert "try again in 5 seconds" in text_of(soon.text)


def test_sos_from_her_page_raises_the_alarm_at_once(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    # Served (before any script holds it back), the button says what a tap does.
    assert (
        '<span class="sos-how" id="sos-how">Tap to send SOS</span>'
        in page(cast.client, f"/walks/{wid}", mira).text
    )
    sent = post_form(cast, mira, f"/walks/{wid}/sos")
    assert sent.status_code == 303
    assert cast.client.get(f"/api/walks/{wid}", headers=noor.auth).json()["state"] == "alarm"
    mine = page(cast.client, f"/walks/{wid}", mira).text
    assert 'id="check" class="check"' in mine
    assert "If you are OK, say so" in mine
    # The banner says what happened in words, as written (not "Sos pressed").
    assert '<h2 id="alarm-reason">SOS pressed</h2>' in page(cast.client, f"/walks/{wid}", noor).text
    assert post_form(cast, mira, f"/walks/{wid}/end", pin="0000").status_code == 403


# -- the duress PIN on her page: twin runs ----------------------------------------------------


def _twin(tmp_path: Path, name: str, pin: str) -> tuple[list[str], dict[str, Any]]:
    """Mira is asked "Are you OK?" on her page and answers it with `pin`; what her browser
    received (every page, tokens of her session taken out), and what Noor sees."""
    clock = FakeClock()
    svc = make_services(f"sqlite:///{tmp_path / f'{name}.db'}", tmp_path / name, clock)
    seen: list[str] = []
    with TestClient(create_app(svc)) as client:
        cast = Cast(client, svc, clock)
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        wid = cast.start_walk(mira, duress_pin=DURESS)["id"]
        first = _fixes(cast, mira, wid, [cast.fix(START)])
        assert first.status_code == 200
        clock.advance(minutes=12)  # silent: the service asks her
        svc.watchdog.tick_sync()

        def her(path: str) -> str:
            html: str = page(client, path, mira).text
            return html.replace(csrf_of(html), "CSRF")

        asked = her(f"/walks/{wid}")
        assert "Are you OK?" in text_of(asked)
        shown = re.search(r'<section id="check" class="check"[^>]*>', asked)
        assert shown is not None
        assert " hidden>" not in shown.group(0)
        answered = post_form(cast, mira, f"/walks/{wid}/ok", pin=pin)
        seen += [asked, f"{answered.status_code} {answered.headers.get('location')}"]
        seen += [her(f"/walks/{wid}"), her("/")]
        clock.advance(minutes=1)
        sent = _fixes(cast, mira, wid, [cast.fix(START)])
        seen.append(sent.text)
        seen += [her(f"/walks/{wid}"), her("/")]
        noor_sees = client.get(f"/api/walks/{wid}", headers=noor.auth).json()
    svc.db.dispose()
    return seen, noor_sees


def test_her_duress_pin_gives_her_page_the_same_bytes_as_her_pin(tmp_path: Path) -> None:
    real, noor_calm = _twin(tmp_path, "real", PIN)
    forced, noor_alarmed = _twin(tmp_path, "forced", DURESS)
    assert "You answered “I'm OK”" in text_of(real[2])
    for mine, twin in zip(real, forced, strict=True):
        assert mine == twin
    assert noor_calm["state"] == "active"
    assert noor_alarmed["state"] == "alarm"


def test_the_phone_apps_page_gives_this_servers_settings_and_a_device_once(cast: Cast) -> None:
    mira = cast.person("Mira")
    shown = text_of(page(cast.client, "/phones/apps", mira).text)
    assert "/api/owntracks" in shown
    assert "/api/traccar" in shown
    # Traccar Client's settings as its screen names them: Interval shows only with Highest.
    assert "Location accuracy Highest" in shown
    assert "Interval (seconds) 10" in shown
    assert "Stationary heartbeat (seconds) 60" in shown
    # OwnTracks on iOS has no allowRemoteConfiguration: cmd and remoteConfiguration.
    assert "turn on cmd and remoteConfiguration" in shown
    made = post_form(cast, mira, "/phones/apps")
    assert made.status_code == 200
    # The link works only once the app allows external configuration: said before it.
    said = text_of(made.text)
    assert said.index("Allow external configuration") < said.index("open this link")
    assert "URI or file configuration not allowed" in said
    token = re.search(r'<code id="token" class="token">(dev_[\w-]+)</code>', made.text)
    assert token is not None
    link = re.search(r'href="owntracks:///config\?inline=([\w=-]+)"', made.text)
    assert link is not None
    settings = json.loads(base64.urlsafe_b64decode(link.group(1)))
    assert settings["password"] == token.group(1)
    assert settings["url"].endswith("/api/owntracks")
    # From a computer's screen, the phone's camera reads the same link from a QR code.
    qr = re.search(
        r'<svg role="img" aria-label="QR code: OwnTracks set up" [^>]*>(.*?)</svg>', made.text
    )
    assert qr is not None
    drawn = segno.make(f"owntracks:///config?inline={link.group(1)}", error="m").svg_inline(
        scale=4, dark="#000", light="#fff", border=4, omitsize=True
    )
    assert qr.group(1) in drawn
    assert 'aria-label="QR code: Traccar' in made.text
    # The token works on the phones' door, and is not shown again.
    assert cast.statuses(token.group(1), cast.fix(START)) == ["not_kept"]  # (no walk yet)
    listed = page(cast.client, "/phones/apps", mira).text
    assert token.group(1) not in listed


def test_she_sees_her_phones_and_removes_a_lost_one(cast: Cast) -> None:
    mira, eve = cast.person("Mira"), cast.person("Eve")
    lost = cast.device(mira)
    assert cast.statuses(lost, cast.fix(START)) == ["not_kept"]
    listed = text_of(page(cast.client, "/phones/apps", mira).text)
    assert "Your phones" in listed
    assert "last reported" in listed
    assert "Remove phone" in listed
    device_id = re.search(
        r'action="/phones/(\d+)/remove"', page(cast.client, "/phones/apps", mira).text
    )
    assert device_id is not None
    # Nobody else removes it (the same as a phone that doesn't exist).
    assert post_form(cast, eve, f"/phones/{device_id.group(1)}/remove").status_code == 404
    assert cast.statuses(lost, cast.fix(START)) == ["not_kept"]
    removed = post_form(cast, mira, f"/phones/{device_id.group(1)}/remove")
    assert (removed.status_code, removed.headers["location"]) == (303, "/phones/apps?done=removed")
    after = text_of(page(cast.client, "/phones/apps?done=removed", mira).text)
    assert "Removed: that phone's token no longer works" in after
    assert "No phone reports for you yet." in after
    refused = cast.client.post(
        "/api/fixes", json=cast.fix(START), headers={"Authorization": f"Bearer {lost}"}
    )
    assert refused.status_code == 401


def test_a_timer_walk_checks_on_her_at_the_time_she_gave_in_her_zone(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")  # both in UTC
    cast.link(mira, noor)
    cast.clock.set(1_780_000_000_000)  # 20:26:40 UTC
    started = post_form(
        cast, mira, "/walks/new", place="timer", check_at="23:30", pin=PIN, pin_again=PIN,
        **{f"companion_{noor.id}": "on"},
    )  # fmt: skip
    assert started.status_code == 303, started.text
    walk = cast.client.get("/api/walks", headers=mira.auth).json()[0]
    assert walk["kind"] == "timer"
    assert walk["expected_at"] == 1_780_000_000_000 + (3 * 3600 + 3 * 60 + 20) * 1000
    # Said as what it is: when to check on her, with no distance to a place she isn't going
    # (it said "You are on the way", "Distance left: unknown", "Expected by": a pages review).
    hers = page(cast.client, started.headers["location"], mira).text
    assert 'Check on you at</dt><dd id="expected">23:30' in hers
    assert "Distance left" not in hers
    assert "You are out on a timed walk" in hers
    his = page(cast.client, started.headers["location"], noor).text
    assert 'Check on Mira at</dt><dd id="expected">23:30' in his
    assert "Mira is out on a timed walk" in his


def test_a_timer_in_the_hour_the_clocks_show_twice_is_the_next_showing(cast: Cast) -> None:
    """25 Oct 2026, Helsinki: the clocks go back from 04:00 to 03:00. At 03:10, the second
    time round, "03:40" is in half an hour (it was read as tomorrow's, and refused as more
    than four hours away)."""
    cast.clock.set(1_792_890_600_000)  # 2026-10-25 01:10 UTC: 03:10 EET, the second 03:10
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.client.patch("/api/me", json={"timezone": "Europe/Helsinki"}, headers=mira.auth)
    started = post_form(
        cast, mira, "/walks/new", place="timer", check_at="03:40", pin=PIN, pin_again=PIN,
        **{f"companion_{noor.id}": "on"},
    )  # fmt: skip
    assert started.status_code == 303, started.text
    walk = cast.client.get("/api/walks", headers=mira.auth).json()[0]
    assert walk["expected_at"] == 1_792_890_600_000 + 30 * 60_000


def test_nobody_but_her_acts_on_her_walk_from_the_pages(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    sam = cast.person("Sam")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    assert page(cast.client, "/walks/new", sam).status_code == 200  # (her own, to start)
    assert cast.client.get("/walks/new", follow_redirects=False).headers["location"] == (
        "/signin?next=/walks/new"
    )
    for who in (noor, sam):
        assert post_form(cast, who, f"/walks/{wid}/sos").status_code == 404
        assert post_form(cast, who, f"/walks/{wid}/inside", pin=PIN).status_code == 404
    assert cast.client.get(f"/api/walks/{wid}", headers=mira.auth).json()["state"] == "active"
    # Her companion still gets his own page of her walk, not hers.
    his = text_of(page(cast.client, f"/walks/{wid}", noor).text)
    assert "Mira is on the way" in his
    assert "I'm inside" not in his


def test_her_walk_page_says_who_looked_and_how_long_it_is_kept(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    walk_id = walk["id"]
    before = text_of(page(cast.client, f"/walks/{walk_id}", mira).text)
    assert "Nobody but you has looked at this walk" in before
    assert page(cast.client, f"/walks/{walk_id}", noor).status_code == 200
    cast.client.post(f"/api/walks/{walk_id}/inside", json={"pin": PIN}, headers=mira.auth)
    cast.services.watchdog.tick_sync()  # the walk that is over gets its keeping time
    after = text_of(page(cast.client, f"/walks/{walk_id}", mira).text)
    assert "Noor opened your walk's page" in after
    assert "Your track is kept until" in after
    assert "longer because this walk had an alarm" not in after


def test_she_makes_a_share_link_on_her_page_and_takes_it_back(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.client.patch("/api/me", json={"phone": "+358 40 123 4567"}, headers=mira.auth)
    cast.send(phone, cast.fix(START))
    wid = walk["id"]
    assert "Make a share link" in page(cast.client, f"/walks/{wid}", mira).text
    # Without the page's script: the form posts, and her page shows the link this once.
    made = post_form(cast, mira, f"/walks/{wid}/shares", hours="1")
    assert made.status_code == 200, made.text
    url = re.search(r'id="share-url" readonly value="([^"]+)"', made.text)
    assert url is not None
    assert url.group(1).startswith("http://127.0.0.1:8000/api/share/shr")
    said = text_of(made.text)
    assert "works until" in said
    assert "Link 1: works until" in said
    token = url.group(1).rsplit("/", 1)[1]
    assert token not in page(cast.client, f"/walks/{wid}", mira).text  # shown once
    # What the link shows: her walk as her own devices see it, without her number.
    shown = cast.client.get(f"/api/share/{token}", headers={"accept": "text/html"})
    assert shown.status_code == 200
    assert "Mira is on the way" in shown.text
    assert "4567" not in shown.text
    # Only she makes links for her walk, or takes them back.
    for who in (noor, cast.person("Sam")):
        assert post_form(cast, who, f"/walks/{wid}/shares", hours="walk").status_code == 404
        assert post_form(cast, who, f"/walks/{wid}/shares/1/revoke").status_code == 404
    assert post_form(cast, mira, f"/walks/{wid}/shares", hours="100").status_code == 422
    # An hour later it shows nothing, and her page says so.
    cast.clock.advance(minutes=61)
    gone = cast.client.get(f"/api/share/{token}", headers={"accept": "text/html"})
    assert gone.status_code == 404
    assert "This link has expired" in gone.text
    assert "Link 1: expired" in text_of(page(cast.client, f"/walks/{wid}", mira).text)

    # From her page's script: a link until the walk is over, answered in JSON, taken back.
    asked = {**FORM, **cookie(mira), "accept": "application/json"}
    csrf = csrf_of(page(cast.client, f"/walks/{wid}", mira).text)
    second = cast.client.post(
        f"/walks/{wid}/shares", data={"csrf": csrf, "hours": "walk"}, headers=asked
    )
    assert second.status_code == 200, second.text
    html = second.json()["html"]
    assert "Link 2: works until your walk is over" in text_of(html)
    token2 = re.search(r"/api/share/(shr[\w-]+)", html)
    assert token2 is not None
    link2 = f"/api/share/{token2.group(1)}"
    assert cast.client.get(link2, headers={"accept": "text/html"}).status_code == 200
    back = cast.client.post(f"/walks/{wid}/shares/2/revoke", data={"csrf": csrf}, headers=asked)
    assert back.status_code == 200
    assert "Link 2: taken back" in text_of(back.json()["html"])
    assert cast.client.get(link2, headers={"accept": "text/html"}).status_code == 404
    assert cast.client.get(f"/api/walks/{wid}/shares", headers=mira.auth).json()[1]["revoked"]


def test_her_alarm_says_plainly_when_none_of_her_companions_can_hear_it(cast: Cast) -> None:
    """In an alarm her page said "your companions are told" though Noor had no alerts that
    work (an outside tester's walkthrough): it says so, and to call someone; once his alerts
    work, it says they are told."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["check"]
    cast.clock.advance(minutes=2)
    assert "alarm" in cast.services.watchdog.tick_sync()
    unheard = "ALARM: none of your companions has alerts that work: call someone"
    shown = page(cast.client, f"/walks/{walk['id']}", mira).text
    assert unheard in text_of(shown)
    assert "your companions are told" not in text_of(shown.split('id="walk-data"', 1)[0])
    assert unheard in shown.split('id="walk-data"', 1)[1]  # and when the alarm comes live
    channel_that_worked(cast, noor)
    told = text_of(page(cast.client, f"/walks/{walk['id']}", mira).text.split('id="walk-data"')[0])
    assert "ALARM: your companions are told" in told
    assert unheard not in told


def test_her_calm_walk_says_under_sos_when_nobody_would_hear_an_alarm(cast: Cast) -> None:
    """Before she needs it, not only once her SOS has reached nobody (an outside review): her
    page says under SOS that an alarm would reach nobody, and goes quiet about it once a
    companion's alerts work."""
    mira, noor, phone, walk = cast.walking()
    nobody = "Nobody would hear an alarm from this walk: none of your companions has alerts"
    assert nobody in text_of(page(cast.client, f"/walks/{walk['id']}", mira).text)
    channel_that_worked(cast, noor)
    assert nobody not in text_of(page(cast.client, f"/walks/{walk['id']}", mira).text)


def test_her_sos_from_her_page_says_whether_anyone_is_told(cast: Cast) -> None:
    """Her page said "the people following your walk are told" after her SOS though Noor had
    no alerts that work (an outside tester's walkthrough): it says to call someone instead.
    Her page's script asks for the words (JSON); without it the form comes back to her page."""
    mira, noor, _phone, walk = cast.walking()
    path = f"/walks/{walk['id']}/sos"
    token = csrf_of(page(cast.client, "/", mira).text)
    asked = {**FORM, **cookie(mira), "accept": "application/json"}
    sent = cast.client.post(path, data={"csrf": token}, headers=asked)
    assert sent.status_code == 200
    assert sent.json() == {
        "said": "SOS sent, but none of your companions has alerts that work: call someone now."
    }
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == "alarm"
    channel_that_worked(cast, noor)
    again = cast.client.post(path, data={"csrf": token}, headers=asked)
    assert again.json() == {"said": "SOS sent: the people following your walk are told."}
    plain = post_form(cast, mira, path)
    assert (plain.status_code, plain.headers["location"]) == (303, path.removesuffix("/sos"))


def test_her_sos_during_the_alarm_keeps_who_is_on_it_and_says_sos_not_a_code(
    cast: Cast,
) -> None:
    """Her SOS seconds after Noor said "I'm on it": every page loaded after said the alarm's
    reason as "None", and that nobody was on it (an outside tester's walkthrough)."""
    mira, noor, _phone, walk = cast.walking()
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["check"]
    cast.clock.advance(minutes=2)
    assert "alarm" in cast.services.watchdog.tick_sync()
    path = f"/api/walks/{walk['id']}"
    assert cast.client.post(f"{path}/ack", headers=noor.auth).status_code == 200
    assert cast.client.post(f"{path}/sos", headers=mira.auth).status_code == 200
    his = text_of(page(cast.client, f"/walks/{walk['id']}", noor).text)
    hers = text_of(page(cast.client, f"/walks/{walk['id']}", mira).text)
    for shown in (his, hers):
        assert "SOS pressed" in shown
        assert "None" not in shown
        assert "Nobody has said they are on it yet" not in shown
    assert "You are on it." in his
    assert "Noor is on it." in hers


def test_an_offer_for_tomorrow_says_its_day_on_both_home_pages(cast: Cast) -> None:
    """Her home said "Noor offers to walk you home at 21:00" of tomorrow's offer, and his
    "(21:00, just now)": the day, in words, on both."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    at = {"day": "tomorrow", "time": "21:00"}
    made = cast.client.post("/api/offers", json={"walker": mira.id, "at": at}, headers=noor.auth)
    assert made.status_code == 201, made.text
    assert "Noor offers to walk you home tomorrow at 21:00" in text_of(
        page(cast.client, "/", mira).text
    )
    his = text_of(page(cast.client, "/", noor).text)
    assert "tomorrow at 21:00" in his
    assert "just now" not in his


def test_times_to_come_are_said_as_such() -> None:
    now = 1_796_500_000_000  # 2026-12-05 19:46 (UTC)
    assert words.when(now + 12 * 60_000 + 5_000, now, "UTC").endswith(", in 12 min")
    assert words.when(now + 26 * 3_600_000, now, "UTC").startswith("tomorrow at ")
    in_a_month = words.when(now + 30 * 24 * 3_600_000, now, "UTC")
    assert "just now" not in in_a_month
    assert in_a_month.endswith(" Jan at " + words.clock_time(now, "UTC"))
    assert words.when(now - 3 * 60_000, now, "UTC").endswith(", 3 min ago")
    assert words.when(now + 30_000, now, "UTC").endswith(", just now")  # a clock a bit ahead


def test_with_nobody_to_follow_her_walk_its_form_asks_nothing_and_says_what_to_do(
    cast: Cast,
) -> None:
    """A first-time walker filled in the whole form (place, PIN twice) to be told at the end
    that nobody would follow the walk. The page says so first, with the one thing to do."""
    nina = cast.person("Nina")
    shown = page(cast.client, "/walks/new", nina)
    assert shown.status_code == 200
    said = text_of(shown.text)
    assert "someone must follow it: ask a friend to be your companion first" in said
    assert 'href="/contacts" id="ask-companion"' in shown.text
    assert 'id="start-form"' not in shown.text
    assert 'name="pin"' not in shown.text


def test_her_pin_on_her_page_during_a_wrong_pin_alarm_says_none_is_taken(cast: Cast) -> None:
    """After the third wrong PIN (and any PIN after it) her page said "That PIN is not
    right. Try again." above a section saying no PIN can end the alarm; a PIN during that
    alarm led to a bare error page. Her page says no PIN is taken, whichever PIN it was."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    for _ in range(2):
        assert post_form(cast, mira, f"/walks/{wid}/ok", pin="0000").status_code == 403
    third = post_form(cast, mira, f"/walks/{wid}/ok", pin="0000")
    cast.clock.advance(seconds=5)
    right = post_form(cast, mira, f"/walks/{wid}/inside", pin=PIN)
    for answer in (third, right):
        assert answer.status_code == 403
        said = text_of(answer.text)
        assert "That PIN was not taken: no PIN can end this alarm now." in said
        assert "Try again" not in said
        assert "Only the people following your walk can end this alarm" in said
        assert 'id="ok-form" hidden' in answer.text


def test_her_recent_walks_say_an_alarm_and_who_said_she_was_safe(cast: Cast) -> None:
    """A walk with an alarm, ended by Noor finding her at a café, was listed as "got in
    safely" (the story played through the pages)."""
    mira, noor, _phone, walk = cast.walking()
    url = f"/api/walks/{walk['id']}"
    assert cast.client.post(f"{url}/sos", headers=mira.auth).status_code == 200
    found = {"note": "She is with me at the cafe", "home": True}
    assert cast.client.post(f"{url}/resolve", json=found, headers=noor.auth).status_code == 200
    home = text_of(page(cast.client, "/", mira).text)
    assert "to home: safe: Noor said so, after an alarm" in home
    assert "got in safely" not in home


@pytest.mark.streets
def test_a_place_tapped_on_the_map_without_a_name_is_called_by_its_streets(cast: Cast) -> None:
    """Her companions' page and their alerts said nothing of where she was going (or its
    coordinates): a place given no name is called by the streets nearest it, as the map's
    "Chosen on the map: near Kaivokatu" said it to her when she tapped it."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    lat, lon = START  # by Kaivokatu
    named = cast.client.get(f"/api/map/named?lat={lat}&lon={lon}", headers=mira.auth).json()
    assert named["near"] == "Kaivokatu"
    started = post_form(
        cast, mira, "/walks/new", place="coords", coords=f"{lat}, {lon}",
        **{f"companion_{noor.id}": "on"}, pin=PIN, pin_again=PIN, minutes="20",
    )  # fmt: skip
    assert started.status_code == 303
    walk_id = int(started.headers["location"].rsplit("/", 1)[1])
    going = cast.client.get(f"/api/walks/{walk_id}", headers=noor.auth).json()["destination"]
    assert going["name"] == f"near {named['near']}"
    # Asked of nobody's map by a stranger: the names are for signed-in people picking a place.
    assert cast.client.get(f"/api/map/named?lat={lat}&lon={lon}").status_code == 401
