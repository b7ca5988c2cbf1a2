"""The story, in two browsers at a phone's width (the acceptance scenario of issue 11).

He offers to walk her home from his page; she declines with a note; he offers again; she
declines kindly with a promise for the next evening; when its time comes, both their homes say
so; he offers, and she accepts; her phone's browser reports her along a Helsinki route (mocked
geolocation) and his page shows her moving, at her door, and inside with her closing note.

Only the service's fake clock moves time (and the watchdog looks when the test says); the test
waits for the browsers, never for a deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser_site import Site, screenshot, sign_in
from tests.people import HOME, PIN, Member
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    browser,
    new_context,
    open_site,
    recorder,
)
from tests.test_walker_browser import sent_past, track, until, walker_context

pytestmark = [pytest.mark.browser]


def offers_page(site: Site, context: BrowserContext, who: Member) -> Page:
    page = context.new_page()
    sign_in(page, site, who, "/offers")
    return page


def he_offers(site: Site, his: Page) -> None:
    his.goto(site.url + "/offers")
    his.get_by_label("Whom?").select_option(label="Mira")
    his.get_by_label("Now").check()
    his.get_by_role("button", name="Offer to walk them home").click()
    expect(his.locator(".sent").first).to_contain_text("waiting for an answer")


def she_declines(hers: Page, note: str, promise: str | None = None) -> None:
    hers.reload()
    offer = hers.locator(".offer").first
    expect(offer).to_contain_text("Noor offers to walk you home")
    offer.get_by_text("Decline, with a note or a promise").click()
    offer.get_by_label("A note for Noor (optional)").fill(note)
    if promise is not None:
        offer.get_by_label("Walk together another time?").select_option("tomorrow")
        offer.get_by_label("At", exact=True).fill(promise)
    offer.get_by_role("button", name="Decline").click()


def test_the_story_in_two_browsers(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    site.call(mira, "POST", "/api/places", name="home", lat=HOME[0], lon=HOME[1])
    his = offers_page(site, new_context(), noor)
    her_context = walker_context(new_context, site)
    hers = offers_page(site, her_context, mira)

    # The first evening: no, thank you.
    he_offers(site, his)
    she_declines(hers, "Thank you, not tonight")
    his.reload()
    expect(his.locator(".sent").first).to_contain_text("“Thank you, not tonight”")

    # The next evening: no, kindly, with a promise for the evening after, at nine.
    site.clock.advance(minutes=24 * 60)
    he_offers(site, his)
    she_declines(hers, "Not tonight. Tomorrow?", promise="21:00")
    his.reload()
    expect(his.locator(".sent").first).to_contain_text(
        "Mira promised to walk with you tomorrow at 21:00"
    )

    # The promised evening: its time comes, and both their homes say so.
    now = site.services.clock.now_ms()
    promised = site.call(noor, "GET", "/api/offers")["sent"][0]["reminder_at"]
    assert promised is not None
    assert site.look(seconds=(promised - now) / 1000 + 1) == ["reminder"]
    for page, sentence in (
        (his, "Mira promised to walk with you"),
        (hers, "You promised Noor to walk together"),
    ):
        page.goto(site.url + "/")
        expect(page.locator(".notice.promise")).to_contain_text(sentence)
    screenshot(hers, "story-promise-hers")

    # He offers; she accepts, to her home; her page reports her walk from her browser.
    he_offers(site, his)
    hers.goto(site.url + "/offers")
    offer = hers.locator(".offer").first
    offer.get_by_label("Where are you going?").select_option(label="home")
    offer.get_by_label("Your PIN for this walk (4 to 8 digits)").fill(PIN)
    offer.get_by_role("button", name="Accept: start walking with Noor").click()
    expect(hers).to_have_url(re.compile(r"/walks/\d+$"))
    walk_id = int(hers.url.rsplit("/", 1)[1])
    expect(hers.locator("#report-state")).to_contain_text("Sharing your position")

    his.goto(f"{site.url}/walks/{walk_id}")
    expect(his.locator("#headline")).to_have_text("Mira is on the way")
    # Each step once her page has heard the last answer (sent_past).
    route = site.route_home()
    steps = route[:: max(1, len(route) // 6)][1:]
    for where in steps:
        site.clock.advance(seconds=40)
        before = len(track(site, noor, walk_id))
        her_context.set_geolocation({"latitude": where[0], "longitude": where[1], "accuracy": 8})
        until(hers, sent_past(site, hers, noor, walk_id, before), "her walk")
    # His page followed her: the distance left shrank as she walked.
    expect(his.locator("#distance-left")).not_to_have_text(re.compile(r"^1\.\d km$"))
    site.clock.advance(seconds=40)
    her_context.set_geolocation({"latitude": HOME[0], "longitude": HOME[1], "accuracy": 8})
    expect(his.locator("#headline")).to_have_text("Mira is at the door")
    screenshot(his, "story-at-her-door-his")

    # At her door: inside, with a word for him.
    hers.get_by_label("A last word for Noor (optional)").fill("Would you like to come in?")
    hers.locator(".inside").get_by_label("Your PIN").fill(PIN)
    hers.get_by_role("button", name="I'm inside").click()
    expect(his.locator("#timeline")).to_contain_text("Would you like to come in?")
    expect(his.locator("#headline")).to_contain_text("inside")
    # Her question ends his sentence: no full stop after it.
    expect(his.locator("#ending")).to_contain_text("Mira said: “Would you like to come in?” Where")
    expect(hers.locator("#ending")).to_have_text(re.compile(r"come in\?”$"))
    screenshot(his, "story-inside-his")
