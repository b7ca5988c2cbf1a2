"""The walker's pages in a real Chromium: she starts a walk from her phone's browser, her
page reports where she is (mocked geolocation) through the one fix path, keeps what it took
while offline and sends it in order when back; SOS is held, then may be cancelled, and works
offline; "Are you OK?" is answered on her page's PIN pad.

Two clocks move, never by waiting: the service's fake clock (site.clock) and the page's
(Playwright's page.clock), so the page stamps its fixes in the service's time and the SOS
hold and its grace time pass when the test says. The tests wait only for the browser.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser_site import (
    PASSWORD,
    PHONE,
    SHOTS,
    Site,
    screenshot,
    serious_violations,
    serve,
    sign_in,
)
from tests.conftest import make_services
from tests.people import HOME, PIN, START, Member
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    browser,
    new_context,
    open_site,
    recorder,
)
from walkwithme.clock import FakeClock
from walkwithme.domain.geo import distance_m
from walkwithme.net import free_port
from walkwithme.streets import StreetMap
from walkwithme.web.mapdata import middle

pytestmark = [pytest.mark.browser]

WAITED = 200  # ms between two looks at the service while the browser works (not a deadline)


def walker_context(make: Callable[[], BrowserContext], site: Site) -> BrowserContext:
    context = make()
    context.grant_permissions(["geolocation"], origin=site.url)
    context.set_geolocation({"latitude": START[0], "longitude": START[1], "accuracy": 8})
    return context


def track(site: Site, who: Member, walk_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = site.call(who, "GET", f"/api/walks/{walk_id}/fixes")
    return found


def until(page: Page, ready: Callable[[], bool], what: str, looks: int = 100) -> None:
    """Look at the service again while the browser works, until `ready` (or fail, saying what)."""
    for _ in range(looks):
        if ready():
            return
        page.wait_for_timeout(WAITED)
    said = page.evaluate(
        """() => ["report-state", "report-queue", "offline-said", "sos-sent"]
            .map((id) => document.getElementById(id))
            .filter((element) => element && !element.hidden)
            .map((element) => `#${element.id}: ${element.textContent.trim()}`)"""
    )
    raise AssertionError(f"the browser never got there: {what}; her page says {said}")


def sent_past(site: Site, page: Page, who: Member, walk_id: int, count: int) -> Callable[[], bool]:
    """Her track has more than `count` positions, and her page has heard every answer: it
    stamps a position by the service's time as the last answer said it, so a test that moves
    the service's clock before then makes her next position seconds after the last one and
    hundreds of metres away, a jump kept off the map (a loaded machine can be that slow)."""
    queue = f"wwm-fixes-{walk_id}"

    def ready() -> bool:
        emptied = page.evaluate("(key) => localStorage.getItem(key) === null", queue)
        return bool(emptied) and len(track(site, who, walk_id)) > count

    return ready


def her_walk_page(site: Site, page: Page, mira: Member, noor: Member) -> int:
    """She signs in on her phone's browser and starts a walk home from the pages."""
    page.clock.install()
    sign_in(page, site, mira, "/")
    expect(page.get_by_role("link", name="Walk me home")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "walker-home")
    page.get_by_role("link", name="Walk me home").click()
    warning = page.locator("#nobody-hears")
    expect(warning).to_be_visible()  # Noor has no working channel
    expect(warning).to_contain_text("none of the companions you chose")
    # Noor unticked: the warning says what is wrong now, and takes it back once she is again.
    noor_box = page.locator("input[type=checkbox][data-hears]").first
    noor_box.uncheck()
    expect(warning).to_contain_text("you have chosen nobody to follow this walk")
    noor_box.check()
    expect(warning).to_contain_text("none of the companions you chose")
    page.get_by_label("Another place: tap it on the map").check()
    page.get_by_label("Latitude, longitude").fill(f"{HOME[0]}, {HOME[1]}")
    page.get_by_label("Its name (optional)").fill("home")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    assert serious_violations(page) == []
    screenshot(page, "walker-start")
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#headline")).to_have_text("You are on the way")
    sos_ready(page)
    walk_id = int(page.url.rsplit("/", 1)[1])
    return walk_id


def sos_ready(page: Page) -> None:
    """Her page's script holds SOS back (it says so): until it has loaded, a slow machine's
    page is the plain form, and a key or a tap on SOS sends it at once."""
    expect(page.locator("#sos-how")).to_have_text("Press and hold for 2 seconds")


def on_the_start_page(
    make_site: SiteFactory, make_context: Callable[[], BrowserContext]
) -> tuple[Site, Member, Member, Page]:
    """Mira, Noor following her walks, and Mira's browser signed in on "Walk me home"."""
    site = make_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = walker_context(make_context, site).new_page()
    sign_in(page, site, mira, "/walks/new")
    return site, mira, noor, page


def test_without_her_location_she_is_asked_for_minutes_by_the_field_with_her_pins_kept(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Location not allowed: "Start my walk" sent the form on, the service said at the top
    that it did not know where she starts, and her PINs were gone. Now she is asked by the
    minutes field, everything she typed kept, and starts once she has said them."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = new_context().new_page()  # no location allowed
    sign_in(page, site, mira, "/walks/new")
    page.get_by_label("Another place: tap it on the map").check()
    page.get_by_label("Latitude, longitude").fill(f"{HOME[0]}, {HOME[1]}")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#no-location")).to_contain_text("did not say where you are")
    expect(page.get_by_label("Or: I expect to take (minutes)")).to_be_focused()
    expect(page.get_by_label("PIN", exact=True)).to_have_value(PIN)
    assert site.call(mira, "GET", "/api/walks") == []
    screenshot(page, "walker-start-no-location")
    page.get_by_label("Or: I expect to take (minutes)").fill("25")
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#headline")).to_have_text("You are on the way")


def test_two_different_pins_bring_her_back_to_the_pin_with_what_she_typed(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """She mistypes her second PIN: the form comes back with where she is going kept, and
    the PIN in focus, saying beside it what to mend (the notice at the top is out of sight
    once the page has scrolled to the field). Then she starts her walk."""
    site, mira, noor, page = on_the_start_page(open_site, new_context)
    page.get_by_label("Another place: tap it on the map").check()
    page.get_by_label("Latitude, longitude").fill(f"{HOME[0]}, {HOME[1]}")
    # Too short: the browser says what a PIN is, in words (not only "match the format").
    page.get_by_label("PIN", exact=True).fill("12")
    said = page.get_by_label("PIN", exact=True).evaluate(
        "(field) => { field.checkValidity(); return field.validationMessage; }"
    )
    assert said == "Use 4 to 8 digits."
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill("0000")
    page.get_by_role("button", name="Start my walk").click()
    pin = page.get_by_label("PIN", exact=True)
    expect(pin).to_be_focused()
    expect(pin).to_have_attribute("aria-invalid", "true")
    beside = page.locator("#error-here")
    expect(beside).to_have_text("The two PINs differ: type the same PIN twice")
    expect(beside).to_be_in_viewport()
    expect(page.get_by_label("Latitude, longitude")).to_have_value(f"{HOME[0]}, {HOME[1]}")
    assert serious_violations(page) == []
    screenshot(page, "walker-start-refused")
    pin.fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#headline")).to_have_text("You are on the way")


def test_what_she_typed_is_not_given_to_whoever_signs_in_next_on_her_tab(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """A shared phone: Mira's sign-in ends as she starts a walk, and Noor signs in on that tab.
    Noor's form must not hold where Mira was going (an outside review found it did)."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    site.link(noor, mira)
    page = walker_context(new_context, site).new_page()
    sign_in(page, site, mira, "/walks/new")
    page.get_by_label("Another place: tap it on the map").check()
    page.get_by_label("Latitude, longitude").fill(f"{HOME[0]}, {HOME[1]}")
    page.get_by_label("Its name (optional)").fill("Mira's flat")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    site.call(mira, "PUT", "/api/me/password", password=PASSWORD, new_password="a new one, long")
    page.get_by_role("button", name="Start my walk").click()
    page.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Email").fill(noor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Walk me home")).to_be_visible()
    assert page.url == f"{site.url}/walks/new"
    expect(page.locator("#typed-back")).to_have_count(0)
    expect(page.get_by_label("Latitude, longitude")).to_have_value("")
    expect(page.get_by_label("Its name (optional)")).to_have_value("")


def test_choosing_a_timer_walk_opens_its_time(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """A walk "nowhere in particular" needs the time to check on her: choosing it opens that
    part of the form (it stayed folded away under her PIN), and the walk starts with it."""
    site, mira, noor, page = on_the_start_page(open_site, new_context)
    when = page.get_by_label("Check on me at", exact=True)
    expect(when).to_be_hidden()
    page.get_by_label("Nowhere in particular: check on me at a time").check()
    expect(when).to_be_visible()
    expect(when).to_be_in_viewport()
    when.fill("23:30")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#headline")).to_have_text("You are out on a timed walk")
    expect(page.locator("#expected")).to_have_text("23:30")  # when to check on her
    screenshot(page, "walker-timer-walk")
    walk_id = int(page.url.rsplit("/", 1)[1])
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["kind"] == "timer"


def test_what_she_typed_is_back_after_she_signs_in_again(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her sign-in ends while she fills in the walk (she changed her password on her other
    phone): starting is refused, she signs in again, and the form she comes back to holds what
    she typed, all but her PIN. Once a form went through, it is never filled in again."""
    site, mira, noor, page = on_the_start_page(open_site, new_context)
    page.get_by_label("Another place: tap it on the map").check()
    page.get_by_label("Latitude, longitude").fill(f"{HOME[0]}, {HOME[1]}")
    page.get_by_label("Its name (optional)").fill("Aino's")
    page.get_by_label("Keep it in my places, for next time").check()
    page.get_by_text("Check on me at a time (optional)").click()
    page.get_by_label("Check on me at", exact=True).fill("23:30")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    site.call(mira, "PUT", "/api/me/password", password=PASSWORD, new_password="a new one, long")
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("[role=alert]")).to_contain_text("You are not signed in any more")
    assert "Aino" not in page.evaluate("() => document.cookie")  # kept in the tab, not sent
    page.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Email").fill(mira.email)
    page.get_by_label("Password").fill("a wrong one")  # a slip on the way back changes nothing
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Password").fill("a new one, long")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#typed-back")).to_have_text(
        "What you typed before signing in again is back. Check it, type your PIN again,"
        " and send it again."
    )
    assert page.url == f"{site.url}/walks/new"
    expect(page.get_by_label("Another place: tap it on the map")).to_be_checked()
    expect(page.get_by_label("Latitude, longitude")).to_have_value(f"{HOME[0]}, {HOME[1]}")
    expect(page.get_by_label("Its name (optional)")).to_have_value("Aino's")
    expect(page.get_by_label("Keep it in my places, for next time")).to_be_checked()
    expect(page.get_by_label("Check on me at", exact=True)).to_have_value("23:30")
    expect(page.get_by_label("Check on me at", exact=True)).to_be_visible()  # its part opened
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")  # never kept
    expect(page.get_by_label("The same PIN again")).to_have_value("")
    assert serious_violations(page) == []
    screenshot(page, "walker-start-typed-back")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#headline")).to_have_text("You are on the way")
    walk_id = int(page.url.rsplit("/", 1)[1])
    going = site.call(noor, "GET", f"/api/walks/{walk_id}")["destination"]
    assert going["name"] == "Aino's"
    # What went through is not given back: the form is as any new one.
    page.goto(f"{site.url}/walks/new")
    expect(page.get_by_label("Latitude, longitude")).to_have_value("")
    expect(page.locator("#typed-back")).to_have_count(0)


def sharing_from_her_page(
    make_site: SiteFactory, make_context: Callable[[], BrowserContext]
) -> tuple[Site, Member, BrowserContext, Page, int, Member]:
    """Mira walks home from her page, Noor following; her first position is on her track.
    Returns the site, Noor, her browser and page, the walk, and Mira."""
    site = make_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    context = walker_context(make_context, site)
    page = context.new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    expect(page.locator("#report-state")).to_contain_text("Sharing your position. Last sent")
    until(page, sent_past(site, page, noor, walk_id, 0), "her first position")
    return site, noor, context, page, walk_id, mira


def test_she_picks_where_she_goes_on_the_map_and_keeps_it_for_next_time(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site, mira, noor, page = on_the_start_page(open_site, new_context)
    box = page.get_by_role("region", name="Map: tap where you are going")
    expect(box).to_be_visible()
    expect(box.locator("path.street").first).to_be_attached()  # the streets around are drawn
    # Her browser already lets the service know where she is: the map shows her there, not
    # in the middle of the service's streets, where it opened.
    expect(box.get_by_text("You are here")).to_be_visible()
    assert site.services.streets is not None
    assert distance_m(*START, *middle(site.services.streets)) > 100  # somewhere else
    # She taps the middle of the map: beside her.
    box.click()
    expect(page.locator("#map-said")).to_have_text("Chosen on the map: near Kaivokatu.")
    expect(page.get_by_label("Another place: tap it on the map")).to_be_checked()
    typed = page.get_by_label("Latitude, longitude").input_value()
    lat, lon = (float(part) for part in typed.split(","))
    assert distance_m(lat, lon, *START) < 15
    page.get_by_label("Its name (optional)").fill("Aino's")
    page.get_by_label("Keep it in my places, for next time").check()
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill(PIN)
    assert serious_violations(page) == []
    screenshot(page, "walker-start-map")
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#headline")).to_have_text("You are on the way")
    walk_id = int(page.url.rsplit("/", 1)[1])
    going = site.call(noor, "GET", f"/api/walks/{walk_id}")["destination"]
    assert (going["name"], going["lat"], going["lon"]) == ("Aino's", lat, lon)
    kept = site.call(mira, "GET", "/api/places")
    assert [(p["name"], p["lat"], p["lon"]) for p in kept] == [("Aino's", lat, lon)]
    # Next time, it is one tap: her place is the first choice.
    page.goto(f"{site.url}/walks/new")
    expect(page.get_by_label("Aino's")).to_be_checked()


def test_with_her_home_saved_the_map_waits_folded_until_she_chooses_another_place(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """With her home saved and chosen, the map for "Another place" and its fields were
    unfolded above her PIN and Start: two screens to scroll (an outside review). They open
    when she chooses "Another place", the map laid out and showing where she is, and they are
    open when the form comes back refused with that choice."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    site.call(mira, "POST", "/api/places", name="home", lat=HOME[0], lon=HOME[1])
    # Her own alerts set up (without, the page says first that "Are you OK?" can't reach her).
    hers = {"kind": "webhook", "target": "https://hooks.example.org/mira", "label": "my phone"}
    site.call(mira, "POST", "/api/channels", **hers)
    page = walker_context(new_context, site).new_page()
    sign_in(page, site, mira, "/walks/new")
    expect(page.get_by_label("home", exact=True)).to_be_checked()
    box = page.get_by_role("region", name="Map: tap where you are going")
    expect(box).to_be_hidden()
    expect(page.get_by_label("Latitude, longitude")).to_be_hidden()
    # Where, who, her PIN and Start within a screen and a half of her phone, with the warning
    # that Noor has no working alerts above them (it was over two screens).
    start = page.get_by_role("button", name="Start my walk").bounding_box()
    assert start is not None
    assert start["y"] + start["height"] < 1.5 * PHONE["height"]
    assert serious_violations(page) == []
    screenshot(page, "walker-start-saved-home")

    page.get_by_label("Another place: tap it on the map").check()
    expect(box).to_be_visible()
    expect(page.get_by_label("Latitude, longitude")).to_be_visible()
    # Laid out in its box once open: her position in it, the streets drawn across it.
    here = box.get_by_text("You are here")
    expect(here).to_be_in_viewport()
    edges, dot = box.bounding_box(), here.bounding_box()
    assert edges is not None
    assert dot is not None
    assert edges["x"] < dot["x"] < edges["x"] + edges["width"]
    assert edges["y"] < dot["y"] < edges["y"] + edges["height"]
    expect(box.locator("path.street").first).to_be_attached()
    # From the keyboard, the map is one stop (it pans with the arrows), not one for each of
    # her places drawn on it, the one off the view an empty stop (an accessibility review).
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.tagName.toLowerCase()"))
    assert "path" not in stops, stops
    box.click()  # its middle: where she is
    typed = page.get_by_label("Latitude, longitude").input_value()
    lat, lon = (float(part) for part in typed.split(","))
    assert distance_m(lat, lon, *START) < 15
    screenshot(page, "walker-start-another-place")

    # Refused (two different PINs): the form comes back with "Another place" open.
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("The same PIN again").fill("0000")
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("#error-here")).to_be_visible()
    expect(page.get_by_label("Another place: tap it on the map")).to_be_checked()
    expect(box).to_be_visible()
    expect(page.get_by_label("Latitude, longitude")).to_have_value(typed)
    # Back to her home: folded again.
    page.get_by_label("home", exact=True).check()
    expect(box).to_be_hidden()


def test_a_map_where_the_street_map_does_not_reach_says_so(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her first place is outside the service's street map (and no tiles are drawn): the map
    opens there, and said nothing, a blank grey box; it says what to do instead."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    site.call(mira, "POST", "/api/places", name="Aino's", lat=61.4978, lon=23.7610)  # Tampere
    page = new_context().new_page()  # her browser doesn't say where she is
    sign_in(page, site, mira, "/walks/new")
    page.get_by_label("Another place: tap it on the map").check()
    box = page.get_by_role("region", name="Map: tap where you are going")
    expect(box.get_by_text("No street map here")).to_have_text(
        "No street map here: type the place below, or choose one of yours above."
    )
    expect(box.locator("path.street")).to_have_count(0)
    screenshot(page, "walker-start-no-streets")
    page.goto(site.url + "/places")
    box = page.get_by_role("region", name="Map: tap where the place is")
    expect(box.get_by_text("No street map here: type where the place is, below.")).to_be_visible()


def test_she_starts_from_her_browser_and_it_reports_her_walk_even_offline(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site, noor, context, page, walk_id, _mira = sharing_from_her_page(open_site, new_context)
    expect(page.get_by_text("A browser stops reporting when the screen turns off")).to_be_visible()
    expect(page.get_by_role("link", name="OwnTracks or Traccar Client")).to_be_visible()
    assert serious_violations(page) == []

    route = site.route_home()
    steps = route[:: max(1, len(route) // 8)][1:]
    online, offline = steps[:3], steps[3:6]
    for where in online:
        site.clock.advance(seconds=40)
        page.clock.fast_forward(40_000)
        before = len(track(site, noor, walk_id))
        context.set_geolocation({"latitude": where[0], "longitude": where[1], "accuracy": 8})
        until(page, sent_past(site, page, noor, walk_id, before), "a position on the way")
    screenshot(page, "walker-walking")

    # The network goes: what the page takes is kept, said, and sent in order when back.
    sent_before = track(site, noor, walk_id)
    context.set_offline(True)
    taken_at = []
    for kept, where in enumerate(offline, start=1):
        site.clock.advance(seconds=40)
        page.clock.fast_forward(40_000)
        taken_at.append(site.clock.now_ms())
        context.set_geolocation({"latitude": where[0], "longitude": where[1], "accuracy": 8})
        # Taken by the page before its clock moves on: under load two came after it moved,
        # with one time, and the second was (rightly) not kept (a CI run).
        expect(page.locator("#report-queue")).to_contain_text(re.compile(f"^{kept} position"))
    # A quick reply without a network waits too, and she is told; her PIN's forms are not kept.
    page.get_by_role("button", name="On my way").click()
    expect(page.locator("#offline-said")).to_have_text(
        "No network: your message waits, and will be sent when you are back online."
    )
    expect(page.locator("#offline-said")).to_be_in_viewport()  # under the button she pressed
    expect(page.locator("#report-queue")).to_contain_text("3 positions are waiting to be sent")
    expect(page.locator("#report-queue")).to_contain_text("no network")
    helsinki = ZoneInfo("Europe/Helsinki")
    last = datetime.fromtimestamp(sent_before[-1]["t"] / 1000, helsinki).strftime("%H:%M")
    expect(page.locator("#report-state")).to_have_text(
        f"Not sent since {last}: your companions see where you were then."
    )
    screenshot(page, "walker-offline")
    assert track(site, noor, walk_id) == sent_before
    context.set_offline(False)
    # (A slow machine may let her page be quiet 45 s, and it asks for a fresh position then:
    # one more, after the kept ones.)
    until(page, lambda: len(track(site, noor, walk_id)) >= len(sent_before) + 3, "the kept ones")
    expect(page.locator("#report-queue")).to_be_hidden()
    expect(page.locator("#offline-said")).to_be_hidden()
    said = [
        e["text"]
        for e in site.call(noor, "GET", f"/api/walks/{walk_id}/events")
        if e["kind"] == "message"
    ]
    assert said == ["On my way"]
    # Online, a message of her own goes in place, and she is told it went (the page came back
    # with an empty field and no word of it).
    page.get_by_label("A message").fill("Taking the long way")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Sent: “Taking the long way”")).to_be_visible()
    expect(page.get_by_label("A message")).to_have_value("")
    came = track(site, noor, walk_id)[len(sent_before) : len(sent_before) + 3]
    assert [(f["lat"], f["lon"]) for f in came] == [pytest.approx(w) for w in offline]
    # Each with the time it was taken, not when it was sent: 40 s apart, the service's time
    # (give or take the real seconds a busy machine lets pass between the two clocks' moves).
    for fix, at in zip(came, taken_at, strict=True):
        assert abs(fix["t"] - at) < 10_000, (fix["t"], at)
    assert [f["t"] for f in came] == sorted(f["t"] for f in came)
    for fix in came:
        assert fix.get("flag") in (None, ""), fix


def test_her_page_says_her_phone_shares_her_position_and_offers_im_inside_first_at_her_door(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her phone's app shares her walk; her page, opened without sharing from the browser,
    says so instead of "not sharing", and at her door "I'm inside" is on its first screen."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    walk = site.start_walk(mira)
    page = new_context().new_page()  # no location for this browser
    sign_in(page, site, mira, f"/walks/{walk['id']}")
    state, button = page.locator("#report-state"), page.locator("#report-start")
    expect(state).to_have_text("This page is not sharing your position yet.")
    expect(button).to_have_text("Share my position from this page")
    # Her phone's first position comes live.
    phone, route = site.device(mira), site.route_home()
    site.send(phone, route[0])
    expect(state).to_contain_text("Your position is arriving from another device (last at ")
    expect(button).to_have_text("Share from this page too")
    expect(button).not_to_have_class(re.compile("primary"))
    inside = page.locator("#inside-form")
    assert page.evaluate("document.getElementById('reporting').nextElementSibling.id") == "status"

    # At her door (her phone says so): "I'm inside" first, live and as the page is served.
    site.clock.advance(minutes=5)
    site.send(phone, HOME)
    expect(page.locator("#headline")).to_have_text("You are at your door")
    for shown in ("live", "served"):
        if shown == "served":
            page.reload()
        first = page.evaluate("document.getElementById('offline-said').nextElementSibling.id")
        assert first == "inside-form", shown
        box = inside.get_by_role("button", name="I'm inside").bounding_box()
        assert box is not None, shown
        assert box["y"] + box["height"] <= 844, (shown, box)  # on her first screen
    screenshot(page, "walker-at-door")
    assert serious_violations(page) == []


def test_who_looked_at_her_walk_shows_on_her_open_page(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site, noor, _context, page, walk_id, _mira = sharing_from_her_page(open_site, new_context)
    expect(page.locator("#looks-none")).to_be_visible()
    site.call(noor, "GET", f"/api/walks/{walk_id}")  # Noor looks, from an app
    page.clock.fast_forward(30_000)  # her page asks again every half minute
    expect(page.locator("#looks")).to_contain_text("Noor looked at your walk from an app")
    expect(page.locator("#looks-none")).to_be_hidden()


def test_sos_held_can_be_sent_at_once_without_waiting_out_its_five_seconds(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Held for its 2 seconds, SOS waited 5 more to be cancelled, with nothing to send it
    sooner (an outside review): "Send SOS now" sends it then."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = walker_context(new_context, site).new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    page.clock.pause_at(page.evaluate("Date.now()"))
    page.get_by_role("button", name="SOS").hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    expect(page.locator("#sos-pending")).to_be_visible()
    now = page.get_by_role("button", name="Send SOS now")
    assert (now.bounding_box() or {"height": 0})["height"] >= 48
    now.click()
    expect(page.locator("#sos-pending")).to_be_hidden()
    expect(page.locator("#sos-sent")).to_contain_text("SOS sent")
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "alarm"


def test_sos_is_held_then_can_be_cancelled_and_is_sent_when_back_online(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    context = walker_context(new_context, site)
    page = context.new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    sos = page.get_by_role("button", name="SOS")
    # Noor has no alerts that work: said under SOS before she needs it.
    expect(page.locator("#unheard")).to_have_text(
        "Nobody would hear an alarm from this walk: none of your companions has alerts that"
        " work now. If you are in danger, call someone."
    )

    def state() -> str:
        found: str = site.call(noor, "GET", f"/api/walks/{walk_id}")["state"]
        return found

    # Held for one second: nothing, and she is told to hold longer.
    sos.hover()
    page.mouse.down()
    page.clock.run_for(1000)
    page.mouse.up()
    expect(page.locator("#sos-how")).to_have_text("Hold it for 2 seconds to send SOS")
    page.clock.run_for(8000)
    expect(page.locator("#sos-pending")).to_be_hidden()
    assert state() == "active"

    # Held long enough, then cancelled within the grace time: nothing. (The page's time stands
    # still meanwhile but for run_for: the screenshots take real seconds of a slow machine.)
    page.clock.pause_at(page.evaluate("Date.now()"))
    sos.hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    expect(page.locator("#sos-pending")).to_be_visible()
    expect(page.locator("#sos-said")).to_contain_text("Sending SOS in")
    # Said once to a screen reader, not each second as the count ticks (over her Cancel).
    expect(page.locator("#sos-said")).to_match_aria_snapshot(
        "- paragraph: SOS will be sent in 5 seconds unless you cancel."
    )
    screenshot(page, "walker-sos-grace")
    page.get_by_role("button", name="Cancel: I'm fine").click()
    page.clock.run_for(8000)
    expect(page.locator("#sos-how")).to_contain_text("Cancelled: nothing was sent")
    assert state() == "active"
    page.clock.resume()

    # Held without a network, not cancelled: kept, said, and sent when the phone is back.
    context.set_offline(True)
    sos.hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    page.clock.run_for(5100)
    expect(page.locator("#sos-sent")).to_contain_text("It will be sent the moment")
    # Not sent yet: the emergency number is a tap away (the operator's; 112 by default).
    call = page.get_by_role("link", name="Call 112")
    expect(call).to_be_visible()
    expect(call).to_have_attribute("href", "tel:112")
    assert (call.bounding_box() or {"height": 0})["height"] >= 48
    assert state() == "active"
    context.set_offline(False)
    # (Noor has no alerts that work: her page does not say she is told, it says to call.)
    expect(page.locator("#sos-sent")).to_have_text(
        "SOS sent, but none of your companions has alerts that work: call someone now."
    )
    assert state() == "alarm"
    # Sent, the button is there again should she need it; the banner says where she was
    # seen last (her page had sent her position before the alarm, after it was made).
    expect(sos).to_be_visible()
    expect(page.locator("#alarm")).to_be_visible()
    expect(page.locator("#alarm-last")).to_contain_text("Your last position: ")
    page.reload()
    # (Noor has no alerts that work: her page says so, and to call someone.)
    expect(page.locator("#headline")).to_have_text(
        "ALARM: none of your companions has alerts that work: call someone"
    )
    expect(page.locator("#check")).to_be_visible()  # she may end it with her PIN
    screenshot(page, "walker-sos-alarm")
    # Her text twice as big (her phone's setting): the alarm's words wrap, none cut off.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # ...and no word of the headline broken in two ("companio / ns"): the word is one box.
    lines_of_the_word = page.evaluate(
        """() => {
            const text = document.getElementById("headline").firstChild;
            const at = text.textContent.indexOf("companions");
            const word = document.createRange();
            word.setStart(text, at);
            word.setEnd(text, at + "companions".length);
            return word.getClientRects().length;
        }"""
    )
    assert lines_of_the_word == 1
    # On a 320 px phone too, nothing goes off its edge (the menu did, and the page scrolled
    # sideways: an outside review).
    page.set_viewport_size({"width": 320, "height": 640})
    for larger in ("200%", "250%"):  # (a phone's largest text settings go beyond 200%)
        page.evaluate(f"document.documentElement.style.fontSize = '{larger}'")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        expect(page.get_by_text("Menu", exact=True)).to_be_in_viewport(ratio=1)
    page.set_viewport_size(PHONE)
    page.evaluate("document.documentElement.style.fontSize = ''")

    # Noor finds her: her page says the alarm is over, and who ended it.
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="found her")
    expect(page.locator("#alarm")).to_be_hidden()
    expect(page.locator("#sos-sent")).to_have_text(
        "The alarm is over: Noor ended it: “found her”. If you need help, press SOS."
    )
    expect(page.get_by_role("link", name="Call 112")).to_be_hidden()
    expect(sos).to_be_visible()
    expect(page.locator("#not-safe")).to_be_hidden()

    # Her SOS again; this time Noor says she is safe and ends the walk too (a mis-tap, say,
    # with her mid-street): the walk is over, and her page keeps a way to call for help.
    site.call(mira, "POST", f"/api/walks/{walk_id}/sos")
    expect(page.locator("#alarm")).to_be_visible()
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="found her", home=True)
    expect(page.locator("#headline")).to_have_text("You are safe")
    not_safe = page.locator("#not-safe")
    expect(not_safe).to_be_visible()
    expect(not_safe.get_by_role("link", name="Call 112")).to_be_visible()
    expect(not_safe.get_by_role("link", name="Start a walk again")).to_have_attribute(
        "href", "/walks/new"
    )
    screenshot(page, "walker-ended-by-companion")
    page.reload()
    expect(page.locator("#not-safe")).to_be_visible()


def test_sos_by_keyboard_is_held_and_a_screen_readers_activate_starts_the_cancel_time(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """A key tapped on SOS sends nothing (it is held, as a finger is); a screen reader's
    "activate" (a click no pointer made, which can't hold) starts the 5 seconds to cancel at
    once. Cancelled, the focus is back on SOS, not lost to the page's start."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = walker_context(new_context, site).new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    sos = page.get_by_role("button", name="SOS")
    pending = page.locator("#sos-pending")
    # The page's time stands still but for run_for: a slow machine's real seconds between two
    # key events must not make a hold of less than 2 s into one of more.
    page.clock.pause_at(page.evaluate("Date.now()"))
    for key in (" ", "Enter"):
        sos.focus()
        page.keyboard.press(key)
        page.clock.run_for(8000)
        expect(pending).to_be_hidden()
        # Held for under 2 s, the keyboard repeating the key meanwhile: nothing either.
        page.keyboard.down(key)
        for _ in range(6):
            page.clock.run_for(150)
            page.keyboard.down(key)  # a repeat, as a held key sends them
        page.keyboard.up(key)
        page.clock.run_for(8000)
        expect(pending).to_be_hidden()
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "active"

    sos.evaluate("button => button.click()")  # as an accessibility API's default action
    expect(pending).to_be_visible()
    cancel = page.get_by_role("button", name="Cancel: I'm fine")
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(pending).to_be_hidden()
    expect(sos).to_be_focused()
    page.clock.run_for(8000)
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "active"
    # Not cancelled: when the 5 seconds are up the Cancel goes with them, and the focus goes
    # to "Call 112" (it fell to the page's start: an accessibility review).
    sos.evaluate("button => button.click()")
    expect(cancel).to_be_focused()
    page.clock.run_for(5500)
    expect(page.locator("#sos-call")).to_be_focused()


def came_live(page: Page, selector: str) -> None:
    """What the service said comes on her page while its time stands still, but for steps of
    a quarter of a second (1.5 s at most: a key held meanwhile stays under SOS's 2 s): what
    the live stream brings may wait on the page's timers."""
    for _ in range(6):
        try:
            expect(page.locator(selector)).to_be_visible(timeout=1000)
            return
        except AssertionError:
            page.clock.run_for(250)
    expect(page.locator(selector)).to_be_visible()


def test_a_key_held_on_sos_when_she_is_asked_are_you_ok_sends_nothing_once_let_go(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """She holds a key on SOS; "Are you OK?" comes and puts her on the PIN, so the key she lets
    go of (under 2 s) goes there, not to SOS: the hold ends all the same, nothing is sent."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = walker_context(new_context, site).new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    # Live before the page's time stands still: the question must come on her live stream
    # (its first connection, or a retry, waits on the page's timers).
    expect(page.locator("#connection")).to_have_text("Live")
    page.clock.pause_at(page.evaluate("Date.now()"))
    # Her page's positions can't reach the service: the one it sends when asked would take
    # the question back before the test sees it.
    page.route(f"**/walks/{walk_id}/fixes", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="SOS").focus()
    page.keyboard.down(" ")
    site.look(minutes=12)  # nothing heard from her phone: the service asks
    came_live(page, "#check")
    expect(page.locator("#ok-pin")).to_be_focused()
    page.keyboard.up(" ")  # under 2 s of the page's time: no SOS
    page.clock.run_for(8000)
    expect(page.locator("#sos-pending")).to_be_hidden()
    expect(page.locator("#sos-sent")).to_be_hidden()  # nothing sent, nor being sent
    expect(page.locator("#sos-how")).to_have_text("Hold it for 2 seconds to send SOS")
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "active"  # asked, and no SOS


def test_what_her_page_could_not_send_is_tried_again_while_the_phone_stays_online(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """The phone keeps its network but the service can't be reached (restarting, or a lost
    connection): no "online" event will come, and her position and her SOS go all the same."""
    site, noor, context, page, walk_id, _mira = sharing_from_her_page(open_site, new_context)
    before = len(track(site, noor, walk_id))
    cut = (f"/walks/{walk_id}/fixes", f"/walks/{walk_id}/sos")

    def unreachable(url: str) -> bool:
        return url.endswith(cut)

    page.route(unreachable, lambda route: route.abort("connectionrefused"))
    where = site.route_home()[len(site.route_home()) // 4]
    site.clock.advance(seconds=40)
    page.clock.fast_forward(40_000)
    context.set_geolocation({"latitude": where[0], "longitude": where[1], "accuracy": 8})
    expect(page.locator("#report-queue")).to_contain_text(
        "1 position is waiting to be sent: the service could not be reached. Trying again."
    )
    page.get_by_role("button", name="SOS").hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    page.clock.run_for(5100)  # the time to cancel goes by
    expect(page.locator("#sos-sent")).to_contain_text(
        "SOS not sent yet: the service can't be reached"
    )
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "active"
    assert len(track(site, noor, walk_id)) == before

    page.unroute(unreachable)
    page.clock.run_for(5100)  # the next try, with no "online" event
    expect(page.locator("#sos-sent")).to_contain_text("SOS sent")
    until(page, sent_past(site, page, noor, walk_id, before), "her kept position")
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "alarm"
    came = track(site, noor, walk_id)[before:]
    assert [(f["lat"], f["lon"]) for f in came] == [pytest.approx(where)]

    # Noor finds her and marks her safe: on her page the alarm and its PIN pad go, live.
    expect(page.locator("#check")).to_be_visible()
    site.call(noor, "POST", f"/api/walks/{walk_id}/ack")
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="With her now")
    expect(page.locator("#alarm")).to_be_hidden()
    expect(page.locator("#check")).to_be_hidden()
    expect(page.locator("#headline")).to_have_text("You are on the way")


def test_a_question_her_phone_answers_leaves_her_page_live(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her phone lost its network and she was asked "Are you OK?" (silent); its app then
    reports again: the question leaves her page as it is taken back, and says why."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    context.set_offline(True)
    assert site.look(minutes=4) == ["check"]
    context.set_offline(False)
    expect(page.locator("#check")).to_be_visible()
    site.clock.advance(seconds=20)
    site.send(site.device(mira), START)  # her phone's app, back in reach
    expect(page.locator("#check")).to_be_hidden()
    expect(page.locator("#timeline li").first).to_contain_text(
        "Your phone is reporting again: “Are you OK?” is taken back"
    )
    # No alarm when her time to answer that question is up (she stands still: the stalled
    # rule may ask her its own).
    assert "alarm" not in site.look(seconds=100)


def test_standing_still_her_page_still_reports_where_she_is(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """A browser says nothing while its position doesn't change (at her door, fumbling with
    her keys): her page asks again after 45 s quiet, so her walk is not silent and she is not
    asked "Are you OK?" for standing still (an outside tester's walkthrough)."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    for _ in range(3):  # two minutes and a half without moving
        count = len(track(site, noor, walk_id))
        site.clock.advance(seconds=50)
        page.clock.fast_forward(50_000)
        until(page, sent_past(site, page, noor, walk_id, count), "her position asked again")
        assert site.look() == []


def test_a_phone_that_gives_no_new_position_is_not_said_to_be_sharing(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Standing still, some browsers give no new position even when asked again: Noor's page
    says "No position for 2 min", and hers said "Sharing your position. Last sent 22:02"
    (an outside review). It says how long her phone has given nothing, and what to do."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    # From now on her browser's location answers nothing (the watch already running, too).
    page.evaluate(
        """() => {
            navigator.geolocation.watchPosition = () => 7;
            navigator.geolocation.clearWatch = () => {};
        }"""
    )
    state = page.locator("#report-state")
    site.clock.advance(seconds=60)
    page.clock.fast_forward(60_000)
    expect(state).to_contain_text("Sharing your position. Last sent")  # a minute: nothing said
    site.clock.advance(seconds=60)
    page.clock.fast_forward(60_000)
    expect(state).to_contain_text("This phone has given no new position since")
    expect(state).to_contain_text("Keep this page open and in front, with the screen on.")
    expect(state).not_to_contain_text("Sharing")
    # Said once, not written again every few seconds (a screen reader said it each time: an
    # accessibility review).
    page.evaluate(
        """() => {
            window.saidAgain = 0;
            new MutationObserver(() => window.saidAgain++).observe(
                document.getElementById("report-state"), { childList: true, characterData: true }
            );
        }"""
    )
    site.clock.advance(seconds=60)
    page.clock.fast_forward(60_000)
    assert page.evaluate("window.saidAgain") == 0


def test_a_failed_request_for_a_position_between_two_given_is_not_said_as_none_taken(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Offline, her browser failed one request for a position between two it gave: her page
    said "Looking for your position…" beside "4 positions are waiting to be sent" (an
    outside review)."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    page.evaluate(
        """([lat, lon]) => {
            navigator.geolocation.watchPosition = (given, failed) => {
                const coords = { latitude: lat, longitude: lon, accuracy: 8 };
                given({ coords, timestamp: Date.now() });
                failed({ code: 3, PERMISSION_DENIED: 1 }); // a timeout
                return 7;
            };
            navigator.geolocation.clearWatch = () => {};
        }""",
        list(START),
    )
    state = page.locator("#report-state")
    context.set_offline(True)
    site.clock.advance(seconds=50)
    page.clock.fast_forward(50_000)  # quiet 45 s: her page asks again, and gets both
    expect(page.locator("#report-queue")).to_contain_text("waiting to be sent: no network")
    expect(state).to_contain_text("Not sent since")  # since when her companions have none
    expect(state).not_to_contain_text("Looking for your position")
    context.set_offline(False)


def test_a_rough_position_from_her_phone_is_said_with_how_to_give_a_precise_one(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Precise location off (an iPhone's, an Android's approximate location): her browser
    gives positions within 300 m, which the service keeps out of her walk. Her page says so,
    and how to turn precise location on, instead of "Sharing your position"."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    context.set_geolocation({"latitude": START[0], "longitude": START[1], "accuracy": 300})
    site.clock.advance(seconds=50)
    page.clock.fast_forward(50_000)  # quiet 45 s: her page asks the browser again
    state = page.locator("#report-state")
    expect(state).to_contain_text("Your phone gives only a rough position (within 300 m)")
    expect(state).to_contain_text("Turn on precise location for this site")
    screenshot(page, "walker-rough-position")


def test_her_sos_while_she_is_asked_turns_the_question_into_the_alarms(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Asked "Are you OK?", she sends SOS from another device: her page's pad is now the
    alarm's, without why she was asked (it said so only once reloaded: a walkthrough)."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    context.set_offline(True)
    site.look(minutes=12)
    context.set_offline(False)
    expect(page.locator("#check-why")).to_contain_text("We asked because: ")
    # By when, on her clock: after that, they are alerted.
    expect(page.locator("#check-why")).to_contain_text(
        re.compile(r"Answer by \d\d:\d\d: after that, they are alerted\.$")
    )
    site.call(mira, "POST", f"/api/walks/{walk_id}/sos")
    expect(page.locator("#check-title")).to_have_text("If you are OK, say so")
    expect(page.locator("#check-why")).to_have_text(
        "Enter your PIN to tell the people following your walk."
    )
    # The alarm came live: the emergency number is under SOS, as on the page once loaded.
    expect(page.get_by_role("link", name="Call 112")).to_be_visible()
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "alarm"


def test_she_is_asked_are_you_ok_on_her_page_and_answers_on_the_pin_pad(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    expect(page.locator("#check")).to_be_hidden()
    context.set_offline(True)  # her phone lost its network: the service hears nothing
    site.look(minutes=12)
    context.set_offline(False)
    expect(page.locator("#check")).to_be_visible()  # the question came live
    expect(page.get_by_role("heading", name="Are you OK?")).to_be_visible()
    # Why, as the page says it when loaded; and SOS above it, on her first screen.
    expect(page.locator("#check-why")).to_contain_text("We asked because: ")
    # By when, on her clock: after that, they are alerted.
    expect(page.locator("#check-why")).to_contain_text(
        re.compile(r"Answer by \d\d:\d\d: after that, they are alerted\.$")
    )
    said_live = page.locator("#check-why").inner_text()
    page.reload()  # the page as served says the same
    expect(page.locator("#check-why")).to_have_text(said_live)
    sos_top = (page.locator("#sos").bounding_box() or {"y": 10_000})["y"]
    assert sos_top < (page.locator("#check").bounding_box() or {"y": 0})["y"]
    for digit in PIN:
        page.get_by_role("group", name="PIN pad").get_by_role("button", name=digit).click()
    # A screen reader is told how many digits the pad typed (the field itself says nothing).
    expect(page.get_by_role("status").filter(has_text="digits entered")).to_have_text(
        f"{len(PIN)} digits entered"
    )
    assert serious_violations(page) == []
    screenshot(page, "walker-check")
    page.get_by_role("button", name="I'm OK").click()
    expect(page.locator("#check")).to_be_hidden()
    # Said where she is looking, not only in the timeline further down.
    expect(page.locator("#done")).to_have_text(
        "Thank you: the people following your walk see that you are OK."
    )
    expect(page.locator("#timeline")).to_contain_text("You answered “I'm OK”")
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "active"

    page.locator("#inside-pin").fill(PIN)
    page.get_by_label("A last word for Noor (optional)").fill("Would you like to come in?")
    # And the next walk together, which both of them will be reminded of.
    page.get_by_text("Walk together again?").click()
    page.get_by_label("When").select_option("tomorrow")
    page.get_by_label("At", exact=True).fill("20:00")
    screenshot(page, "walker-inside-next")
    page.get_by_role("button", name="I'm inside").click()
    # (Inside where she stands, not at her door: not said "home".)
    expect(page.locator("#headline")).to_have_text("You are inside")
    # When, and what she said: not the headline again (a walkthrough read it twice).
    expect(page.locator("#ending")).to_have_text(
        re.compile(r"^At \d\d:\d\d, just now\. You said: “Would you like to come in\?”$")
    )
    expect(page.locator(".next-walk")).to_have_text(
        "You asked Noor to walk with you again: tomorrow at 20:00. You will both be reminded then."
        " Call off the reminder"
    )
    call_off = page.get_by_role("link", name="Call off the reminder")
    assert (call_off.bounding_box() or {"height": 0})["height"] >= 44  # not a 21 px link
    expect(page.get_by_role("link", name="Back to your page")).to_have_class(re.compile("button"))
    screenshot(page, "walker-inside")
    his = new_context().new_page()
    sign_in(his, site, noor, "/")
    expect(his.locator(".next-walk")).to_contain_text(
        "Mira would like to walk together again: tomorrow at "
    )
    screenshot(his, "companion-home-next-walk")


# -- the duress PIN on her page, in the browser: twin runs --------------------------------------

DURESS = "1357"
SHOWN_AT = datetime(2026, 5, 28, 23, 0, tzinfo=UTC)  # the page's own clock, the same in both


def settled_content(page: Page, quiet_looks: int = 4, looks: int = 100) -> str:
    """The page's DOM once it has stopped changing: Leaflet moves its map's layers in steps
    after a resize or a pan (a transform with fractions of a pixel in between), and a loaded
    machine can catch one of those steps; she never sees it as a difference."""
    seen, same = page.content(), 0
    for _ in range(looks):
        page.wait_for_timeout(WAITED)
        now = page.content()
        same = same + 1 if now == seen else 0
        if same >= quiet_looks:
            return now
        seen = now
    raise AssertionError("her page never stopped changing")


def _answered_on_her_page(
    tmp_path: Path,
    helsinki: StreetMap,
    new_context: Callable[[], BrowserContext],  # noqa: F811
    name: str,
    pin: str,
    port: str,
) -> tuple[str, bytes, str]:
    """She is asked "Are you OK?" on her walk page and answers on the PIN pad with `pin`:
    her page's DOM (her session's token taken out) and its screenshot after, and the state
    of the walk as Noor sees it."""
    clock = FakeClock()
    services = make_services(
        f"sqlite:///{tmp_path / f'{name}.db'}", tmp_path / name, clock, helsinki, WWM_PORT=port
    )
    try:
        with serve(services, clock) as site:
            mira, noor = site.person("Mira"), site.person("Noor")
            site.link(mira, noor)
            walk_id = site.start_walk(mira, duress_pin=DURESS)["id"]
            context = walker_context(new_context, site)
            page = context.new_page()
            page.clock.set_fixed_time(SHOWN_AT)
            sign_in(page, site, mira, f"/walks/{walk_id}")
            until(page, lambda: len(track(site, noor, walk_id)) == 1, "her first position")
            context.set_offline(True)
            site.look(minutes=12)
            context.set_offline(False)
            expect(page.locator("#check")).to_be_visible()
            pad = page.get_by_role("group", name="PIN pad")
            for digit in pin:
                pad.get_by_role("button", name=digit).click()
            page.get_by_role("button", name="I'm OK").click()
            expect(page.locator("#timeline")).to_contain_text("You answered “I'm OK”")
            expect(page.locator("#connection")).to_have_text("Live")
            expect(page.locator("#report-state")).to_contain_text("Last sent")
            # Her page's own report is back through the live connection, on the map too.
            expect(page.locator("#last-seen")).to_contain_text("just now")
            expect(page.locator("path.street").first).to_be_attached()  # the map is drawn
            expect(page.locator("path.route")).to_be_attached()
            html = settled_content(page)
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
            assert token is not None
            # (The map's zoom buttons are painted over: their border's antialiasing varies by a
            # pixel from one rendering to the next, whatever the PIN; they show nothing of hers.)
            shot = page.screenshot(
                full_page=True,
                animations="disabled",
                caret="hide",
                mask=[page.locator(".leaflet-control-zoom")],
            )
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / f"walker-answered-{name}-phone.png").write_bytes(shot)
            state = str(site.call(noor, "GET", f"/api/walks/{walk_id}")["state"])
            return html.replace(token.group(1), "CSRF"), shot, state
    finally:
        services.db.dispose()


def test_her_page_after_her_duress_pin_is_the_page_after_her_pin(
    tmp_path: Path,
    helsinki: StreetMap,
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    # Both runs on one port (its pages name their origin), one after the other; not 8000,
    # which another test's service may hold.
    port = str(free_port())
    real_dom, real_shot, calm = _answered_on_her_page(
        tmp_path, helsinki, new_context, "real", PIN, port
    )
    dom, shot, alarmed = _answered_on_her_page(
        tmp_path, helsinki, new_context, "forced", DURESS, port
    )
    assert dom == real_dom, "\n".join(difflib.unified_diff(real_dom.split(">"), dom.split(">")))
    assert shot == real_shot
    assert calm == "active"
    assert alarmed == "alarm"  # silently, for Noor


def test_she_shares_her_walk_with_a_link_from_her_page_and_takes_it_back(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site = open_site()
    mira, noor, _phone, walk = site.walking()
    walk_id = walk["id"]
    context = walker_context(new_context, site)
    context.grant_permissions(["geolocation", "clipboard-read", "clipboard-write"], origin=site.url)
    page = context.new_page()
    sign_in(page, site, mira, f"/walks/{walk_id}")
    page.evaluate("window.notReloaded = true")
    share = page.locator("#share")
    share.get_by_role("button", name="Make a share link").click()
    url = share.get_by_label("Your new link")
    expect(url).to_have_value(re.compile(rf"^{re.escape(site.url)}/api/share/shr"))
    expect(share).to_contain_text("It works until your walk is over.")
    share.get_by_role("button", name="Copy the link").click()
    expect(share.locator("#share-url-said")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url.input_value()
    assert page.evaluate("window.notReloaded") is True  # made in place: her map stays
    share.scroll_into_view_if_needed()
    screenshot(page, "walker-share-link")
    assert serious_violations(page) == []

    # A friend without an account opens it: her walk, live.
    friend = new_context().new_page()
    friend.goto(url.input_value())
    expect(friend.locator("#headline")).to_have_text("Mira is on the way")
    expect(friend.locator("path.position")).to_have_count(1)

    # She takes it back: the friend's page stops showing where she is.
    share.get_by_role("button", name="Take link 1 back").click()
    expect(share.locator("#link-1")).to_contain_text("taken back")
    expect(share.get_by_label("Your new link")).to_have_count(0)
    expect(friend.locator("#headline")).to_have_text("You can no longer see Mira's walk")
    expect(friend.locator("path.position")).to_have_count(0)
    friend.reload()
    expect(friend.locator("h1")).to_have_text("This link has expired")
    assert page.evaluate("window.notReloaded") is True


def test_after_three_wrong_pins_her_page_asks_for_no_pin_and_says_who_ends_it(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Someone has her phone and tries PINs: the alarm they raise is one no PIN ends. Her
    page's pad went on asking for her PIN, which then led nowhere; it goes, live and after a
    reload, the section says who ends it, and SOS stays. Once Noor ends it, it is gone."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = walker_context(new_context, site).new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    for _ in range(3):
        wrong = site.http.post(f"/api/walks/{walk_id}/ok", json={"pin": "0000"}, headers=mira.auth)
        assert wrong.status_code == 403
    title = page.locator("#check-title")
    for _ in ("live", "after a reload"):
        expect(title).to_have_text("Only the people following your walk can end this alarm")
        expect(page.locator("#check-why")).to_contain_text("no PIN can end it")
        expect(page.locator("#ok-pin")).to_be_hidden()
        # Nor "I'm inside", more time or ending it: each takes her PIN, which no PIN ends.
        expect(page.locator("#inside-pin")).to_be_hidden()
        expect(page.get_by_text("I need more time")).to_be_hidden()
        expect(page.get_by_text("End the walk early")).to_be_hidden()
        expect(page.get_by_role("button", name="SOS")).to_be_visible()
        screenshot(page, "walker-alarm-after-wrong-pins")
        page.reload()
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="With her")
    expect(page.locator("#check")).to_be_hidden()
    expect(page.get_by_text("End the walk early")).to_be_visible()


def test_a_wrong_pin_answered_on_her_page_is_not_sent_again_by_a_reload(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her page answered a wrong PIN at the form's own address: a reload there sent the PIN
    again, one attempt more towards the alarm three wrong ones raise."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = walker_context(new_context, site).new_page()
    walk_id = her_walk_page(site, page, mira, noor)
    page.get_by_text("I need more time").click()
    page.get_by_label("Your PIN").and_(page.locator("#extend-pin")).fill("0000")
    page.get_by_role("button", name="Give me more time").click()
    expect(page.get_by_text("That PIN is not right")).to_be_visible()
    expect(page).to_have_url(f"{site.url}/walks/{walk_id}")
    page.reload()
    expect(page.locator("#headline")).to_have_text("You are on the way")
    refused = [
        e
        for e in site.call(mira, "GET", f"/api/walks/{walk_id}/events")
        if e["kind"] == "pin_refused"
    ]
    assert len(refused) == 1


def in_view(page: Page, selector: str) -> bool:
    """Wholly on the screen as it is scrolled now."""
    return bool(
        page.evaluate(
            """(selector) => {
                const box = document.querySelector(selector).getBoundingClientRect();
                return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
            }""",
            selector,
        )
    )


def test_in_her_alarm_a_wrong_pin_is_said_by_the_field_and_call_stays_on_her_first_screen(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """An outside review at 360 x 740: after a wrong PIN her focus went to the PIN field and
    "That PIN is not right" was above the screen (she saw an empty field, and might type the
    same PIN again); just after she sent SOS, "Call 112" was under the screen's edge; at
    320 px "I'm OK" was cut off in its box."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    context = walker_context(new_context, site)
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    walk_id = her_walk_page(site, page, mira, noor)
    page.get_by_role("button", name="SOS").hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    page.clock.run_for(5100)  # the time to cancel goes by
    expect(page.locator("#sos-sent")).to_contain_text("SOS sent")
    expect(page.locator("#sos-call")).to_be_visible()
    for width, height in ((360, 740), (320, 568)):
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("() => window.scrollTo(0, 0)")  # her first screen
        assert in_view(page, "#sos-call"), (width, height)
    page.set_viewport_size({"width": 360, "height": 740})
    expect(page.locator("#check")).to_be_visible()  # her alarm's PIN pad, live
    page.locator("#ok-pin").fill("0000")
    page.locator("#ok-submit").click()
    expect(page.locator("#said")).to_have_text("That PIN is not right. Try again.")
    expect(page.locator("#ok-pin")).to_be_focused()
    assert in_view(page, "#said")
    assert "said" in (page.locator("#ok-pin").get_attribute("aria-describedby") or "").split()
    screenshot(page, "walker-wrong-pin-in-alarm")
    page.set_viewport_size({"width": 320, "height": 568})
    clipped = page.evaluate(
        """() => [...document.querySelectorAll("#ok-submit, .pinpad button")]
            .filter((b) => b.scrollHeight > b.clientHeight + 1 || b.scrollWidth > b.clientWidth + 1)
            .map((b) => b.textContent.trim())"""
    )
    assert clipped == []
    assert site.call(noor, "GET", f"/api/walks/{walk_id}")["state"] == "alarm"


def test_a_new_question_says_nothing_of_the_last_one_and_calls_her(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """An outside review at 390 px: "Thank you: … you are OK", "That PIN is not right" and
    "The alarm is over" stayed above a new "Are you OK?" (or in the alarm that came next),
    and a frightened walker may think she has answered it; the question came silently, with
    its "I'm OK" under the fold; answered elsewhere (her alert's link), the pad stayed."""
    site, noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    check = page.locator("#check")
    # No channel of her own: said where the page says what a closed page can't do.
    expect(page.locator("#no-channel")).to_contain_text(
        "With this page closed, “Are you OK?” reaches you only through an alert channel of"
        " your own, and you have none."
    )
    buzz = "navigator.vibrate = (pattern) => { window.buzzed = pattern; return true; }"

    def asked_again() -> None:
        page.evaluate(buzz)
        context.set_offline(True)  # her phone lost its network: the service hears nothing
        site.look(minutes=12)
        context.set_offline(False)
        expect(check).to_be_visible()

    def on_the_pad(pin: str) -> None:
        for digit in pin:
            page.get_by_role("group", name="PIN pad").get_by_role("button", name=digit).click()
        page.get_by_role("button", name="I'm OK").click()

    asked_again()
    # Her tab says it, and by when; her phone buzzes; the page says how long is left.
    expect(page).to_have_title(re.compile(r"^Are you OK\? Answer by \d\d:\d\d$"))
    expect(page.locator("#time-left")).to_have_text(re.compile(r"^[0-5]:\d\d left$"))
    assert page.evaluate("window.buzzed") is not None
    # The pad and its "I'm OK" on her first screen, under SOS.
    page.evaluate("window.scrollTo(0, 0)")
    for key in ("I'm OK", "Delete the last digit"):
        box = page.get_by_role("button", name=key).bounding_box() or {"y": 844, "height": 1}
        assert box["y"] + box["height"] <= 844, key
    screenshot(page, "walker-asked")
    on_the_pad(PIN)
    expect(page.locator("#done")).to_have_text(
        "Thank you: the people following your walk see that you are OK."
    )
    expect(page).to_have_title("You are on the way · Walk With Me")
    # Her SOS held: the thanks for her answer are not said above "Sending SOS in 5 s".
    page.get_by_role("button", name="SOS").hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    expect(page.locator("#sos-pending")).to_be_visible()
    expect(page.locator("#done")).to_be_hidden()
    page.get_by_role("button", name="Cancel: I'm fine").click()

    # Asked again: the thanks for the last answer go.
    asked_again()
    expect(page.locator("#done")).to_be_hidden()
    # She answers elsewhere (her alert's link, another device): the pad goes at once.
    site.call(mira, "POST", f"/api/walks/{walk_id}/ok", pin=PIN)
    expect(check).to_be_hidden()
    expect(page).to_have_title("You are on the way · Walk With Me")

    # A wrong PIN, then no answer: the alarm does not say "Try again".
    asked_again()
    on_the_pad("0000")
    expect(page.locator("#said")).to_have_text("That PIN is not right. Try again.")
    # Her focus is in the PIN field again, not at the page's start, four Tabs from it.
    expect(page.locator("#ok-pin")).to_be_focused()
    assert "alarm" in site.look(minutes=5)
    expect(page.locator("#check-title")).to_have_text("If you are OK, say so")
    expect(page.locator("#said")).to_be_hidden()
    expect(page.locator("#time-left")).to_be_hidden()  # its time is up: the alarm is on

    # Her SOS in it (held, then the time to cancel goes by): she may send it again.
    page.get_by_role("button", name="SOS").hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    page.clock.run_for(5100)
    expect(page.locator("#sos-how")).to_have_text("Press and hold for 2 seconds to send it again")
    # Noor ends it: SOS is SOS again; then a new question, not under "The alarm is over".
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="With her")
    expect(page.locator("#sos-sent")).to_contain_text("The alarm is over: Noor ended it")
    expect(page.locator("#sos-how")).to_have_text("Press and hold for 2 seconds")
    expect(check).to_be_hidden()
    asked_again()
    expect(page.locator("#check-title")).to_have_text("Are you OK?")
    expect(page.locator("#sos-sent")).to_be_hidden()

    # With a channel of her own, the page need not say it.
    site.call(mira, "POST", "/api/channels", kind="webhook", target="https://hooks.example.org/m")
    page.reload()
    expect(page.locator("#no-channel")).to_have_count(0)


def test_her_thanks_for_an_answer_go_when_the_walk_moves_on(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """ "Thank you: … you are OK" stood at the top of her page at her door, 8 minutes after
    her answer (a review at 390 px): it was of the walk as it was then."""
    site, _noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    context.set_offline(True)
    site.look(minutes=12)
    context.set_offline(False)
    expect(page.locator("#check")).to_be_visible()
    for digit in PIN:
        page.get_by_role("group", name="PIN pad").get_by_role("button", name=digit).click()
    page.get_by_role("button", name="I'm OK").click()
    expect(page.locator("#done")).to_contain_text("Thank you")
    site.clock.advance(minutes=3)  # she walks home, her phone's app reporting
    site.send(site.device(mira), HOME)
    expect(page.locator("#headline")).to_have_text("You are at your door")
    expect(page.locator("#done")).to_be_hidden()
    assert site.call(mira, "GET", f"/api/walks/{walk_id}")["state"] == "at_door"


def test_a_position_sent_but_not_taken_is_not_said_to_be_shared(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """The service takes her page's position as taken before her walk began (a clock that
    went back, a drill's): her page said "Sharing your position" beside "No position yet"."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    walk = site.start_walk(mira)
    site.clock.set(walk["started_at"] - 5 * 60_000)  # what her page's clock is set by
    page = walker_context(new_context, site).new_page()
    sign_in(page, site, mira, f"/walks/{walk['id']}")
    expect(page.locator("#report-state")).to_contain_text(
        re.compile(r"^Your position of \d\d:\d\d was sent but not taken: taken before the walk")
    )
    assert track(site, noor, walk["id"]) == []
