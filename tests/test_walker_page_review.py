"""Her walk page and the pages around it, as an outside review at 390 px found them, judged as
a frightened person at night would (over HTTP; the live parts are in
test_walker_review_browser.py)."""

from __future__ import annotations

import re

import pytest

from tests.people import PIN, Cast
from tests.test_walker_pages import FORM, cookie, csrf_of, page, post_form, text_of
from walkwithme.web import words

pytestmark = pytest.mark.one_database  # on SQLite only (conftest.py says why)


def heard_line(html: str) -> str | None:
    """What the line under SOS says, or None when it is not shown."""
    found = re.search(r'<p id="heard"([^>]*)>(.*?)</p>', html, re.S)
    if found is None or re.search(r"\shidden\b", found.group(1)):
        return None
    return text_of(found.group(2)).strip()


def test_a_companions_question_is_under_sos_on_her_page_and_in_her_tab(cast: Cast) -> None:
    """Noor's "Are you OK?" was a line in her timeline some 2,500 px down her page: her first
    screen did not change. Now it is said just under SOS, and her tab asks it, until she
    answers."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    assert heard_line(page(cast.client, f"/walks/{wid}", mira).text) is None
    cast.clock.advance(minutes=2)
    sent = cast.client.post(
        f"/api/walks/{wid}/messages", json={"text": "Are you OK?", "quick": True}, headers=noor.auth
    )
    assert sent.status_code == 201, sent.text
    html = page(cast.client, f"/walks/{wid}", mira).text
    at = re.search(r"\((\d\d:\d\d)\)", heard_line(html) or "")
    assert heard_line(html) == f"Noor: “Are you OK?” ({at.group(1) if at else '?'})"
    assert 'id="heard" class="notice heard big" role="status"' in html
    # Just under SOS: before the question's pad and her actions.
    assert html.index('id="sos-form"') < html.index('id="heard"') < html.index('id="check"')
    assert "<title>Noor: “Are you OK?”</title>" in html
    # She answers: the line stays (what Noor said), her tab no longer asks.
    cast.client.post(
        f"/api/walks/{wid}/messages", json={"text": "All good", "quick": True}, headers=mira.auth
    )
    again = page(cast.client, f"/walks/{wid}", mira).text
    assert (heard_line(again) or "").startswith("Noor: “Are you OK?”")
    assert "<title>You are on the way · Walk With Me</title>" in again
    # "On my way" is said, and asks nothing of her tab.
    cast.client.post(
        f"/api/walks/{wid}/messages", json={"text": "On my way", "quick": True}, headers=noor.auth
    )
    calm = page(cast.client, f"/walks/{wid}", mira).text
    assert (heard_line(calm) or "").startswith("Noor: “On my way”")
    assert "<title>You are on the way · Walk With Me</title>" in calm
    # Asked again, she says "I'm OK" to the service with her PIN: that answers him too.
    cast.client.post(
        f"/api/walks/{wid}/messages", json={"text": "Are you OK?", "quick": True}, headers=noor.auth
    )
    assert "<title>Noor: “Are you OK?”</title>" in page(cast.client, f"/walks/{wid}", mira).text
    cast.services.watchdog.tick_sync()
    cast.clock.advance(minutes=30)  # late: the service asks her
    assert "check" in cast.services.watchdog.tick_sync()
    ok = cast.client.post(f"/api/walks/{wid}/ok", json={"pin": PIN}, headers=mira.auth)
    assert ok.status_code == 200, ok.text
    answered = page(cast.client, f"/walks/{wid}", mira).text
    assert "<title>Noor: “Are you OK?”</title>" not in answered


def test_a_wrong_pin_at_im_inside_keeps_her_last_word_and_her_next_walk(cast: Cast) -> None:
    """A wrong PIN at "I'm inside" wiped her last word and her "Walk together again?" choice:
    she typed them again, at her door, at night. All but the PIN is kept, as /walks/new
    keeps it; so is what she typed with a time she forgot."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    typed = {"note": "Would you like to come in?", "next_day": "tomorrow", "next_time": "21:00"}
    refused = post_form(cast, mira, f"/walks/{wid}/inside", pin="0000", **typed)
    assert refused.status_code == 403
    assert "That PIN is not right. Try again." in text_of(refused.text)
    form = re.search(r'<form[^>]*id="inside-form".*?</form>', refused.text, re.S)
    assert form is not None
    kept = form.group(0)
    assert 'value="Would you like to come in?"' in kept
    assert '<option value="tomorrow" selected>Tomorrow</option>' in kept
    assert 'name="next_time" type="time" value="21:00"' in kept
    assert '<details class="next-walk" open>' in kept  # her choice in sight, not folded
    assert not re.search(r'name="pin"[^>]*value=', refused.text)  # never her PIN
    # A day without its time: said, with her last word kept.
    slip = post_form(cast, mira, f"/walks/{wid}/inside", pin=PIN, note="See you", next_day="today")
    assert slip.status_code == 422
    assert 'value="See you"' in slip.text
    assert '<option value="today" selected>Later today</option>' in slip.text
    # More time keeps its minutes too (a third wrong PIN would be the alarm: not here).
    cast.clock.advance(minutes=1)
    more = post_form(cast, mira, f"/walks/{wid}/extend", pin="0000", minutes="30")
    assert more.status_code == 403
    assert re.search(r'value="30"\s+checked', more.text)


def test_more_time_with_her_pin_says_what_she_got(cast: Cast) -> None:
    """ "I need more time" with the right PIN said nothing: she could not tell it was taken.
    Now: "Done: 15 more minutes. Expected by 20:36." on her clock."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    given = post_form(cast, mira, f"/walks/{wid}/extend", pin=PIN, minutes="15")
    assert given.status_code == 303
    back = page(cast.client, given.headers["location"], mira).text
    expected = cast.client.get(f"/api/walks/{wid}", headers=mira.auth).json()["expected_at"]
    by = words.clock_time(expected, "UTC")  # her zone
    done = re.search(r'<p id="done"[^>]*>(.*?)</p>', back)
    assert done is not None
    assert done.group(1) == f"Done: 15 more minutes. Expected by {by}."
    assert 'role="status"' in done.group(0)


def test_the_streets_near_her_are_asked_only_by_those_who_may_see_her_walk(cast: Cast) -> None:
    """`/api/walks/{id}/near` keeps the companion's "Last seen near …" current (the browser
    test names the streets): anyone else gets the 404 of a walk that doesn't exist."""
    mira, noor, stranger = cast.person("Mira"), cast.person("Noor"), cast.person("Sam")
    cast.link(mira, noor)
    wid = cast.start_walk(mira)["id"]
    assert cast.client.get(f"/api/walks/{wid}/near", headers=stranger.auth).status_code == 404
    seen = cast.client.get(f"/api/walks/{wid}/near", headers=noor.auth)
    assert seen.status_code == 200
    assert seen.json()["near"] is None  # no street map here


def test_declining_a_request_says_so_by_name_and_what_they_learn(cast: Cast) -> None:
    """Declining on /contacts said nothing at all, where Accept says "Accepted: …". Now it
    says the truth of it: the asker is told nothing, and can't ask again for a week."""
    hana, mira = cast.person("Hana"), cast.person("Mira")
    asked_id = cast.ask(hana, mira)
    contacts = page(cast.client, "/contacts", mira).text
    declined = cast.client.post(
        f"/contacts/{asked_id}/answer",
        data={"csrf": csrf_of(contacts), "answer": "refuse"},
        headers={**FORM, **cookie(mira)},
        follow_redirects=False,
    )
    assert declined.status_code == 303
    after = page(cast.client, declined.headers["location"], mira).text
    said = re.search(r'<p class="notice good" role="status" id="done">(.*?)</p>', after)
    assert said is not None
    assert said.group(1) == (
        "Declined: Hana is not told, and nothing is shared with them. Their request is gone, "
        "and one they send within a week does not reach you."
    )
    # What Hana sees: nothing of it, and asking again makes no request.
    assert cast.client.get("/api/contacts", headers=hana.auth).json() == []
    cast.client.post("/api/contacts", json={"email": mira.email}, headers=hana.auth)
    assert "Hana asks you" not in text_of(page(cast.client, "/contacts", mira).text)
    # Accepting there says so too.
    noor = cast.person("Noor")
    other = cast.ask(noor, mira)
    accepted = cast.client.post(
        f"/contacts/{other}/answer",
        data={"csrf": csrf_of(contacts), "answer": "accept"},
        headers={**FORM, **cookie(mira)},
        follow_redirects=False,
    )
    shown = text_of(page(cast.client, accepted.headers["location"], mira).text)
    assert "Accepted: you will see Noor's walks here when Noor shares one." in shown


def test_signout_typed_is_a_page_with_the_button_and_signs_nobody_out(cast: Cast) -> None:
    """`/signout` typed while signed in was "Nothing here", though the pages list it. It is
    a page with a "Sign out" button now; a GET alone never signs out."""
    mira = cast.person("Mira")
    shown = page(cast.client, "/signout", mira)
    assert shown.status_code == 200
    assert '<form method="post" action="/signout" class="stack">' in shown.text
    assert re.search(r'<button type="submit" class="primary huge">Sign out</button>', shown.text)
    assert page(cast.client, "/settings", mira).status_code == 200  # still signed in
    signed_out = cast.client.get(
        "/signout", headers={"accept": "text/html"}, follow_redirects=False
    )
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/signin")


def test_her_past_walks_say_their_day_as_the_other_pages_do(cast: Cast) -> None:
    """Her recent walks said "Sun 06 Dec, 19:48", her next walk "Mon 7 Dec at 20:30": one way
    now, words.day_time's ("today at 19:48", "Sun 6 Dec at 19:48")."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth)
    started = words.day_time(walk["started_at"], cast.clock.now_ms(), "UTC")
    assert started.startswith("today at ")
    home = text_of(page(cast.client, "/", mira).text)
    assert f"Today at {started.removeprefix('today at ')}, to home: got in safely" in home
    cast.clock.advance(minutes=3 * 24 * 60)
    later = text_of(page(cast.client, "/", mira).text)
    day = words.day_time(walk["started_at"], cast.clock.now_ms(), "UTC")
    assert re.fullmatch(r"[A-Z][a-z]{2} [1-9]\d? [A-Z][a-z]{2} at \d\d:\d\d", day)
    assert f"{day}, to home: got in safely" in later
