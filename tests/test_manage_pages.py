"""The pages for everyone but the walker's walk, over HTTP: the menu, offers from his side and
her answer, contacts, places, notification channels, her settings, and the operator's page.
Each page acts through the same use cases as the API, so each test checks the page's effect
through the API, as her phone or his would see it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.people import HOME, KAMPPI, PIN, Cast, Member
from tests.test_walker_pages import channel_that_worked
from walkwithme.store.schema import channels
from walkwithme.web.manage_offers import repeat_words

pytestmark = pytest.mark.one_database  # on SQLite only (conftest.py says why)

OURS = {"sec-fetch-site": "same-origin"}
PASSWORD = "correct horse battery"


def cookie(member: Member) -> dict[str, str]:
    return {"Cookie": f"wwm_session={member.token}"}


def page(client: TestClient, path: str, who: Member | None = None) -> Any:
    return client.get(
        path,
        headers={"accept": "text/html", **(cookie(who) if who else {})},
        follow_redirects=False,
    )


def text_of(html: str) -> str:
    """What a reader sees: no tags, entities undone, spaces squeezed."""
    plain = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&#39;", "'"), ("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<")):
        plain = plain.replace(entity, char)
    return re.sub(r"\s+", " ", plain)


def post(client: TestClient, who: Member, path: str, on: str = "/", **fields: str) -> Any:
    """Posts a form as its page would: with the CSRF token of `on` (a page of ours)."""
    shown = page(client, on, who)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', shown.text)
    assert token is not None, shown.text
    return client.post(
        path,
        content=urlencode({"csrf": token.group(1), **fields}),
        headers={"content-type": "application/x-www-form-urlencoded", **cookie(who), **OURS},
        follow_redirects=False,
    )


def sign_in(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/session", json={"email": email, "password": password})


# -- the menu ----------------------------------------------------------------------------------


def test_the_menu_leads_everywhere_and_admin_only_for_the_operator(cast: Cast) -> None:
    noor, ola = cast.person("Noor"), cast.person("Ola", operator=True)
    menu = page(cast.client, "/contacts", noor).text
    for path in ("/", "/offers", "/contacts", "/places", "/channels", "/settings"):
        assert f'href="{path}"' in menu, path
    assert 'href="/contacts" aria-current="page"' in menu
    assert "/admin" not in menu
    assert "Sign out Noor" in text_of(menu)
    assert 'href="/admin"' in page(cast.client, "/", ola).text
    assert page(cast.client, "/places").headers["location"] == "/signin?next=/places"


# -- offers ------------------------------------------------------------------------------------


def test_he_offers_she_declines_kindly_with_a_promise_and_both_pages_say_so(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    assert "Offer to walk someone home" in page(cast.client, "/", noor).text
    made = post(cast.client, noor, "/offers", "/offers", walker=str(mira.id), when="now")
    assert made.status_code == 303, made.text
    hers = text_of(page(cast.client, "/offers", mira).text)
    assert "Noor offers to walk you home (now)" in hers
    assert "Accepting starts your walk now" not in hers
    offer_id = cast.offers(mira)["received"][0]["id"]
    declined = post(
        cast.client,
        mira,
        f"/offers/{offer_id}/decline",
        "/offers",
        note="Thank you, not tonight",
        promise_day="tomorrow",
        promise_time="21:00",
    )
    assert declined.status_code == 303, declined.text
    his = text_of(page(cast.client, "/offers", noor).text)
    assert "declined" in his
    assert "“Thank you, not tonight”" in his
    assert "Mira promised to walk with you tomorrow at 21:00; you will both be reminded" in his
    assert "You promised Noor to walk together tomorrow at 21:00" in text_of(
        page(cast.client, "/offers", mira).text
    )
    sent = cast.offers(noor)["sent"][0]
    assert (sent["state"], sent["note"]) == ("declined", "Thank you, not tonight")
    called_off = post(cast.client, noor, f"/offers/{offer_id}/reminder/cancel", "/offers")
    assert called_off.status_code == 303
    assert cast.offers(noor)["sent"][0]["reminder_at"] is None
    assert "you will both be reminded" not in page(cast.client, "/offers", noor).text
    again = post(cast.client, noor, f"/offers/{offer_id}/reminder/cancel", "/offers")
    assert again.status_code == 404
    assert "No reminder to call off" in text_of(again.text)


def test_a_form_from_another_site_or_an_old_page_changes_nothing(cast: Cast) -> None:
    mira = cast.person("Mira")
    form = {"content-type": "application/x-www-form-urlencoded", **cookie(mira)}
    body = urlencode({"name": "home", "where": "60.1611, 24.9447"})
    crossed = cast.client.post(
        "/places", content=body, headers={**form, "sec-fetch-site": "cross-site"}
    )
    assert crossed.status_code == 403
    stale = cast.client.post("/places", content=body + "&csrf=0000", headers={**form, **OURS})
    assert stale.status_code == 403
    assert "reload the page" in text_of(stale.text)
    assert cast.client.get("/api/places", headers=mira.auth).json() == []


def test_a_form_sent_after_her_sign_in_ended_says_so_and_leads_to_sign_in(cast: Cast) -> None:
    """Signed out in another tab (or her session expired) while a page was open: its form
    said "Sign in first" and led only Back, to a form that fails again."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    shown = page(cast.client, "/places", mira)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', shown.text)
    assert token is not None
    walk = cast.start_walk(mira)
    assert cast.client.delete("/api/session", headers=mira.auth).status_code in (200, 204)
    form = {"content-type": "application/x-www-form-urlencoded", **cookie(mira), **OURS}
    body = urlencode({"csrf": token.group(1), "name": "home", "where": "60.1611, 24.9447"})
    for path, back in (("/places", "/places"), (f"/walks/{walk['id']}/message", None)):
        sent = cast.client.post(path, content=body, headers=form, follow_redirects=False)
        assert sent.status_code == 401, path
        assert sent.headers["content-type"].startswith("text/html"), path
        said = text_of(sent.text)
        assert "You are not signed in any more: sign in again" in said, path
        if back:
            assert f'href="/signin?next={back}"' in sent.text
    # A guardian acting from an alarm's link is led back to the link, not to her walk's page
    # (which is her companions'), once he has signed in again.
    link = urlencode({"csrf": token.group(1), "back": "/api/share/abc-DEF_123"})
    sent = cast.client.post(f"/walks/{walk['id']}/ack", content=link, headers=form)
    assert sent.status_code == 401
    assert 'href="/signin?next=/api/share/abc-DEF_123"' in sent.text
    assert cast.client.get("/api/places", headers=noor.auth).json() == []


def test_a_form_that_cant_be_read_whole_is_refused_not_cut_or_mangled(cast: Cast) -> None:
    """Bytes that are no text were stored as "��"; a form over 8 kB lost its last fields
    without a word. Each is refused, saying why, and nothing is stored."""
    mira = cast.person("Mira")
    shown = page(cast.client, "/places", mira)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', shown.text)
    assert token is not None
    form = {"content-type": "application/x-www-form-urlencoded", **cookie(mira), **OURS}
    csrf = f"csrf={token.group(1)}"
    mangled = cast.client.post(
        "/places", content=f"{csrf}&name=%ff%fe&where=60.1,24.9&radius=40", headers=form
    )
    assert mangled.status_code == 422
    assert "not valid text" in text_of(mangled.text)
    long = cast.client.post(
        "/places", content=f"{csrf}&where=60.1,24.9&note={'x' * 9000}&name=home", headers=form
    )
    assert long.status_code == 413
    assert "longer than 8 kB" in text_of(long.text)
    assert cast.client.get("/api/places", headers=mira.auth).json() == []


def test_he_offers_at_a_time_and_every_weekday(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    later = post(
        cast.client,
        noor,
        "/offers",
        "/offers",
        walker=str(mira.id),
        when="at",
        day="tomorrow",
        time="21:00",
    )
    assert later.status_code == 303, later.text
    his = text_of(page(cast.client, "/offers", noor).text)
    assert "To walk Mira home, tomorrow at 21:00: waiting for an answer" in his
    # Accepting starts her walk now: an offer for tomorrow says so, where "Accept: start
    # walking with Noor" read as tomorrow's walk. One for now says nothing more.
    hers = text_of(page(cast.client, "/offers", mira).text)
    assert "This is for tomorrow at 21:00. Accepting starts your walk now" in hers
    assert "Accept: start walking with Noor now" in hers
    pending = cast.offers(noor)["sent"][0]["id"]
    withdrawn = post(cast.client, noor, f"/offers/{pending}/withdraw", "/offers")
    assert withdrawn.status_code == 303
    assert cast.offers(noor)["sent"][0]["state"] == "withdrawn"
    weekly = post(
        cast.client,
        noor,
        "/offers",
        "/offers",
        walker=str(mira.id),
        when="weekdays",
        time="22:00",
    )
    assert weekly.status_code == 303, weekly.text
    his = text_of(page(cast.client, "/offers", noor).text)
    assert "You offer to walk Mira home every weekday at 22:00" in his
    series = cast.offers(noor)["recurring"]
    assert [s["time"] for s in series] == ["22:00"]
    stopped = post(cast.client, noor, f"/offers/recurring/{series[0]['id']}/stop", "/offers")
    assert stopped.status_code == 303
    assert cast.offers(noor)["recurring"] == []


def test_a_bad_offer_says_what_is_wrong_and_changes_nothing(cast: Cast) -> None:
    mira, noor, sam = cast.person("Mira"), cast.person("Noor"), cast.person("Sam")
    cast.link(mira, noor)
    no_time = post(cast.client, noor, "/offers", "/offers", walker=str(mira.id), when="at")
    assert no_time.status_code == 422
    assert "The time is missing" in text_of(no_time.text)
    stranger = post(cast.client, sam, "/offers", "/offers", walker=str(mira.id), when="now")
    assert stranger.status_code == 404
    assert "Nobody here you can offer to walk home" in text_of(stranger.text)
    # Numbers no id is, each answered 500 (an outside review): "²" is a digit to Python's
    # `isdigit` and not to `int`, 20 digits are more than a database's integer holds.
    for walker in ("²", "99999999999999999999", "9" * 5000):
        odd = post(cast.client, noor, "/offers", "/offers", walker=walker, when="now")
        assert odd.status_code == 422, walker[:20]
        assert "whom to walk home" in text_of(odd.text).lower()
    assert cast.offer(noor, mira).status_code == 201
    offer_id = cast.offers(mira)["received"][0]["id"]
    for field, value in (("place", "²"), ("minutes", "²"), ("minutes", "9" * 5000)):
        refused = post(
            cast.client, mira, f"/offers/{offer_id}/accept", "/offers", **{field: value}, pin=PIN
        )
        assert refused.status_code == 422, (field, value[:20])
    assert cast.offers(noor)["sent"][0]["state"] == "pending"
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []
    assert cast.offers(sam)["sent"] == []
    assert "once they have asked you to be their companion" in text_of(
        page(cast.client, "/offers", sam).text
    )


def test_she_accepts_to_one_of_her_places_and_the_walk_starts_with_him(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    added = post(
        cast.client, mira, "/places", "/places", name="home", where=f"{HOME[0]}, {HOME[1]}"
    )
    assert added.status_code == 303, added.text
    assert cast.offer(noor, mira).status_code == 201
    offer_id = cast.offers(mira)["received"][0]["id"]
    place_id = cast.client.get("/api/places", headers=mira.auth).json()[0]["id"]
    # Before she accepts: Noor has no alerts that work, so nobody would hear her alarm.
    unheard = "Nobody would hear an alarm on this walk: Noor has no alerts that work yet"
    assert unheard in text_of(page(cast.client, "/offers", mira).text)
    channel_that_worked(cast, noor)
    assert unheard not in text_of(page(cast.client, "/offers", mira).text)
    wrong_pin = post(
        cast.client, mira, f"/offers/{offer_id}/accept", "/offers", place=str(place_id), pin="12"
    )
    assert wrong_pin.status_code == 422
    assert "Your PIN is 4 to 8 digits" in text_of(wrong_pin.text)
    accepted = post(
        cast.client, mira, f"/offers/{offer_id}/accept", "/offers", place=str(place_id), pin=PIN
    )
    assert accepted.status_code == 303, accepted.text
    walk_id = int(accepted.headers["location"].rsplit("/", 1)[1])
    walk = cast.client.get(f"/api/walks/{walk_id}", headers=noor.auth)
    assert walk.status_code == 200  # he follows it
    assert "Mira" in text_of(page(cast.client, "/", noor).text)
    assert cast.offers(noor)["sent"][0]["state"] == "accepted"


# -- contacts ----------------------------------------------------------------------------------


def test_she_asks_by_email_he_answers_and_either_ends_it(cast: Cast) -> None:
    mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
    asked = post(cast.client, mira, "/contacts", "/contacts", email=noor.email, role="companion")
    assert asked.status_code == 303, asked.text
    assert asked.headers["location"] == "/contacts?asked=1"
    post(cast.client, mira, "/contacts", "/contacts", email=gus.email, role="guardian")
    hers = text_of(page(cast.client, "/contacts?asked=1", mira).text)
    assert "they appear below once they say yes" in hers
    # Not listed before he answers: a request waiting would say the address has an account.
    assert "Noor" not in hers
    his = text_of(page(cast.client, "/contacts", noor).text)
    # What saying yes means, and the same "Decline" as on his home page.
    assert "Mira asks you to be a companion: you would see Mira's walks as they happen" in his
    assert "Decline" in his
    assert "Refuse" not in his
    gus_home = text_of(page(cast.client, "/", gus).text)
    assert "Mira asks you to be a guardian: you would be told of Mira's alarms when" in gus_home
    # First, before what he can do any time.
    assert gus_home.index("asks you to be a guardian") < gus_home.index("Walks you follow now")
    assert his.index("asks you to be a companion") < his.index("Ask someone to look after")
    [request] = [c for c in cast.client.get("/api/contacts", headers=noor.auth).json()]
    # Answered where it is shown: here, and on his home page (back home).
    answers = page(cast.client, "/contacts", noor).text
    assert answers.count(f'action="/contacts/{request["id"]}/answer"') == 2
    home = page(cast.client, "/", noor).text
    for path in ("accept", "decline"):
        assert f'action="/contacts/{request["id"]}/{path}"' in home
    accepted = post(
        cast.client, noor, f"/contacts/{request['id']}/answer", "/contacts", answer="accept"
    )
    assert accepted.headers["location"] == f"/contacts?done=companion&contact={request['id']}"
    gus_request = cast.client.get("/api/contacts", headers=gus.auth).json()[0]
    post(cast.client, gus, f"/contacts/{gus_request['id']}/answer", "/contacts", answer="refuse")
    listed = cast.client.get("/api/contacts", headers=mira.auth).json()
    assert [(c["person"]["name"], c["state"]) for c in listed] == [("Noor", "accepted")]
    assert "Mira: you are a companion" in text_of(page(cast.client, "/contacts", noor).text)
    ended = post(cast.client, noor, f"/contacts/{request['id']}/end", "/contacts")
    assert ended.status_code == 303
    assert cast.client.get("/api/contacts", headers=mira.auth).json() == []


def test_ending_a_guardian_says_what_ends(cast: Cast) -> None:
    """A guardian never sees her walks: ending one means no more alarms to them."""
    mira, noor, gus = cast.person("Mira"), cast.person("Noor"), cast.person("Gus")
    cast.link(mira, noor)
    cast.link(mira, gus, role="guardian")
    hers = text_of(page(cast.client, "/contacts", mira).text)
    assert "End: Noor no longer sees your walks" in hers
    assert "End: Gus is no longer told of your alarms" in hers
    assert "You are on a walk" not in hers
    # On a walk, what ending someone does to it is said before she does it.
    cast.start_walk(mira)
    walking = text_of(page(cast.client, "/contacts", mira).text)
    assert (
        "You are on a walk: whoever you end now still follows it, and hears of its alarm, "
        "until it is over."
    ) in walking


def test_asking_a_stranger_or_nonsense_says_why(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    # A stranger's address and a member's get the same answer: nobody learns who is here.
    unknown = post(cast.client, mira, "/contacts", "/contacts", email="nobody@example.org")
    member = post(cast.client, mira, "/contacts", "/contacts", email=noor.email)
    again = post(cast.client, mira, "/contacts", "/contacts", email=noor.email)
    assert (unknown.status_code, unknown.text) == (member.status_code, member.text)
    assert (again.status_code, again.text) == (member.status_code, member.text)
    odd = post(cast.client, mira, "/contacts", "/contacts", email=mira.email, role="boss")
    assert odd.status_code == 422
    assert "Role must be companion or guardian" in text_of(odd.text)


def test_she_mutes_blocks_and_hears_again_his_offers(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    path = f"/contacts/people/{noor.id}/offers"
    muted = post(cast.client, mira, path, "/contacts", offers="mute", hours="24")
    assert muted.status_code == 303, muted.text
    assert "Their offers: muted until" in text_of(page(cast.client, "/contacts", mira).text)
    quiet = cast.offer(noor, mira)  # answered as any offer, never hers (offers.md)
    assert quiet.status_code == 201, quiet.text
    assert cast.offers(mira)["received"] == []
    cast.client.post(f"/api/offers/{quiet.json()['id']}/withdraw", headers=noor.auth)
    post(cast.client, mira, path, "/contacts", offers="block")
    assert "Their offers: blocked" in text_of(page(cast.client, "/contacts", mira).text)
    post(cast.client, mira, path, "/contacts", offers="hear")
    assert "Their offers:" not in text_of(page(cast.client, "/contacts", mira).text)
    assert cast.offer(noor, mira).status_code == 201
    assert len(cast.offers(mira)["received"]) == 1  # heard again


# -- places ------------------------------------------------------------------------------------


def test_her_places_with_their_radius(cast: Cast) -> None:
    mira = cast.person("Mira")
    assert "No places yet" in page(cast.client, "/places", mira).text
    added = post(
        cast.client,
        mira,
        "/places",
        "/places",
        name="home",
        where="60.16110, 24.94470",
        radius="60",
    )
    assert added.status_code == 303, added.text
    shown = text_of(page(cast.client, "/places", mira).text)
    assert "home 60.16110, 24.94470 · arriving within 60 m" in shown
    [place] = cast.client.get("/api/places", headers=mira.auth).json()
    assert (place["lat"], place["lon"], place["radius"]) == (60.1611, 24.9447, 60)
    removed = post(cast.client, mira, f"/places/{place['id']}/remove", "/places")
    assert removed.status_code == 303
    assert cast.client.get("/api/places", headers=mira.auth).json() == []


def test_a_place_typed_wrong_says_which_part(cast: Cast) -> None:
    mira = cast.person("Mira")
    words = post(cast.client, mira, "/places", "/places", name="home", where="by the park")
    assert words.status_code == 422
    # Said as what it is (an address is not looked up), not "Latitude must be a number".
    assert "“by the park” is not a latitude and longitude: addresses are not looked up" in (
        text_of(words.text)
    )
    huge = post(
        cast.client, mira, "/places", "/places", name="home", where="60.1, 24.9", radius="5000"
    )
    assert huge.status_code == 422
    assert "radius" in text_of(huge.text).lower()
    assert cast.client.get("/api/places", headers=mira.auth).json() == []


def test_without_a_street_map_places_are_typed_and_no_map_is_offered(cast: Cast) -> None:
    mira = cast.person("Mira")
    assert 'id="place-map"' not in page(cast.client, "/places", mira).text
    near = cast.client.get("/api/map/streets?lat=60.17&lon=24.94", headers=mira.auth)
    assert near.json() == {"streets": []}


@pytest.mark.streets
def test_the_map_to_pick_a_place_shows_the_streets_around_where_she_looks(cast: Cast) -> None:
    mira = cast.person("Mira")
    shown = page(cast.client, "/places", mira).text
    assert 'id="place-map"' in shown
    near = cast.client.get(f"/api/map/streets?lat={KAMPPI[0]}&lon={KAMPPI[1]}", headers=mira.auth)
    lines = near.json()["streets"]
    assert len(lines) > 50
    assert all(abs(a[0] - KAMPPI[0]) < 0.01 for a, _b in lines)
    far = cast.client.get("/api/map/streets?lat=0&lon=0", headers=mira.auth)
    assert far.json() == {"streets": []}
    assert cast.client.get("/api/map/streets?lat=99&lon=0", headers=mira.auth).status_code == 422
    assert cast.client.get("/api/map/streets?lat=60.1&lon=24.9").status_code == 401


# -- channels ----------------------------------------------------------------------------------


def test_a_webhook_added_shows_its_secret_once_and_never_its_address(cast: Cast) -> None:
    noor = cast.person("Noor")
    assert "You have no channel" in page(cast.client, "/channels", noor).text
    url = "https://hooks.example.org/noor-secret-path"
    added = post(
        cast.client, noor, "/channels", "/channels", kind="webhook", target=url, label="my hook"
    )
    assert added.status_code == 200, added.text
    secret = re.search(r'id="secret">([^<]+)<', added.text)
    assert secret is not None
    assert len(secret.group(1)) > 20
    assert url not in added.text
    later = page(cast.client, "/channels", noor).text
    assert "my hook (webhook): not tested yet" in text_of(later)
    assert secret.group(1) not in later
    assert url not in later
    [channel] = cast.client.get("/api/channels", headers=noor.auth).json()
    tested = post(cast.client, noor, f"/channels/{channel['id']}/test", "/channels")
    assert tested.headers["location"] == f"/channels?tested={channel['id']}"
    said = text_of(page(cast.client, tested.headers["location"], noor).text)
    assert "A test is on its way to “my hook”." in said
    # Only for a channel of hers: another id says nothing.
    assert "A test is on its way" not in page(cast.client, "/channels?tested=999", noor).text
    removed = post(cast.client, noor, f"/channels/{channel['id']}/remove", "/channels")
    assert removed.status_code == 303
    assert cast.client.get("/api/channels", headers=noor.auth).json() == []


def test_a_channel_whose_sends_fail_says_so_before_it_is_given_up_on(cast: Cast) -> None:
    """Its test answered 500: "failing: it answered 500; trying again" at once, not "not
    tested yet" until the fifth failure marks it broken."""
    mira = cast.person("Mira")
    made = cast.client.post(
        "/api/channels",
        json={"kind": "webhook", "target": "https://example.org/hook", "label": "my server"},
        headers=mira.auth,
    )
    assert made.status_code == 201, made.text
    assert "not tested yet" in text_of(page(cast.client, "/channels", mira).text)
    cast.services.writer.run_sync(
        lambda tx: tx.conn.execute(
            sa.update(channels)
            .where(channels.c.id == made.json()["id"])
            .values(failures=1, last_error="it answered 500")
        )
    )
    shown = text_of(page(cast.client, "/channels", mira).text)
    assert "failing: it answered 500; trying again" in shown
    assert "not tested yet" not in shown


def test_a_channel_that_could_never_work_is_refused_by_name(cast: Cast) -> None:
    noor = cast.person("Noor")
    ftp = post(cast.client, noor, "/channels", "/channels", kind="webhook", target="ftp://x")
    assert ftp.status_code == 422
    assert "A webhook needs an http or https URL" in text_of(ftp.text)
    private = post(
        cast.client, noor, "/channels", "/channels", kind="webhook", target="http://127.0.0.1/"
    )
    assert private.status_code == 422
    assert "private" in text_of(private.text)
    assert cast.client.get("/api/channels", headers=noor.auth).json() == []


# -- settings ----------------------------------------------------------------------------------


def test_changing_her_password_ends_her_other_sign_ins_only(cast: Cast) -> None:
    mira = cast.person("Mira")
    other = sign_in(cast.client, mira.email, PASSWORD).json()["token"]
    wrong = post(
        cast.client,
        mira,
        "/settings/password",
        "/settings",
        password="not it at all",
        new_password="a new long password",
        again="a new long password",
    )
    assert wrong.status_code == 403
    assert "Wrong password" in text_of(wrong.text)
    differ = post(
        cast.client,
        mira,
        "/settings/password",
        "/settings",
        password=PASSWORD,
        new_password="a new long password",
        again="another one",
    )
    assert differ.status_code == 422
    changed = post(
        cast.client,
        mira,
        "/settings/password",
        "/settings",
        password=PASSWORD,
        new_password="a new long password",
        again="a new long password",
    )
    assert changed.status_code == 303, changed.text
    assert "Your password is changed" in page(cast.client, changed.headers["location"], mira).text
    assert (
        cast.client.get("/api/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    )
    assert sign_in(cast.client, mira.email, PASSWORD).status_code == 401
    assert sign_in(cast.client, mira.email, "a new long password").status_code == 200


def test_the_api_changes_a_password_with_the_current_one(cast: Cast) -> None:
    mira = cast.person("Mira")
    short = cast.client.put(
        "/api/me/password", json={"password": PASSWORD, "new_password": "short"}, headers=mira.auth
    )
    assert short.status_code == 422
    assert short.json()["field"] == "new_password"
    wrong = cast.client.put(
        "/api/me/password",
        json={"password": "guess guess guess", "new_password": "a new long password"},
        headers=mira.auth,
    )
    assert (wrong.status_code, wrong.json()["field"]) == (403, "password")
    done = cast.client.put(
        "/api/me/password",
        json={"password": PASSWORD, "new_password": "a new long password"},
        headers=mira.auth,
    )
    assert done.status_code == 200, done.text
    assert cast.client.get("/api/me", headers=mira.auth).status_code == 200  # this one stays
    assert sign_in(cast.client, mira.email, "a new long password").status_code == 200


def test_her_phone_number_is_set_on_her_settings_by_the_apis_rule(cast: Cast) -> None:
    mira = cast.person("Mira")
    form = page(cast.client, "/settings", mira).text
    assert 'name="phone" type="tel" autocomplete="tel"' in form
    profile = {"name": "Mira", "timezone": "UTC"}
    bad = post(cast.client, mira, "/settings/profile", "/settings", **profile, phone="call me")
    assert bad.status_code == 422
    assert "Phone must be a phone number" in text_of(bad.text)
    assert "(not “call me”)" in text_of(bad.text)
    assert cast.client.get("/api/me", headers=mira.auth).json()["phone"] is None
    # The API refuses the same, by the same rule, naming the field.
    api = cast.client.patch("/api/me", json={"phone": "call me"}, headers=mira.auth)
    assert api.status_code == 422
    assert api.json()["field"] == "phone"
    saved = post(
        cast.client, mira, "/settings/profile", "/settings", **profile, phone=" +358 40 123 4567 "
    )
    assert saved.status_code == 303
    assert cast.client.get("/api/me", headers=mira.auth).json()["phone"] == "+358 40 123 4567"
    assert 'value="+358 40 123 4567"' in page(cast.client, "/settings", mira).text
    # Emptied, it is removed.
    post(cast.client, mira, "/settings/profile", "/settings", **profile, phone="")
    assert cast.client.get("/api/me", headers=mira.auth).json()["phone"] is None


def test_she_says_how_fast_she_walks_on_her_settings_in_words(cast: Cast) -> None:
    """Her pace was the API's alone: a slow walker could not give herself the time she needs
    from her pages (docs/alarms.md)."""
    mira = cast.person("Mira")
    form = page(cast.client, "/settings", mira).text
    assert '<option value="1.3" selected>Ordinary: about 4.7 km/h</option>' in form
    profile = {"name": "Mira", "timezone": "UTC"}
    saved = post(cast.client, mira, "/settings/profile", "/settings", **profile, pace="0.7")
    assert saved.status_code == 303, saved.text
    me = cast.client.get("/api/me", headers=mira.auth).json()
    assert me["pace"] == 0.7
    assert me["thresholds"]["night"]["stalled"] == 270  # more time before she is asked
    shown = page(cast.client, "/settings", mira).text
    assert '<option value="0.7" selected>Slowly: about 2.5 km/h</option>' in shown
    # A pace set through the API is shown as hers, and kept by a save.
    cast.client.patch("/api/me", json={"pace": 1.1}, headers=mira.auth).raise_for_status()
    own = page(cast.client, "/settings", mira).text
    assert '<option value="1.1" selected>Your own: about 4.0 km/h</option>' in own
    cast.client.patch("/api/me", json={"pace": 1}, headers=mira.auth).raise_for_status()
    one = page(cast.client, "/settings", mira).text
    assert '<option value="1.0" selected>A little slowly: about 3.6 km/h</option>' in one
    assert "Your own" not in one
    cast.client.patch("/api/me", json={"pace": 1.1}, headers=mira.auth).raise_for_status()
    bad = post(cast.client, mira, "/settings/profile", "/settings", **profile, pace="9")
    assert bad.status_code == 422
    assert "pace must be between 0.3 and 4.0" in text_of(bad.text).lower()
    assert cast.client.get("/api/me", headers=mira.auth).json()["pace"] == 1.1


def test_her_time_zone_and_how_long_her_walks_are_kept(cast: Cast) -> None:
    mira = cast.person("Mira")
    bad = post(
        cast.client, mira, "/settings/profile", "/settings", name="Mira", timezone="Mars/Base"
    )
    assert bad.status_code == 422
    assert "time zone" in text_of(bad.text).lower() or "timezone" in bad.text
    saved = post(
        cast.client, mira, "/settings/profile", "/settings", name="Mira", timezone="Europe/Helsinki"
    )
    assert saved.status_code == 303
    assert cast.client.get("/api/me", headers=mira.auth).json()["timezone"] == "Europe/Helsinki"
    kept = post(cast.client, mira, "/settings/keeping", "/settings", keep="days", days="3")
    assert kept.status_code == 303, kept.text
    assert cast.client.get("/api/me/keeping", headers=mira.auth).json()["days"] == 3
    settings = page(cast.client, "/settings", mira).text
    assert "its track is kept 3 days (your choice)" in text_of(settings)
    assert 'name="days" type="number"' in settings
    assert 'value="3"' in settings
    too_long = post(cast.client, mira, "/settings/keeping", "/settings", keep="days", days="9999")
    assert too_long.status_code == 422
    back = post(cast.client, mira, "/settings/keeping", "/settings", keep="default")
    assert back.status_code == 303
    assert cast.client.get("/api/me/keeping", headers=mira.auth).json()["days"] is None
    assert 'href="/api/me/export"' in page(cast.client, "/settings", mira).text


def test_she_sets_and_removes_her_duress_pin_with_her_password(cast: Cast) -> None:
    mira = cast.person("Mira")
    assert "You have no duress PIN." in page(cast.client, "/settings", mira).text
    wrong = post(
        cast.client, mira, "/settings/duress", "/settings", password="nope", duress_pin="1357"
    )
    assert wrong.status_code == 403
    letters = post(
        cast.client, mira, "/settings/duress", "/settings", password=PASSWORD, duress_pin="abcd"
    )
    assert letters.status_code == 422
    assert "A duress PIN is 4 to 8 digits" in text_of(letters.text)
    assert "You have no duress PIN." in page(cast.client, "/settings", mira).text
    made = post(
        cast.client, mira, "/settings/duress", "/settings", password=PASSWORD, duress_pin="1357"
    )
    assert made.status_code == 303, made.text
    assert "You have a duress PIN." in page(cast.client, "/settings", mira).text
    same = cast.client.post(
        "/api/walks",
        json={"destination": {"lat": HOME[0], "lon": HOME[1]}, "pin": "1357", "minutes": 20},
        headers=mira.auth,
    )
    assert same.status_code == 422  # her PIN can't be her duress PIN: it is in force
    post(cast.client, mira, "/settings/duress", "/settings", password=PASSWORD, duress_pin="")
    assert "You have no duress PIN." in page(cast.client, "/settings", mira).text


def test_she_deletes_her_account_from_her_settings(cast: Cast) -> None:
    mira = cast.person("Mira")
    unsure = post(cast.client, mira, "/settings/delete", "/settings", password=PASSWORD)
    assert unsure.status_code == 422
    wrong = post(cast.client, mira, "/settings/delete", "/settings", password="nope", sure="yes")
    assert wrong.status_code == 403
    gone = post(cast.client, mira, "/settings/delete", "/settings", password=PASSWORD, sure="yes")
    assert gone.status_code == 200
    assert "Your account is deleted" in gone.text
    assert sign_in(cast.client, mira.email, PASSWORD).status_code == 401


# -- the operator ------------------------------------------------------------------------------


def test_the_admin_page_is_nothing_for_anyone_but_the_operator(cast: Cast) -> None:
    noor, mira = cast.person("Noor"), cast.person("Mira")
    assert page(cast.client, "/admin", noor).status_code == 404
    refused = post(cast.client, noor, f"/admin/people/{mira.id}/disable")
    assert refused.status_code == 404
    assert post(cast.client, noor, "/admin/invites").status_code == 404
    assert sign_in(cast.client, mira.email, PASSWORD).status_code == 200
    assert cast.client.post(f"/api/people/{mira.id}/disable", headers=noor.auth).status_code == 403


def test_the_operator_adds_a_person_and_resets_a_password_shown_once(cast: Cast) -> None:
    ola, mira = cast.person("Ola", operator=True), cast.person("Mira")
    cast.device(mira)
    listed = text_of(page(cast.client, "/admin", ola).text)
    assert "Mira mira@example.org · UTC · active 1 phone · 0 alert channels" in listed
    added = post(
        cast.client,
        ola,
        "/admin/people",
        "/admin",
        email="aino@example.org",
        name="Aino",
        timezone="Europe/Helsinki",
    )
    assert added.status_code == 200, added.text
    password = re.search(r'id="new-password">([^<]+)<', added.text)
    assert password is not None
    assert sign_in(cast.client, "aino@example.org", password.group(1)).status_code == 200
    assert password.group(1) not in page(cast.client, "/admin", ola).text
    reset = post(cast.client, ola, f"/admin/people/{mira.id}/password", "/admin")
    new = re.search(r'id="new-password">([^<]+)<', reset.text)
    assert new is not None
    assert "Mira's new password" in text_of(reset.text)
    assert cast.client.get("/api/me", headers=mira.auth).status_code == 401  # her sign-ins end
    assert sign_in(cast.client, mira.email, PASSWORD).status_code == 401
    assert sign_in(cast.client, mira.email, new.group(1)).status_code == 200


def test_a_disabled_person_cant_sign_in_and_their_phone_stops_until_enabled(cast: Cast) -> None:
    ola, mira = cast.person("Ola", operator=True), cast.person("Mira")
    phone = cast.device(mira)
    fixes = {"fixes": [cast.fix(HOME)]}
    as_phone = {"Authorization": f"Bearer {phone}"}
    assert cast.client.post("/api/fixes", json=fixes, headers=as_phone).status_code == 200
    disabled = post(cast.client, ola, f"/admin/people/{mira.id}/disable", "/admin")
    assert disabled.status_code == 303
    assert "Mira mira@example.org · UTC · disabled" in text_of(
        page(cast.client, "/admin", ola).text
    )
    assert cast.client.get("/api/me", headers=mira.auth).status_code == 401
    refused = sign_in(cast.client, mira.email, PASSWORD)
    assert refused.status_code == 403
    assert "disabled" in refused.json()["error"]
    on_page = cast.client.post(
        "/signin",
        content=urlencode({"email": mira.email, "password": PASSWORD}),
        headers={"content-type": "application/x-www-form-urlencoded", **OURS},
    )
    assert on_page.status_code == 403
    assert "This account is disabled" in text_of(on_page.text)
    assert cast.client.post("/api/fixes", json=fixes, headers=as_phone).status_code == 401
    themselves = post(cast.client, ola, f"/admin/people/{ola.id}/disable", "/admin")
    assert themselves.status_code == 409
    enabled = cast.client.post(f"/api/people/{mira.id}/enable", headers=ola.auth)
    assert enabled.status_code == 200
    assert sign_in(cast.client, mira.email, PASSWORD).status_code == 200
    assert cast.client.post("/api/fixes", json=fixes, headers=as_phone).status_code == 200


def test_nobody_is_disabled_during_their_walk(cast: Cast) -> None:
    ola = cast.person("Ola", operator=True)
    mira, _noor, phone, walk = cast.walking()
    refused = cast.client.post(f"/api/people/{mira.id}/disable", headers=ola.auth)
    assert refused.status_code == 409
    assert "on a walk now" in refused.json()["error"]
    cast.send(phone, cast.fix(HOME))  # her phone still reports
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).status_code == 200


def test_the_operators_api_adds_resets_and_disables(cast: Cast) -> None:
    ola, mira = cast.person("Ola", operator=True), cast.person("Mira")
    added = cast.client.post(
        "/api/people", json={"email": "aino@example.org", "name": "Aino"}, headers=ola.auth
    )
    assert added.status_code == 201, added.text
    assert sign_in(cast.client, "aino@example.org", added.json()["password"]).status_code == 200
    reset = cast.client.post(f"/api/people/{mira.id}/password", headers=ola.auth).json()
    assert sign_in(cast.client, mira.email, reset["password"]).status_code == 200
    assert cast.client.post("/api/people/999/disable", headers=ola.auth).status_code == 404
    assert cast.client.post(f"/api/people/{mira.id}/disable", headers=ola.auth).status_code == 200
    listed = cast.client.get("/api/people", headers=ola.auth).json()
    assert {p["name"]: p["status"] for p in listed} == {
        "Ola": "active",
        "Mira": "disabled",
        "Aino": "active",
    }
    again = cast.client.post(
        "/api/people", json={"email": mira.email, "name": "Mira"}, headers=ola.auth
    )
    assert again.status_code == 409


# -- signing up with an invite -----------------------------------------------------------------


def signup(client: TestClient, **fields: str) -> Any:
    return client.post(
        "/signup",
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded", **OURS},
        follow_redirects=False,
    )


def test_the_operator_makes_an_invite_link_and_it_makes_one_account(cast: Cast) -> None:
    ola = cast.person("Ola", operator=True)
    assert "ask its operator for an invite link" in page(cast.client, "/signup").text
    assert "With an invite link from the operator:" in cast.client.get("/signin").text
    made = post(cast.client, ola, "/admin/invites", "/admin")
    assert made.status_code == 200, made.text
    link = re.search(r'id="invite-link">([^<]+)<', made.text)
    assert link is not None
    invite = link.group(1).split("invite=", 1)[1]
    assert link.group(1).startswith("http://127.0.0.1:8000/signup?invite=inv_")
    assert invite not in page(cast.client, "/admin", ola).text  # shown once
    shown = page(cast.client, f"/signup?invite={invite}").text
    assert 'name="invite" value="' + invite in shown
    fields = {
        "invite": invite,
        "name": "Aino",
        "email": "aino@example.org",
        "password": "a long password",
        "again": "a long password",
        "timezone": "Europe/Helsinki",
    }
    differ = signup(cast.client, **{**fields, "again": "another"})
    assert differ.status_code == 422
    assert "The password and its repetition differ" in text_of(differ.text)
    assert 'value="aino@example.org"' in differ.text  # what she typed stays
    # The field to mend is marked, tied to the notice, and in focus (a screen reader says why).
    again = re.search(r'<input id="again"[^>]*>', differ.text)
    assert again is not None
    assert 'aria-invalid="true"' in again.group(0)
    assert 'aria-describedby="signup-error"' in again.group(0)
    assert "autofocus" in again.group(0)
    assert 'id="signup-error"' in differ.text
    made_account = signup(cast.client, **fields)
    assert made_account.status_code == 303, made_account.text
    assert "wwm_session=" in made_account.headers["set-cookie"]
    me = sign_in(cast.client, "aino@example.org", "a long password")
    token = me.json()["token"]
    profile = cast.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (profile["name"], profile["timezone"]) == ("Aino", "Europe/Helsinki")
    used = signup(cast.client, **{**fields, "email": "other@example.org"})
    assert used.status_code == 403
    assert "This invite is not valid" in text_of(used.text)


def test_without_an_invite_sign_up_is_refused_unless_open(cast: Cast) -> None:
    refused = signup(
        cast.client,
        name="Sam",
        email="sam@example.org",
        password="a long password",
        again="a long password",
    )
    assert refused.status_code == 403
    assert "Sign-up needs an invite on this server" in text_of(refused.text)
    assert sign_in(cast.client, "sam@example.org", "a long password").status_code == 401
    assert page(cast.client, "/admin/invites").status_code in (404, 405)


# -- her thresholds ----------------------------------------------------------------------------


def test_her_thresholds_by_day_and_night_within_the_bounds(cast: Cast) -> None:
    mira = cast.person("Mira")
    shown = page(cast.client, "/settings", mira).text
    assert 'name="night.silent" maxlength="20" value="" placeholder="2 min"' in shown
    saved = post(
        cast.client,
        mira,
        "/settings/rules",
        "/settings",
        **{"day.silent": "4m", "night.silent": "150s", "day.late_grace_percent": "30"},
    )
    assert saved.status_code == 303, saved.text
    me = cast.client.get("/api/me", headers=mira.auth).json()
    assert me["thresholds"]["day"]["silent"] == 240
    assert me["thresholds"]["night"]["silent"] == 150
    assert me["thresholds"]["day"]["late_grace_percent"] == 30
    assert 'name="day.silent" maxlength="20" value="4m" placeholder="4 min"' in (
        page(cast.client, "/settings", mira).text
    )
    off = post(cast.client, mira, "/settings/rules", "/settings", **{"night.silent": "0"})
    assert off.status_code == 422
    said = "By night, “silent: no position from your phone for” must be between 30 s and 30 min"
    assert said in text_of(off.text)
    assert (
        cast.client.get("/api/me", headers=mira.auth).json()["thresholds"]["day"]["silent"] == 240
    )
    back = post(cast.client, mira, "/settings/rules", "/settings", reset="yes")
    assert back.status_code == 303
    assert cast.client.get("/api/me", headers=mira.auth).json()["rules"] == {}


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (["mon", "tue", "wed", "thu", "fri"], "every weekday"),
        (["sat", "sun"], "at weekends"),
        (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "every day"),
        (["mon", "thu"], "on Mondays and Thursdays"),
        (["mon", "wed", "fri"], "on Mondays, Wednesdays and Fridays"),
        (["sun"], "on Sundays"),
    ],
)
def test_a_recurring_offers_days_read_as_words(days: list[str], said: str) -> None:
    assert repeat_words(days) == said
