"""The "Are you OK?" page her alert links to, in a real Chromium: what she sent from it is
sent once. It answered at the form's own address, so a reload sent her PIN again (an outside
review: one wrong PIN and two reloads raised the alarm no PIN ends; her duress PIN reloaded
was "given again"), and Back to it was the browser's "Confirm form resubmission"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser_site import screenshot
from tests.people import PIN
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    asked_again,
    browser,
    new_context,
    open_site,
    recorder,
)

pytestmark = [pytest.mark.browser]


def pin_events(site: Any, mira: Any, walk_id: int) -> list[str]:
    kinds = ("pin_refused", "check_answered", "ok")
    events = site.call(mira, "GET", f"/api/walks/{walk_id}/events")
    return [e["kind"] for e in events if e["kind"] in kinds]


def test_a_reload_or_back_on_the_answer_page_sends_nothing_again(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site = open_site()
    mira, _noor, _phone, walk = site.walking()
    hers = {"kind": "webhook", "target": "https://hooks.example.org/mira", "label": "my phone"}
    site.call(mira, "POST", "/api/channels", **hers)  # where her question's link goes
    asked_again(site)
    page = new_context().new_page()  # her alert opened where she is not signed in
    page.goto(site.url + site.link_of("check"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you OK?")

    page.get_by_label("Your PIN").fill("0000")
    page.get_by_role("button", name="I'm OK").click()
    expect(page.locator("#said")).to_have_text("That PIN is not right. Try again.")
    # Once the page has loaded (its script takes the address anew): under load, a reload in
    # the instant before it ran sent the form again (a CI run).
    page.wait_for_load_state("load")
    page.reload()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you OK?")
    assert pin_events(site, mira, walk["id"]).count("pin_refused") == 1

    page.get_by_label("Your PIN").fill(PIN)
    page.get_by_role("button", name="I'm OK").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    page.wait_for_load_state("load")
    answered = pin_events(site, mira, walk["id"])
    page.get_by_role("link", name="Open your walk").click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Thank you")
    page.go_back()  # to the answer page: read again, not sent again
    expect(page.get_by_role("heading", level=1)).to_have_text("Already answered")
    expect(page.get_by_role("link", name="Open your walk")).to_be_visible()  # a way on
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Already answered")
    assert pin_events(site, mira, walk["id"]) == answered
    screenshot(page, "answer-back-after-answering")
