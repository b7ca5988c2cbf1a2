"""Her walk page live in a real Chromium, as an outside review at 390 px found it, judged as a
frightened person at night would: what reaches her must be on her first screen, and what is
said there must be true now. (Served pages: test_walker_page_review.py.)"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser_site import screenshot
from tests.people import START
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    browser,
    new_context,
    open_site,
    recorder,
)
from tests.test_walker_browser import sharing_from_her_page

pytestmark = [pytest.mark.browser]

FIRST_SCREEN = 844  # a 390 x 844 phone


def re_said(text: str) -> re.Pattern[str]:
    """What the line under SOS says: the words, then when, on her clock ("(23:31)")."""
    return re.compile("^" + re.escape(text) + r" \(\d\d:\d\d\)$")


def on_first_screen(page: Page, selector: str) -> bool:
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] + box["height"] <= FIRST_SCREEN


def test_a_companions_question_reaches_her_first_screen_and_her_tab_live(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Noor's "Are you OK?" appeared only as a line in her timeline, ~2,500 px down: her
    first screen did not change. Now it comes just under SOS, her tab asks it and her phone
    buzzes, as the service's own question does; her answer stops the asking."""
    site, noor, _context, page, walk_id, _mira = sharing_from_her_page(open_site, new_context)
    page.evaluate("navigator.vibrate = (pattern) => { window.buzzed = pattern; return true; }")
    heard = page.locator("#heard")
    expect(heard).to_be_hidden()
    site.call(noor, "POST", f"/api/walks/{walk_id}/messages", text="Are you OK?", quick=True)
    expect(heard).to_have_text(re_said("Noor: “Are you OK?”"))
    expect(heard).to_have_attribute("role", "status")
    assert on_first_screen(page, "#heard")
    expect(page).to_have_title("Noor: “Are you OK?”")
    assert page.evaluate("window.buzzed") is not None
    screenshot(page, "walker-heard")
    # She answers from her page: her tab stops asking; what Noor said stays said.
    page.get_by_role("button", name="All good").click()
    expect(page).to_have_title("You are on the way · Walk With Me")
    expect(heard).to_have_text(re_said("Noor: “Are you OK?”"))
    # "On my way" is said, without asking anything of her tab or buzzing.
    page.evaluate("window.buzzed = null")
    site.call(noor, "POST", f"/api/walks/{walk_id}/messages", text="On my way", quick=True)
    expect(heard).to_have_text(re_said("Noor: “On my way”"))
    expect(page).to_have_title("You are on the way · Walk With Me")
    assert page.evaluate("window.buzzed") is None
    # A reload says it too (served).
    page.reload()
    expect(heard).to_have_text(re_said("Noor: “On my way”"))


def test_offline_in_her_own_alarm_her_banner_says_it_may_be_out_of_date(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her phone loses its network during her alarm: her first screen looked current ("SOS
    sent: … told"), and "Offline: trying again" was said only below the PIN pad. Her banner
    says it now, as her companion's does, until she is back."""
    site, _noor, context, page, walk_id, mira = sharing_from_her_page(open_site, new_context)
    site.call(mira, "POST", f"/api/walks/{walk_id}/sos")
    stale = page.locator("#alarm #alarm-connection")
    expect(page.locator("#alarm-reason")).to_have_text("SOS pressed")
    expect(stale).to_be_hidden()
    context.set_offline(True)
    expect(stale).to_have_text("Offline: trying again. What this shows may be out of date.")
    assert on_first_screen(page, "#alarm-connection")
    screenshot(page, "walker-alarm-offline")
    context.set_offline(False)
    expect(stale).to_be_hidden()


def test_a_wrong_pin_said_at_the_top_gives_way_when_the_question_is_taken_back(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """ "That PIN is not right. Try again." stayed at the top of her page after the question
    was taken back (her phone reported again): she would try again a question nobody asks.
    What became of it is said there instead."""
    site, _noor, context, page, _walk_id, mira = sharing_from_her_page(open_site, new_context)
    phone = site.device(mira)
    context.set_offline(True)  # her phone lost its network: the service hears nothing
    site.look(minutes=12)
    context.set_offline(False)
    expect(page.locator("#check")).to_be_visible()
    for digit in "0000":
        page.get_by_role("group", name="PIN pad").get_by_role("button", name=digit).click()
    page.get_by_role("button", name="I'm OK").click()
    said = page.locator("#said")
    expect(said).to_have_text("That PIN is not right. Try again.")
    site.send(phone, START)  # her phone app reports again: the question is taken back
    expect(page.locator("#check")).to_be_hidden()
    expect(said).to_have_text("Your phone is reporting again: “Are you OK?” is taken back.")
    expect(said).to_have_attribute("role", "status")


def test_the_phone_apps_link_on_her_walk_page_is_a_target_a_finger_finds(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """ "OwnTracks or Traccar Client" was an inline link 21 px tall on her walk page."""
    _site, _noor, _context, page, _walk_id, _mira = sharing_from_her_page(open_site, new_context)
    box = page.get_by_role("link", name="OwnTracks or Traccar Client").bounding_box()
    assert box is not None
    assert box["height"] >= 44


def test_on_a_small_phone_in_her_alarm_sos_and_call_are_on_her_first_screen(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """On a 320 x 568 phone her alarm's banner (why, since when, her last position, whether
    anyone is on it) filled her first screen: SOS began 11 px above its edge and Call 112
    under it (an outside review)."""
    site, _noor, context, page, walk_id, _mira = sharing_from_her_page(open_site, new_context)
    context.set_offline(True)  # her phone lost its network: the service hears nothing
    site.look(minutes=12)
    context.set_offline(False)
    site.look(minutes=3)  # no answer: the alarm
    expect(page.locator("#alarm")).to_be_visible()
    page.set_viewport_size({"width": 320, "height": 568})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path="tests/screenshots/walker-alarm-small-phone.png")  # its first screen
    for target in (page.locator("#sos"), page.get_by_role("link", name="Call 112")):
        box = target.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 568, (target, box)
        assert box["height"] >= 48
    # What the banner said is all still said.
    expect(page.locator("#alarm-since")).to_be_visible()
    expect(page.locator("#alarm-on-it")).to_have_text(re.compile("on it"))
