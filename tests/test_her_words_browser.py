"""His walk page shows what she last said to those following her on his first screen, and
the way to call her while she asks it (an outside review: her "Someone is following me, stay
on" and "Call me" were only in his timeline, some 3,000 px down his page)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser_site import screenshot
from tests.people import PIN
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    DURESS,
    SiteFactory,
    browser,
    companion_page,
    new_context,
    open_site,
    recorder,
)

pytestmark = [pytest.mark.browser]

FIRST_SCREEN = 844  # a 390 x 844 phone


def test_her_words_and_her_call_me_reach_his_first_screen(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site = open_site()
    mira, noor, _phone, walk = site.walking()
    site.call(mira, "PATCH", "/api/me", phone="+358 40 123 4567")
    messages = f"/api/walks/{walk['id']}/messages"
    page = companion_page(site, new_context(), noor, walk["id"])
    words, call = page.locator("#her-words"), page.locator("#her-words-call")
    expect(words).to_be_hidden()

    site.call(mira, "POST", messages, text="Someone is following me, stay on")
    expect(words).to_contain_text("Mira: “Someone is following me, stay on”")
    expect(call).to_be_hidden()
    site.call(noor, "POST", messages, text="I'm here")  # his own words are not hers
    expect(words).to_contain_text("Someone is following me")

    site.call(mira, "POST", messages, text="Call me", quick=True)
    expect(words).to_contain_text("Mira: “Call me”")
    expect(call).to_have_text("Call Mira")
    expect(call).to_have_attribute("href", "tel:+358401234567")
    box = call.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= FIRST_SCREEN
    assert box["height"] >= 56  # a whole row to tap, not a small one
    assert box["width"] >= 300
    screenshot(page, "companion-her-call-me")

    # He answers: the call she asked for is done; her words stay said, on a new page too.
    site.call(noor, "POST", messages, text="On my way", quick=True)
    expect(call).to_be_hidden()
    page.reload()
    expect(page.locator("#her-words")).to_contain_text("Mira: “Call me”")
    expect(page.locator("#her-words-call")).to_be_hidden()


def test_her_call_me_without_her_number_says_to_call_the_one_he_has(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """She never gave this service her number: his page said "Mira: Call me" beside "No phone
    number given", and nothing to do (an outside review). He may have it himself."""
    site = open_site()
    mira, noor, _phone, walk = site.walking()
    page = companion_page(site, new_context(), noor, walk["id"])
    site.call(mira, "POST", f"/api/walks/{walk['id']}/messages", text="Call me", quick=True)
    expect(page.locator("#her-words")).to_contain_text("Mira: “Call me”")
    expect(page.locator("#her-words-call")).to_have_text(
        "Mira has not given this service a phone number: call Mira on the one you have."
    )
    expect(page.get_by_role("link", name="Call Mira")).to_have_count(0)


def test_after_her_duress_pin_her_words_are_not_on_his_first_screen_nor_buzz(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Whoever holds her phone after her duress PIN could make him call her with "Call me"
    (a review: it stood under the alarm, and buzzed his phone). Her words stay in the
    timeline, where he reads them with "Don't message or call Mira" above."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    walk = site.start_walk(mira, duress_pin=DURESS)
    site.send(site.device(mira), site.route_home()[0])
    messages = f"/api/walks/{walk['id']}/messages"
    page = companion_page(site, new_context(), noor, walk["id"])
    page.evaluate("navigator.vibrate = (pattern) => { window.buzzed = pattern; return true; }")
    site.call(mira, "POST", messages, text="Call me", quick=True)
    expect(page.locator("#her-words")).to_contain_text("Mira: “Call me”")
    page.evaluate("window.buzzed = undefined")
    site.call(mira, "POST", f"/api/walks/{walk['id']}/sos")
    site.call(mira, "POST", f"/api/walks/{walk['id']}/ok", pin=DURESS)
    expect(page.locator("#alarm-silent")).to_be_visible()
    expect(page.locator("#her-words")).to_have_count(0)
    site.call(mira, "POST", messages, text="Call me", quick=True)
    expect(page.locator("#timeline li").first).to_contain_text("Mira: “Call me”")
    assert page.evaluate("window.buzzed") is None
    page.reload()
    expect(page.locator("#alarm-silent")).to_be_visible()
    expect(page.locator("#her-words")).to_have_count(0)


def test_in_an_alarm_her_words_are_in_its_banner_and_i_am_on_it_on_a_small_first_screen(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her last words between the alarm's headline and its banner broke the red block in two,
    with a second "Call Mira" in it, and put "I'm on it" under a 360 x 640 phone's fold (the
    story played on a small phone). In the banner, under where she was last seen; outside an
    alarm, under the headline again."""
    site = open_site()
    mira, noor, _phone, walk = site.walking()
    site.call(mira, "PATCH", "/api/me", phone="+358 40 123 4567")
    site.call(mira, "POST", f"/api/walks/{walk['id']}/messages", text="Call me", quick=True)
    page = companion_page(site, new_context(), noor, walk["id"])
    page.set_viewport_size({"width": 360, "height": 640})
    words = page.locator("#her-words")
    expect(words).to_contain_text("Mira: “Call me”")
    expect(page.locator("#alarm #her-words")).to_have_count(0)

    site.call(mira, "POST", f"/api/walks/{walk['id']}/sos")  # live, then once more after a reload
    for _ in range(2):
        expect(page.locator("#alarm-last + #her-words")).to_contain_text("Mira: “Call me”")
        expect(page.locator("#her-words-call")).to_be_hidden()  # the banner's own call is there
        on_it = page.get_by_role("button", name="I'm on it").bounding_box()
        assert on_it is not None
        assert on_it["y"] + on_it["height"] <= 640
        screenshot(page, "companion-alarm-her-words-360x640")
        page.reload()

    site.call(mira, "POST", f"/api/walks/{walk['id']}/ok", pin=PIN)
    expect(page.locator("#alarm")).to_be_hidden()
    expect(words).to_be_visible()
    expect(page.locator("#alarm #her-words")).to_have_count(0)
