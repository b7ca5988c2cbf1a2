"""The pages over HTTP, without a browser: who gets which page, the headers on every answer,
forms that must come from our pages, the link pages beside the JSON, the map's background.
(The browser tests, test_pages_browser.py, drive the same pages in Chromium.)"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import copy_of, make_services
from tests.people import HOME, PIN, START, Cast, Member, between
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.notify.messages import render_html, with_link
from walkwithme.store.schema import alerts
from walkwithme.usecases import shares
from walkwithme.web import walk_start

pytestmark = pytest.mark.one_database  # on SQLite only (conftest.py says why)

OURS = {"sec-fetch-site": "same-origin"}


HOME_WARD = between(START, HOME, 0.2)


def cookie(member: Member) -> dict[str, str]:
    return {"Cookie": f"wwm_session={member.token}"}


def page(client: TestClient, path: str, who: Member | None = None) -> Any:
    return client.get(
        path,
        headers={"accept": "text/html", **(cookie(who) if who else {})},
        follow_redirects=False,
    )


def post_form(cast: Cast, who: Member, path: str, shown: str, fields: str = "") -> Any:
    """`who` posts a form of our page `shown` (its CSRF token, from our own origin), as the
    browser would; `fields`: the rest of the form, urlencoded."""
    return cast.client.post(
        path,
        content=f"csrf={csrf_of(shown)}" + (f"&{fields}" if fields else ""),
        headers={"content-type": "application/x-www-form-urlencoded", **cookie(who), **OURS},
        follow_redirects=False,
    )


def text_of(html: str) -> str:
    """What a reader sees: no tags, entities undone, spaces squeezed."""
    plain = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&#39;", "'"), ("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<")):
        plain = plain.replace(entity, char)
    return re.sub(r"\s+", " ", plain)


def timeline_of(html: str) -> str:
    """What the page's timeline says ("What happened"), as a reader sees it."""
    found = re.search(r'<ol id="timeline".*?</ol>', html, re.S)
    assert found is not None
    return text_of(found.group())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def test_every_answer_carries_the_security_headers(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    for path, who in (("/signin", None), (f"/walks/{walk['id']}", noor), ("/healthz", None)):
        answer = page(cast.client, path, who)
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store", path  # it may show a position
    api = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth)
    assert api.headers["cache-control"] == "no-store"


def test_static_files_have_a_content_hash_and_are_kept_for_a_year(cast: Cast) -> None:
    html = page(cast.client, "/signin").text
    css = re.search(r'href="(/static/([0-9a-f]{12})/style\.css)"', html)
    assert css is not None
    answer = cast.client.get(css.group(1))
    assert answer.status_code == 200
    assert "immutable" in answer.headers["cache-control"]
    assert cast.client.get("/static/000000000000/style.css").status_code == 404
    assert cast.client.get("/static/" + css.group(2) + "/../../api/app.py").status_code == 404


def test_a_walk_page_is_for_those_who_may_see_the_walk(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix((60.17096, 24.94137)))
    sam = cast.person("Sam")
    path = f"/walks/{walk['id']}"
    assert page(cast.client, path).headers["location"] == f"/signin?next={path}"
    # Signing in from an alert's link says what it is for, and not to wait in danger (it was
    # the plain form: a companion's night review); and how to get a forgotten password.
    signing_in = text_of(page(cast.client, f"/signin?next={path}").text)
    assert (
        "Sign in to see the walk your alert is about. If someone may be in danger now, don't"
        in (signing_in)
    )
    assert "Whoever runs this service can set a new one for you." in signing_in
    assert "your alert is about" not in text_of(page(cast.client, "/signin?next=/").text)
    assert page(cast.client, path, sam).status_code == 404
    assert page(cast.client, "/walks/999", noor).status_code == 404
    shown = page(cast.client, path, noor)
    assert shown.status_code == 200
    assert "Mira is on the way" in shown.text
    assert 'id="distance-left">1.' in shown.text  # km, said before any script runs
    assert "I&#39;m on it" in shown.text or "I'm on it" in shown.text


def test_before_its_script_runs_the_page_says_how_old_her_position_is_and_if_she_is_late(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    path = f"/walks/{walk['id']}"
    assert 'class="pill amber">No position yet<' in page(cast.client, path, noor).text
    cast.send(phone, cast.fix((60.17096, 24.94137)))
    fresh = page(cast.client, path, noor).text
    assert 'class="pill ">Not live yet<' in fresh  # the script says "Live" once connected
    assert " late<" not in fresh
    cast.clock.advance(seconds=61)
    assert 'class="pill amber">No position for 1 min<' in page(cast.client, path, noor).text
    cast.clock.set(walk["expected_at"] + 5 * 60_000)
    stale = page(cast.client, path, noor).text
    assert 'class="pill red">No position for ' in stale
    assert re.search(r'id="expected" class="late">\d\d:\d\d, 5 min late<', stale)


def test_his_page_says_she_was_asked_are_you_ok_and_by_when_then_why_the_alarm_is(
    cast: Cast,
) -> None:
    """Her phone goes silent and she is asked "Are you OK?": his page says so on its first
    screen, and when the alarm is raised without an answer (it said "Mira is on the way" until
    then). Unanswered, the alarm's banner says why she was asked: whether to call her or go
    where she was seen hangs on it."""
    mira, noor, phone, walk = cast.walking()
    cast.client.patch("/api/me", json={"phone": "+358 40 123 4567"}, headers=mira.auth)
    cast.send(phone, cast.fix(HOME_WARD))
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["check"]
    asked = next(e for e in cast.events(noor, walk) if e["kind"] == "check")
    by = datetime.fromtimestamp(asked["answer_by"] / 1000, UTC).strftime("%H:%M")
    shown = page(cast.client, f"/walks/{walk['id']}", noor).text
    said = re.search(r'<p id="asked"[^>]*>(.*?)</p>', shown, re.S)
    assert said is not None
    assert "hidden" not in said[0].split(">")[0]
    assert text_of(said[1]).strip() == (
        f"Mira was asked “Are you OK?”: the phone went silent. If Mira doesn't answer by {by},"
        " the alarm is raised."
    )
    # A call may be all she needs: the way to, by what he reads (it was screens down).
    assert '<a class="button huge call-button" id="asked-call" href="tel:+358401234567" >' in shown
    # His home page's card says it too (it said "Mira is on the way").
    home = text_of(page(cast.client, "/", noor).text)
    assert (
        "3 min ago Mira was asked “Are you OK?”: the phone went silent. If Mira doesn't answer "
        f"by {by}, the alarm is raised." in home
    )
    cast.clock.advance(minutes=2)
    assert cast.services.watchdog.tick_sync() == ["alarm"]
    assert "was asked" not in text_of(page(cast.client, "/", noor).text)
    shown = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert re.search(r'<p id="asked"[^>]*hidden', shown)
    assert 'id="asked-call" href="tel:+358401234567" hidden>' in shown
    banner = re.search(r'<h2 id="alarm-reason">(.*?)</h2>', shown, re.S)
    assert banner is not None
    assert banner[1] == "No answer to “Are you OK?”, asked because: the phone went silent"
    # Marking her safe without ending the walk: said what comes of it if her phone stays silent.
    assert "Not ticked, the walk goes on: if in a few minutes Mira's phone is still silent" in (
        text_of(shown)
    )


def test_a_walk_that_is_over_tells_its_companions_how_and_nobody_else_that_it_was(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    gus, sam, otto = cast.person("Gus"), cast.person("Sam"), cast.person("Otto")
    cast.link(mira, gus, role="guardian")
    contact = cast.link(mira, otto)  # a companion of hers, but not chosen for this walk
    cast.send(phone, cast.fix((60.17096, 24.94137)))
    path = f"/walks/{walk['id']}"
    cast.clock.set(1_780_000_000_000)  # 20:26:40 UTC
    inside = {"pin": PIN, "note": "Thank you!"}
    cast.client.post(f"/api/walks/{walk['id']}/inside", json=inside, headers=mira.auth)
    over = page(cast.client, path, noor)
    assert over.status_code == 200
    said = text_of(over.text)
    assert "Mira's walk is over" in said
    assert "Mira is inside, not where the walk was going: since today at 20:26." in said
    assert "Mira's last word: “Thank you!”" in said
    assert 'href="/">Back to your page' in over.text
    # Nothing of where she was: no map, no position, no data for a script.
    for shown in ('id="map"', "60.17", "24.94", "walk-data", "leaflet", "tel:"):
        assert shown not in over.text, shown
    # Anyone else gets exactly the page of a walk that never existed.
    never = page(cast.client, "/walks/999", sam)
    assert never.status_code == 404
    for who in (sam, gus, otto):
        theirs = page(cast.client, path, who)
        assert theirs.status_code == 404
        assert theirs.text == never.text.replace("Sam", who.name)
    # Nor does a companion whose contact with her has ended since.
    his = cast.client.get("/api/contacts", headers=noor.auth).json()
    with_her = next(c["id"] for c in his if c["person"]["id"] == mira.id)
    assert cast.client.delete(f"/api/contacts/{with_her}", headers=noor.auth).status_code == 204
    assert page(cast.client, path, noor).status_code == 404
    assert contact  # (Otto's contact stands: he was not chosen for this walk)


def test_a_walk_that_ended_early_or_through_an_alarm_says_so(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.clock.set(1_780_000_000_000)  # 20:26:40 UTC
    early = cast.start_walk(mira)
    ended = {"pin": PIN, "note": "Got a taxi"}
    cast.client.post(f"/api/walks/{early['id']}/end", json=ended, headers=mira.auth)
    said = text_of(page(cast.client, f"/walks/{early['id']}", noor).text)
    assert "Mira ended the walk today at 20:26." in said
    assert "Mira's last word: “Got a taxi”" in said
    # Made to end it with her duress PIN: for Noor an alarm, which he resolves.
    forced = cast.start_walk(mira, duress_pin="1357")
    cast.client.post(f"/api/walks/{forced['id']}/end", json={"pin": "1357"}, headers=mira.auth)
    cast.clock.advance(minutes=10)
    found = {"note": "She is with me now"}
    done = cast.client.post(f"/api/walks/{forced['id']}/resolve", json=found, headers=noor.auth)
    assert done.status_code == 200, done.text
    said = text_of(page(cast.client, f"/walks/{forced['id']}", noor).text)
    # Noor reads what he did as "you" (it read "Noor resolved the alarm" to Noor).
    assert "You resolved the alarm today at 20:36, and the walk is over." in said
    assert "Your note: “She is with me now”" in said
    assert "There was an alarm today at 20:26" in said
    assert "; you ended it today at 20:36: “She is with me now”." in said


def test_her_sos_ended_with_her_duress_pin_is_said_as_it_happened(cast: Cast) -> None:
    """Her SOS, made to end with her duress PIN: Noor's timeline says the silent alarm it
    became (it said "Mira gave the duress PIN again" when she gave it once), and once Noor
    has found her, the walk's page says the alarm he ended (it said "There was an alarm (SOS
    pressed); Mira ended it")."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.clock.set(1_780_000_000_000)  # 20:26:40 UTC
    walk = cast.start_walk(mira, duress_pin="1357")
    path, url = f"/walks/{walk['id']}", f"/api/walks/{walk['id']}"
    cast.client.post(f"{url}/sos", headers=mira.auth)
    cast.clock.advance(minutes=1)
    cast.client.post(f"{url}/ok", json={"pin": "1357"}, headers=mira.auth)
    said = timeline_of(page(cast.client, path, noor).text)
    silent = "ALARM: a silent call for help: the duress PIN was given"
    assert "Mira gave the duress PIN to end the alarm" in said
    assert silent in said
    assert "again" not in said
    # Given again, it is said again, with what for.
    cast.clock.advance(minutes=1)
    cast.client.post(f"{url}/extend", json={"pin": "1357", "minutes": 5}, headers=mira.auth)
    said = timeline_of(page(cast.client, path, noor).text)
    assert "ALARM: Mira gave the duress PIN again to ask for more time" in said
    assert said.count("again") == 1
    cast.clock.advance(minutes=8)
    found = {"note": "She is with me", "home": True}
    assert cast.client.post(f"{url}/resolve", json=found, headers=noor.auth).status_code == 200
    over = text_of(page(cast.client, path, noor).text)
    assert (
        "There was an alarm today at 20:26 (SOS pressed, then the duress PIN was given: a "
        "silent call for help); you ended it today at 20:36: “She is with me”."
    ) in over
    assert "Mira ended it" not in over


def test_her_duress_inside_resolved_without_home_is_not_said_home_by_whoever_ended_it(
    cast: Cast,
) -> None:
    """Made to say "I'm inside" with her duress PIN, 1 km from home; Noor ends the silent
    alarm without "she is home": the walk's page said "Mira got home: you said so" (an
    outside review)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.clock.set(1_780_000_000_000)  # 20:26:40 UTC
    walk = cast.start_walk(mira, duress_pin="1357")
    path, url = f"/walks/{walk['id']}", f"/api/walks/{walk['id']}"
    cast.send(cast.device(mira), cast.fix((60.1699, 24.9384)))
    cast.client.post(f"{url}/inside", json={"pin": "1357"}, headers=mira.auth)
    # His form says marking her safe ends the walk (it said the walk would go on).
    during = page(cast.client, path, noor).text
    assert re.search(r'<div id="goes-on" hidden>', during)
    assert re.search(r'<p id="ends-too" >Mira\'s phone was made to end the walk', during)
    assert re.search(r'<p id="stopped-sharing" >If Mira shares where Mira is', during)
    cast.clock.advance(minutes=10)
    found = {"note": "Called her sister"}
    assert cast.client.post(f"{url}/resolve", json=found, headers=noor.auth).status_code == 200
    over = text_of(page(cast.client, path, noor).text)
    assert "You resolved the alarm today at 20:36, and the walk is over." in over
    assert "got home" not in over


def test_the_maps_legend_names_the_way_to_where_she_is_going(cast: Cast) -> None:
    """A walk to a place that is not home: its route is not "the way home"."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    for name, said in (("home", "the way home"), ("Aino's", "the way to Aino's")):
        to = {"lat": HOME[0], "lon": HOME[1], "radius": 40, "name": name}
        walk = cast.start_walk(mira, destination=to)
        legend = re.search(
            r'<p class="legend">.*?</p>', page(cast.client, f"/walks/{walk['id']}", noor).text
        )
        assert legend is not None
        assert text_of(legend.group()).strip().endswith(said), legend.group()
        ended = cast.client.post(
            f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth
        )
        assert ended.status_code == 200, ended.text


def test_forms_need_our_pages_and_the_sessions_token(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    path = f"/walks/{walk['id']}"
    token = csrf_of(page(cast.client, path, noor).text)
    ack = f"{path}/ack"
    form = {"content-type": "application/x-www-form-urlencoded", **cookie(noor)}
    cross = {**form, "sec-fetch-site": "cross-site"}
    assert cast.client.post(ack, content=f"csrf={token}", headers=cross).status_code == 403
    assert cast.client.post(ack, content="csrf=nope", headers={**form, **OURS}).status_code == 403
    done = cast.client.post(
        ack, content=f"csrf={token}", headers={**form, **OURS}, follow_redirects=False
    )
    assert done.status_code == 303
    # Her own page says it to her as "you", the walker's as Noor.
    assert "You are on it." in page(cast.client, path, noor).text
    assert "Noor is on it." in page(cast.client, path, mira).text


def test_the_pages_script_acts_in_place_with_the_same_checks(cast: Cast) -> None:
    """Posted by the page's script (asking for JSON), a reply or "Mark safe" is answered in
    words, not with the page again; our pages and the session's token are still required."""
    mira, noor, _phone, walk = cast.walking()
    path = f"/walks/{walk['id']}"
    token = csrf_of(page(cast.client, path, noor).text)
    form = {
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
        **cookie(noor),
    }
    reply = f"{path}/message"
    body = f"csrf={token}&text=On+my+way"
    cross = cast.client.post(reply, content=body, headers={**form, "sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
    forged = cast.client.post(reply, content="csrf=nope&text=On+my+way", headers={**form, **OURS})
    assert forged.status_code == 403
    sent = cast.client.post(reply, content=body, headers={**form, **OURS})
    assert sent.status_code == 200
    assert sent.json() == {"said": "Sent: “On my way”"}
    said = [e["text"] for e in cast.events(mira, walk) if e["kind"] == "message"]
    assert said == ["On my way"]
    # Not in an alarm: why not, in words, as the API says it.
    safe = cast.client.post(
        f"{path}/resolve", content=f"csrf={token}&note=ok", headers={**form, **OURS}
    )
    assert safe.status_code == 409
    assert "error" in safe.json()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    safe = cast.client.post(
        f"{path}/resolve", content=f"csrf={token}&note=ok", headers={**form, **OURS}
    )
    assert safe.status_code == 200
    assert safe.json()["said"].startswith("Done: the alarm is over")
    # Each timeline says who ended it, and quotes what they said of it.
    for who, ended in ((noor, "You ended the alarm: “ok”"), (mira, "Noor ended the alarm: “ok”")):
        assert ended in html.unescape(page(cast.client, path, who).text)
    assert (
        cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == "active"
    )
    # A stranger's in-place post learns nothing more than a form's would.
    sam = cast.person("Sam")
    theirs = cast.client.post(
        reply,
        content=f"csrf={csrf_of(page(cast.client, '/', sam).text)}&text=On+my+way",
        headers={**form, **cookie(sam), **OURS},
    )
    assert theirs.status_code == 404
    assert theirs.json() == {"error": "no such walk"}


def test_signing_in_sets_the_session_cookie_and_signing_out_ends_it(cast: Cast) -> None:
    noor = cast.person("Noor")
    form = {"content-type": "application/x-www-form-urlencoded", **OURS}
    wrong = cast.client.post(
        "/signin", content="email=noor%40example.org&password=nope", headers=form
    )
    assert wrong.status_code == 401
    assert "don&#39;t match" in wrong.text or "don't match" in wrong.text
    right = cast.client.post(
        "/signin",
        content="email=noor%40example.org&password=correct+horse+battery&next=/walks/1",
        headers=form,
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/walks/1"
    set_cookie = right.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    session = right.cookies["wwm_session"]
    home = cast.client.get("/", headers={"Cookie": f"wwm_session={session}"})
    assert "Hello, Noor" in home.text
    # Back to the sign-in page once signed in: on to where it led, not the form again.
    back = cast.client.get(
        "/signin?next=/walks/1",
        headers={"Cookie": f"wwm_session={session}"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    assert back.headers["location"] == "/walks/1"
    out = cast.client.post(
        "/signout",
        content=f"csrf={csrf_of(home.text)}",
        headers={**form, "Cookie": f"wwm_session={session}"},
        follow_redirects=False,
    )
    assert out.headers["location"] == "/signin"
    again = cast.client.get(
        "/", headers={"Cookie": f"wwm_session={session}"}, follow_redirects=False
    )
    assert again.headers["location"] == "/signin"
    assert noor.id  # (her other sessions go on)


def test_an_alarms_link_after_its_hour_says_the_alarm_is_over_and_how(cast: Cast) -> None:
    """Her guardian opens an old alarm's link before the alert that said it was over: the
    page said only "This link has expired". It says the alarm is over, and whether she ended
    it with her PIN; nothing of her (a link may be forwarded)."""
    mira, _noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix((60.1700, 24.9414)))
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    token = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    assert "ALARM" in page(cast.client, f"/api/share/{token}").text
    ok = cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    assert ok.status_code == 200, ok.text
    cast.clock.advance(minutes=61)
    over = page(cast.client, f"/api/share/{token}")
    assert over.status_code == 404
    said = text_of(over.text)
    assert "This alarm is over" in said
    assert "It was ended 1 h 1 min ago, with the walker's own PIN." in said
    assert 'href="tel:112"' in over.text  # "Still worried? Call for help": a tap to call
    assert "Mira" not in over.text
    assert "60.17" not in over.text


def test_an_alarms_link_says_nothing_of_an_end_her_duress_pin_made_nor_of_an_old_alarm(
    cast: Cast,
) -> None:
    """Her duress PIN given to her SOS's "I'm OK" ended nothing: the page said "with the
    walker's own PIN". And an old alarm's end, while a newer alarm goes on, would reassure
    wrongly: "expired", saying nothing of the newer one (a review)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira, duress_pin="1357")
    cast.send(phone, cast.fix((60.1700, 24.9414)))
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    token = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    forced = cast.client.post(
        f"/api/walks/{walk['id']}/ok", json={"pin": "1357"}, headers=mira.auth
    )
    assert forced.status_code == 200, forced.text
    cast.clock.advance(minutes=5)
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "with her"}, headers=noor.auth
    )
    assert ended.status_code == 200, ended.text
    cast.clock.advance(minutes=61)
    said = text_of(page(cast.client, f"/api/share/{token}").text)
    assert "It was ended 1 h 1 min ago by someone following the walk" in said
    # A new alarm on the walk: the old link says only that it has expired.
    cast.send(phone, cast.fix((60.1701, 24.9414)))
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    again = text_of(page(cast.client, f"/api/share/{token}").text)
    assert "This link has expired" in again
    assert "This alarm is over" not in again


def test_an_alarm_after_one_marked_safe_says_on_the_page_it_is_a_new_one(cast: Cast) -> None:
    """Noor marked her safe, the walk went on, and the alarm came back: the alerts said it
    was a new one, the page's banner did not (Sam took it for the old one: a review)."""
    mira, noor, sam = cast.person("Mira"), cast.person("Noor"), cast.person("Sam")
    cast.link(mira, noor)
    cast.link(mira, sam)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.client.post(f"/api/walks/{walk['id']}/resolve", json={"note": "ok"}, headers=noor.auth)
    calm = text_of(page(cast.client, f"/walks/{walk['id']}", sam).text)
    assert "A new alarm" not in calm
    cast.clock.advance(minutes=7)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    said = re.compile(r"A new alarm: (\w+) ended the last one at \d\d:\d\d, and the walk went on\.")
    his = said.search(text_of(page(cast.client, f"/walks/{walk['id']}", sam).text))
    assert his is not None
    assert his.group(1) == "Noor"
    yours = said.search(text_of(page(cast.client, f"/walks/{walk['id']}", noor).text))
    assert yours is not None
    assert yours.group(1) == "you"
    # Through an alarm's link (no reader's zone): no time, rather than UTC's wrong hour.
    token = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    linked = text_of(page(cast.client, f"/api/share/{token}").text)
    assert "A new alarm: Noor ended the last one, and the walk went on." in linked


def test_a_link_is_a_page_for_browsers_and_json_for_clients(cast: Cast) -> None:
    mira, _noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix((60.1700, 24.9414)))
    link = cast.client.post(f"/api/walks/{walk['id']}/shares", json={"hours": 1}, headers=mira.auth)
    token = link.json()["token"]
    as_page = page(cast.client, f"/api/share/{token}")
    assert as_page.headers["content-type"].startswith("text/html")
    assert "Mira is on the way" in as_page.text
    as_json = cast.client.get(f"/api/share/{token}")
    assert as_json.json()["walker"] == {"name": "Mira"}
    cast.clock.advance(minutes=61)
    expired = page(cast.client, f"/api/share/{token}")
    assert expired.status_code == 404
    assert "This link has expired" in expired.text
    assert "60.17" not in expired.text
    assert "Mira" not in expired.text


def test_the_maps_background_is_for_those_who_may_see_the_walk(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    sam = cast.person("Sam")
    path = f"/api/walks/{walk['id']}/map"
    assert cast.client.get(path, headers=sam.auth).status_code == 404
    # Without a street map: nothing to draw but what the page has.
    assert cast.client.get(path, headers=noor.auth).json() == {"route": None, "streets": []}
    alarm = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    assert cast.client.get(f"/api/share/{alarm}/map").status_code == 404  # not in alarm


@pytest.mark.streets
def test_with_a_street_map_the_map_shows_the_streets_around_the_walk(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    drawn = cast.client.get(f"/api/walks/{walk['id']}/map", headers=noor.auth).json()
    assert len(drawn["route"]) > 10
    assert len(drawn["streets"]) > 100
    lats = [p[0] for line in drawn["streets"] for p in line]
    # Around the walk (60.161 to 60.171), not the whole city.
    assert min(lats) > 60.150
    assert max(lats) < 60.185


def test_docs_are_served_from_here_and_redoc_is_gone(cast: Cast) -> None:
    docs = cast.client.get("/docs")
    assert docs.status_code == 200
    assert "https://" not in docs.text
    assert "/static/" in docs.text
    assert cast.client.get("/redoc").status_code == 404
    # What /docs shows: (one operation id each, or it fails under pytest's warnings)
    assert cast.client.get("/openapi.json").json()["info"]["title"] == "Walk With Me"
    worker = cast.client.get("/sw.js")
    assert "notificationclick" in worker.text
    assert worker.headers["content-type"].startswith("text/javascript")


def test_the_worker_keeps_the_no_network_page_and_what_it_loads_and_nothing_of_anyone(
    cast: Cast,
) -> None:
    """sw.js is told which files of this release "No network" needs: each is served, and the
    page is the same for everyone, signed in or not (it is kept on phones)."""
    worker = cast.client.get("/sw.js").text
    kept = re.match(r"const OFFLINE = (\{.*?\});\n", worker)
    assert kept is not None, worker[:200]
    told = json.loads(kept[1])
    assert told["page"] == "/offline"
    for path in told["files"]:
        assert cast.client.get(path).status_code == 200, path
    anonymous = cast.client.get("/offline")
    assert anonymous.status_code == 200
    assert "<h1>No network</h1>" in anonymous.text
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', anonymous.text):
        assert url in told["files"], url  # it opens without a network
    mira = cast.walking()[0]  # on a walk, signed in: the same page, nothing of hers
    assert page(cast.client, "/offline", mira).text == anonymous.text


def test_alerts_about_a_walk_link_to_its_page() -> None:
    base = "https://walk.example.org"
    started = with_link({"kind": "started", "walk_id": 7}, base)
    assert started["link"] == "https://walk.example.org/walks/7"
    check = with_link({"kind": "check", "walk_id": 7, "link_path": "/answer/abc"}, base)
    assert check["link"] == "https://walk.example.org/answer/abc"
    assert "link" not in with_link({"kind": "offer"}, base)
    html = render_html({**started, "walker": {"name": "A<b>"}})
    assert '<a href="https://walk.example.org/walks/7">' in html
    assert "A&lt;b&gt;" in html


def checks_link(cast: Cast) -> str:
    """Mira walks, her phone silent: she is asked "Are you OK?"; the link in her alert."""
    mira, *_ = cast.walking()
    cast.channel(mira)  # the link waits in the outbox only while it may be sent (privacy.md)
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["check"]
    with cast.services.db.read_engine.connect() as conn:
        path: str = conn.execute(
            sa.select(alerts.c.payload["link_path"].as_string()).where(alerts.c.kind == "check")
        ).scalar_one()
    return path


def test_the_checks_page_asks_once_and_then_says_it_was_answered(cast: Cast) -> None:
    path = checks_link(cast)
    asked = page(cast.client, path)
    assert "Are you OK?" in asked.text
    assert 'for="pin"' in asked.text
    assert "/static/" in asked.text  # dressed like the other pages
    thanked = cast.client.post(path, data={"pin": "2468"})
    assert thanked.status_code == 200
    # ...with the way back to her walk (the page ended there: an outside review).
    assert re.search(
        r'<a class="button primary huge" href="/walks/\d+">Open your walk</a>', thanked.text
    )
    again = page(cast.client, path)
    assert "Already answered" in again.text
    assert 'name="pin"' not in again.text


def test_a_guardian_signed_in_acts_on_the_alarm_from_its_link(cast: Cast) -> None:
    mira, noor, _phone, walk = cast.walking()
    gus = cast.person("Gus")
    cast.link(mira, gus, role="guardian")
    cast.channel(gus)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=3)  # nobody is on it: the alarm climbs to Gus, with its link
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    token = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    link = f"/api/share/{token}"
    anyone = page(cast.client, link)
    assert "Sign in to say you're on it</a>" in anyone.text
    assert "I&#39;m on it</button>" not in anyone.text
    shown = page(cast.client, link, gus)
    assert "I&#39;m on it</button>" in shown.text or "I'm on it</button>" in shown.text
    done = post_form(cast, gus, f"/walks/{walk['id']}/ack", shown.text, f"back={link}")
    assert done.headers["location"] == link
    assert "You are on it." in page(cast.client, link, gus).text
    assert "Gus is on it." in page(cast.client, f"/walks/{walk['id']}", noor).text
    # Noor comes too: each page names the other first, and each person once (Gus's second
    # "I'm on it" adds nobody).
    post_form(cast, noor, f"/walks/{walk['id']}/ack", page(cast.client, link, noor).text)
    cast.clock.advance(minutes=11)
    post_form(cast, gus, f"/walks/{walk['id']}/ack", page(cast.client, link, gus).text)
    assert "You and Noor are on it." in page(cast.client, link, gus).text
    shown_noor = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert "Gus and you are on it." in shown_noor
    said = re.findall(r'class="kind-alarm_acknowledged">.*?</span> ([^<]*)</li>', shown_noor)
    assert said == ["Gus is on it", "You are on it", "Gus is on it"]  # newest first
    # Her guardian's page is the link's: the walk's own page is for her companions.
    assert page(cast.client, f"/walks/{walk['id']}", gus).status_code == 404


def test_her_number_is_for_her_companions_and_her_alarms_link_and_nobody_else(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix((60.17096, 24.94137)))
    path = f"/walks/{walk['id']}"
    # She gave none: her companion's page says so, in words.
    assert "No phone number given" in page(cast.client, path, noor).text
    set_phone = {"phone": "+358 40 123-4567"}
    assert cast.client.patch("/api/me", json=set_phone, headers=mira.auth).status_code == 200
    dial = 'href="tel:+358401234567"'
    followed = page(cast.client, path, noor).text
    assert f"<a {dial}>+358 40 123-4567</a>" in followed  # beside her battery
    # A link she made shows her walk, not her number; a stranger sees nothing at all.
    made = cast.client.post(f"/api/walks/{walk['id']}/shares", json={}, headers=mira.auth)
    shared = page(cast.client, f"/api/share/{made.json()['token']}").text
    assert "Mira is on the way" in shared
    assert "4567" not in shared
    assert "phone number" not in shared
    sam = cast.person("Sam")
    assert page(cast.client, path, sam).status_code == 404
    assert "4567" not in page(cast.client, path, sam).text
    assert "4567" not in cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).text

    # In her alarm: one big button that dials her, on his page and through the alarm's link.
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    call = f'<a class="button huge call-button" id="call" {dial}>Call Mira: +358 40 123-4567</a>'
    assert call in page(cast.client, path, noor).text
    token = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    link = f"/api/share/{token}"
    assert call in page(cast.client, link).text
    assert "4567" not in page(cast.client, f"/api/share/{made.json()['token']}").text
    # Once the alarm is over, its link (which shows the walk an hour more) shows no number.
    resolved = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "All fine"}, headers=noor.auth
    )
    assert resolved.status_code == 200, resolved.text
    after = page(cast.client, link)
    assert after.status_code == 200
    assert "Mira is on the way" in after.text
    assert "4567" not in after.text


def _then_sos(cast: Cast, mira: Member, walk: dict[str, Any]) -> None:
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)


def _then_wrong_pins(cast: Cast, mira: Member, walk: dict[str, Any]) -> None:
    for _ in range(3):
        cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": "0000"}, headers=mira.auth)


def _nothing_more(cast: Cast, mira: Member, walk: dict[str, Any]) -> None:
    return None


@pytest.mark.parametrize(
    ("before", "forced", "then"),
    [
        (None, "extend", _nothing_more),
        (None, "extend", _then_sos),  # an alarm her devices are shown, over the silent one
        (None, "extend", _then_wrong_pins),
        (_then_sos, "ok", _nothing_more),  # made to end her SOS with her duress PIN
    ],
    ids=["duress PIN", "then SOS", "then wrong PINs", "SOS ended with it"],
)
def test_after_her_duress_pin_her_companions_page_offers_no_call(
    cast: Cast, before: Any, forced: str, then: Any
) -> None:
    """Whatever alarm her devices are shown afterwards, the silent one goes on: no call
    button, no quick replies (they reach the phone someone else may hold), the warning."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.client.patch("/api/me", json={"phone": "+358 40 123 4567"}, headers=mira.auth)
    walk = cast.start_walk(mira, duress_pin="1357")
    if before is not None:
        before(cast, mira, walk)
    body = {"pin": "1357", **({"minutes": 10} if forced == "extend" else {})}
    answered = cast.client.post(f"/api/walks/{walk['id']}/{forced}", json=body, headers=mira.auth)
    assert answered.status_code == 200, answered.text
    then(cast, mira, walk)
    shown = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert "whoever is with Mira could see it" in shown
    assert 'id="alarm-silent" class="big" hidden' not in shown
    banner = re.search(r'<section id="alarm"[^>]*>', shown)
    assert banner is not None
    assert "hidden" not in banner.group(), banner
    assert "tel:+" not in shown  # (the emergency number is there: "Call 112")
    assert "Call Mira" not in shown
    assert "123 4567" not in shown  # (not "4567": a random token may hold it)
    assert "401234567" not in shown
    assert 'class="replies"' not in shown
    # His note on marking her safe may show on her phone: the page says so by it.
    assert 'id="note-phone" class="notice bad" >' in shown
    assert 'aria-describedby="note-phone"' in shown
    # What she was made to do reads as such, not as "Mira asked for more time" (or "answered
    # “I'm OK”") above the alarm it raised.
    said = "Mira gave the duress PIN" + (
        " to ask for more time" if forced == "extend" else " to end the alarm"  # her SOS's
    )
    assert said in html.unescape(shown)
    # Nor does the alarm's link, opened without an account, say to call her.
    token = cast.services.writer.run_sync(lambda tx: shares.alarm_link(tx, walk["id"]))
    through = page(cast.client, f"/api/share/{token}").text
    assert "Call Mira" not in through
    assert "Go where Mira was last seen, or call for help" in through


def test_after_three_wrong_pins_his_note_is_said_to_reach_a_phone_someone_else_may_hold(
    cast: Cast,
) -> None:
    """Whoever guessed her PIN three times may hold her phone: his note on marking her safe
    shows there too (her timeline, her alert), and the form said so only after her duress
    PIN (an outside review of the alerts)."""
    mira, noor, _phone, walk = cast.walking()
    for _ in range(3):
        cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": "0000"}, headers=mira.auth)
    shown = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert 'id="note-phone" class="notice bad" >' in shown
    assert 'aria-describedby="note-phone"' in shown
    # What the lock means, and who ends it: "Wrong PIN three times" alone read as her cold
    # fingers, for her to sort out (a companion's review).
    assert "Someone else may have Mira's phone. Mira's own PIN no longer ends this alarm: only" in (
        text_of(shown)
    )
    lena, otto = cast.person("Lena"), cast.person("Otto")
    cast.link(lena, otto)
    other = cast.start_walk(lena)
    cast.client.post(f"/api/walks/{other['id']}/sos", headers=lena.auth)
    assert '<p id="alarm-locked" hidden>' in page(cast.client, f"/walks/{other['id']}", otto).text


def test_marked_safe_and_home_from_his_page_the_walk_is_over_and_says_who_said_so(
    cast: Cast,
) -> None:
    mira, noor, _phone, walk = cast.walking()
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    shown = page(cast.client, f"/walks/{walk['id']}", noor)
    assert "Mira is safe: end the walk too" in shown.text
    assert 'id="note-phone" class="notice bad" hidden' in shown.text  # (no duress PIN)
    done = post_form(
        cast, noor, f"/walks/{walk['id']}/resolve", shown.text, "note=She+is+in&home=yes"
    )
    assert done.status_code == 303, done.text
    over = html.unescape(page(cast.client, f"/walks/{walk['id']}", noor).text)
    # Safe where he found her, not "got home" (she may be at a friend's).
    assert "Mira is safe: you said so today at 20:26, and ended the walk." in over
    hers = page(cast.client, f"/walks/{walk['id']}", mira).text
    assert '<h1 id="headline">You are safe</h1>' in hers
    assert "Your note: “She is in”" in over
    # He ended it, not she: her page keeps a way to call for help (a mis-tap of his, with her
    # mid-street, took her SOS away), where her own end of a walk doesn't offer it.
    assert '<section id="not-safe" class="not-ok" aria-labelledby="not-safe-title" >' in hers
    assert "Start a walk again" in hers
    own = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{own['id']}/end", json={"pin": PIN}, headers=mira.auth)
    ended = page(cast.client, f"/walks/{own['id']}", mira).text
    assert '<section id="not-safe" class="not-ok" aria-labelledby="not-safe-title" hidden>' in ended


def test_his_home_lists_who_waits_for_his_answer_and_takes_it(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    asked_id = cast.ask(mira, noor)
    home = page(cast.client, "/", noor)
    assert "Mira asks you to be a companion" in home.text
    accepted = post_form(cast, noor, f"/contacts/{asked_id}/accept", home.text)
    assert accepted.headers["location"] == f"/?done=companion&contact={asked_id}"
    after = page(cast.client, accepted.headers["location"], noor).text
    assert "Nobody is waiting for you." in after
    # Said, and what it means for him from now on.
    assert "Accepted: you will see Mira's walks here when Mira shares one" in text_of(after)
    listed = cast.client.get("/api/contacts", headers=mira.auth).json()
    assert [c["state"] for c in listed] == ["accepted"]


def test_a_walker_nobody_follows_yet_is_shown_the_way_to_ask_someone(cast: Cast) -> None:
    mira = cast.person("Mira")
    home = page(cast.client, "/", mira).text
    assert "Walk me home" not in home
    assert '<a class="button primary huge" href="/contacts" id="ask-companion"' in home


def test_his_home_shows_the_offers_he_made_and_their_answers(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    made = cast.offer(noor, mira)
    assert made.status_code == 201, made.text
    assert "To walk Mira home" in page(cast.client, "/", noor).text
    assert "waiting for an answer" in page(cast.client, "/", noor).text
    declined = cast.client.post(
        f"/api/offers/{made.json()['id']}/decline", json={"note": "Not tonight"}, headers=mira.auth
    )
    assert declined.status_code == 200, declined.text
    home = page(cast.client, "/", noor).text
    assert "declined" in home
    assert "Not tonight" in home


def test_behind_https_the_session_cookie_is_secure(
    sqlite_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    svc = make_services(sqlite_url, tmp_path, clock, WWM_PUBLIC_URL="https://walk.example.org")
    with TestClient(create_app(svc), base_url="https://walk.example.org") as client:
        Cast(client, svc, clock).person("Noor")
        signed = client.post(
            "/signin",
            content="email=noor%40example.org&password=correct+horse+battery",
            headers={"content-type": "application/x-www-form-urlencoded", **OURS},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert "secure" in signed.headers["set-cookie"].lower()
    svc.db.dispose()


def test_the_sign_in_page_counts_guesses_as_the_api_does(cast: Cast) -> None:
    cast.person("Noor")
    form = {"content-type": "application/x-www-form-urlencoded", **OURS}
    wrong = "email=noor%40example.org&password=guess"
    statuses = [
        cast.client.post("/signin", content=wrong, headers=form).status_code for _ in range(10)
    ]
    assert statuses == [401] * 10
    refused = cast.client.post("/signin", content=wrong, headers=form)
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert 'id="password"' in refused.text  # the page still, saying why


def test_the_api_takes_cookie_writes_from_our_pages_own_fetches_only(cast: Cast) -> None:
    """Our pages send no referrer, so their fetches say `Origin: null`; the browser's
    Sec-Fetch-Site tells our pages from others."""
    noor = cast.person("Noor")
    hook = {"kind": "webhook", "target": "https://hooks.example.org/noor"}
    for site, expected in (("cross-site", 403), ("same-site", 403), ("same-origin", 201)):
        made = cast.client.post(
            "/api/channels",
            json=hook,
            headers={**cookie(noor), "Origin": "null", "sec-fetch-site": site},
        )
        assert made.status_code == expected, (site, made.text)


def test_the_pages_can_be_installed_as_an_app(cast: Cast) -> None:
    """A phone installs the pages from their manifest: name, start, standalone, and icons that
    the service really serves; every page links it and registers the service worker."""
    manifest = cast.client.get("/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    said = manifest.json()
    assert (said["name"], said["start_url"], said["display"]) == ("Walk With Me", "/", "standalone")
    assert {icon["sizes"] for icon in said["icons"]} == {"192x192", "512x512"}
    for icon in said["icons"]:
        served = cast.client.get(icon["src"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.content.startswith(b"\x89PNG")
    html = page(cast.client, "/signin").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    registering = re.search(r'src="(/static/[0-9a-f]+/app\.js)"', html)
    assert registering is not None
    assert 'register("/sw.js")' in cast.client.get(registering[1]).text


def _utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "typed", "due"),
    [
        # The night Helsinki's clocks go from 03:00 to 04:00 (EET to EEST), at 02:50: a time in
        # the hour they skip is when they reach it again, never after a later time.
        ("2026-03-29T00:50", "03:30", "2026-03-29T01:00"),
        ("2026-03-29T00:50", "04:10", "2026-03-29T01:10"),
        # The night they go back from 04:00 to 03:00: 03:30 is shown twice, the first is meant.
        ("2026-10-25T00:10", "03:30", "2026-10-25T00:30"),
        # An ordinary evening: later today, or tomorrow once the time has passed.
        ("2026-12-05T20:00", "23:30", "2026-12-05T21:30"),
        ("2026-12-05T20:00", "21:00", "2026-12-06T19:00"),
    ],
)
def test_a_timer_walks_check_time_is_the_next_time_her_clocks_show_it(
    now: str, typed: str, due: str
) -> None:
    assert walk_start._due_at(typed, _utc_ms(now), "Europe/Helsinki") == _utc_ms(due)


def test_his_home_puts_her_alarm_first(cast: Cast) -> None:
    """During an alarm, the walk that needs him comes first on his home page: before a
    reminder, a next walk and the way to start a walk of his own (an outside tester found
    it halfway down, under a big blue button that was not for him)."""
    mira, noor, phone, walk = cast.walking()
    calm = text_of(page(cast.client, "/", noor).text)
    assert "Needs you now" not in calm
    assert "Mira is on the way" in calm
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["check"]
    cast.clock.advance(minutes=2)
    assert "alarm" in cast.services.watchdog.tick_sync()
    home = text_of(page(cast.client, "/", noor).text)
    needs = home.index("Needs you now")
    assert needs < home.index("Ask someone to follow your walks")
    assert "Mira may need help" in home[needs : home.index("Walks you follow now")]
    assert "Only the walk above, in its alarm." in home


def test_after_three_wrong_pins_the_checks_page_asks_for_no_pin_and_keeps_sos(
    cast: Cast,
) -> None:
    """No PIN ends that alarm: the page said "enter your PIN", then "This link no longer
    works" to her right one. It says who can end it, keeps SOS, and a PIN sent too soon
    leaves the question there with the time to wait."""
    path = checks_link(cast)
    for _ in range(2):
        wrong = cast.client.post(path, data={"pin": "0000"})
        assert wrong.status_code == 403
        assert "That PIN is not right" in text_of(wrong.text)
    third = cast.client.post(path, data={"pin": "0000"})
    assert third.status_code == 403
    for shown in (third, page(cast.client, path)):
        said = text_of(shown.text)
        assert "Only the people following your walk can end this alarm" in said
        assert 'name="pin"' not in shown.text
        assert "Send SOS: I need help" in said
        assert "no longer works" not in said
    too_soon = cast.client.post(path, data={"pin": PIN})
    assert too_soon.status_code == 429
    assert "Only the people following your walk can end this alarm" in text_of(too_soon.text)
    cast.clock.advance(seconds=5)
    right = cast.client.post(path, data={"pin": PIN})
    assert right.status_code == 403
    assert "Only the people following your walk can end this alarm" in text_of(right.text)
    assert "no longer works" not in text_of(right.text)


def test_a_browser_at_an_address_with_nothing_gets_a_page_not_json(cast: Cast) -> None:
    """A mistyped address, a walk's number that isn't one, an alert's link cut short by a
    mail app: a page in words (404), not `{"error": "Not Found"}`. The API's callers still
    get JSON."""
    mira = cast.person("Mira")
    for path, said in (
        ("/settingz", "Nothing here"),
        ("/walks/abc", "Nothing here"),
        ("/api/share/", "This link has expired"),
        ("/answer/", "This link is not whole"),
    ):
        shown = page(cast.client, path, mira)
        assert shown.status_code == 404, path
        assert shown.headers["content-type"].startswith("text/html"), path
        assert said in text_of(shown.text), path
        assert "/static/" in shown.text  # dressed like the other pages, for a phone
    api = cast.client.get("/api/walks/abc", headers=mira.auth)
    assert api.status_code == 422
    assert api.json()["field"] == "walk_id"
    assert cast.client.get("/settingz").json() == {"error": "Not Found"}


def test_his_home_says_why_and_since_when_a_walk_needs_him(cast: Cast) -> None:
    """The card said when her walk started, not the alarm, nor why."""
    mira, noor, _phone, walk = cast.walking()
    cast.clock.advance(minutes=7)
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200
    home = text_of(page(cast.client, "/", noor).text)
    assert "Needs you now ALARM: Mira may need help SOS pressed, since " in home
    assert re.search(r"just now ?\. ?Open Mira's walk", home)  # its time ticks in its own tag
    assert "Started" not in home.split("Needs you now", 1)[1].split("Open Mira's walk", 1)[0]
    # His own walks' button (nobody follows his) is no blue one beside her red card.
    shown = page(cast.client, "/", noor).text
    assert '<a class="button huge" href="/contacts" id="ask-companion"' in shown


def _emergency_on_alarm(template: Path, tmp_path: Path, number: str | None) -> tuple[str, str]:
    """Mira presses SOS: what Noor's walk page and her own say of the emergency number, with
    WWM_EMERGENCY_NUMBER as given (None: not set)."""
    settings: dict[str, Any] = {} if number is None else {"WWM_EMERGENCY_NUMBER": number}
    clock = FakeClock()
    tmp_path.mkdir()
    svc = make_services(copy_of(template, tmp_path / "e.db"), tmp_path, clock, **settings)
    with TestClient(create_app(svc)) as client:
        cast = Cast(client, svc, clock)
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        walk = cast.start_walk(mira)
        cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
        his = page(client, f"/walks/{walk['id']}", noor).text
        hers = page(client, f"/walks/{walk['id']}", mira).text
    svc.db.dispose()
    return his, hers


def test_an_alarm_offers_to_call_the_emergency_number_the_operator_set(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """In an alarm, "call the emergency number" is a link that dials it, on Noor's page and
    on Mira's (112 unless the operator says otherwise); with none set, only the words."""
    his, hers = _emergency_on_alarm(migrated_sqlite, tmp_path / "default", None)
    assert '<a class="emergency-call" href="tel:112">Call 112</a>' in his
    assert "If you think Mira is in danger, call the emergency number: Call 112" in text_of(his)
    call = re.search(r'<a [^>]*id="sos-call"[^>]*>([^<]*)</a>', hers)
    assert call is not None
    assert 'href="tel:112"' in call.group(0)
    assert "hidden" not in call.group(0)
    assert call.group(1) == "Call 112"
    his, hers = _emergency_on_alarm(migrated_sqlite, tmp_path / "there", "911")
    assert 'href="tel:911">Call 911</a>' in his
    assert 'href="tel:911"' in hers
    his, hers = _emergency_on_alarm(migrated_sqlite, tmp_path / "none", "")
    assert "tel:" not in his
    assert "tel:" not in hers
    assert "If you think Mira is in danger, call the emergency number." in text_of(his)


def test_a_positions_accuracy_is_rounded_up_never_down() -> None:
    """±12 m said "within 10 m": surer than her phone was (an operator's review)."""
    from walkwithme.web.words import at_most

    said = [at_most(a) for a in (0, 4, 8, 12, 40, 42, 99.5, 123, 995, 1234)]
    assert said == [
        "5 m",
        "5 m",
        "10 m",
        "15 m",
        "40 m",
        "45 m",
        "100 m",
        "130 m",
        "1000 m",
        "1.3 km",
    ]


def test_whoever_acts_second_on_an_alarm_is_told_who_ended_it(cast: Cast) -> None:
    """Noor and Omar press "Mark Mira safe" at once: the second read "This walk is not in
    alarm" where the first's word was, and took it for a fault (a companion's review)."""
    mira, noor, omar = cast.person("Mira"), cast.person("Noor"), cast.person("Omar")
    cast.link(mira, noor)
    cast.link(mira, omar)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    first = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "With her now"}, headers=noor.auth
    )
    assert first.status_code == 200, first.text
    for path in ("resolve", "ack"):
        late = cast.client.post(
            f"/api/walks/{walk['id']}/{path}", json={"note": "On my way"}, headers=omar.auth
        )
        assert late.status_code == 409
        assert late.json()["error"] == "the alarm is over: Noor ended it: “With her now”"


def test_a_place_named_by_its_streets_is_said_a_place_near_them_in_her_alarm(cast: Cast) -> None:
    """Her alarm's banner said "going to near Kaivokatu and Keskuskatu" of a place tapped on
    the map and named by its streets (an outside review)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    to = {"lat": HOME[0], "lon": HOME[1], "radius": 40, "name": "near Kaivokatu"}
    walk = cast.start_walk(mira, destination=to)
    cast.send(cast.device(mira), cast.fix((60.1699, 24.9384)))
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    said = text_of(page(cast.client, f"/walks/{walk['id']}", noor).text)
    assert "going to a place near Kaivokatu." in said
    assert "going to near" not in said
