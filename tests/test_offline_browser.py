"""A page reloaded without a network, in a real Chromium: the service worker shows "No network"
in its place, with SOS for the walk she is on and the emergency number, instead of the
browser's own error page; SOS held there is kept and sent when the service can be reached, and
the page she asked for opens again by itself. Nobody else's page holds an SOS.

Two clocks, as in test_walker_browser: the page's (Playwright's page.clock) moves the SOS hold
and its grace time when the test says; the test waits only for the browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser_site import PHONE, Site, screenshot, serious_violations, sign_in
from tests.people import PIN, Member
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    browser,
    new_context,
    open_site,
    recorder,
)
from tests.test_walker_browser import sos_ready, walker_context

pytestmark = [pytest.mark.browser]

# The "No network" page opens the page asked for again on the browser's "online" event, or
# at its next try (every 5 s, offline.js): a browser may miss the event, so a test waits for
# a try and some (a loaded machine missed it by a moment).
BACK_MS = 12_000


def walking(open_site: SiteFactory) -> tuple[Site, Member, Member, int]:  # noqa: F811
    """Mira on a walk (started from her phone's app), Noor following it."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    return site, mira, noor, int(site.start_walk(mira)["id"])


def her_walk_page(
    site: Site, make: Callable[[], BrowserContext], mira: Member, walk_id: int
) -> tuple[BrowserContext, Page]:
    """Her walk page open on her phone's browser, its worker in charge of it."""
    context = walker_context(make, site)
    page = context.new_page()
    sign_in(page, site, mira, f"/walks/{walk_id}")
    sos_ready(page)
    kept_by_its_worker(page)
    return context, page


def kept_by_its_worker(page: Page) -> None:
    """The page is the service worker's (it registers on every page and takes the open ones)."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", polling=100)


def reload_without_a_network(context: BrowserContext, page: Page) -> None:
    """Offline, then reloaded: "No network". (Playwright tells a service worker it is offline
    as it attaches to it: a worker Chromium starts again for the reload may fetch once before
    it is told, and get the page. That is the test's browser, not a phone's: a second reload.)"""
    context.set_offline(True)
    for _ in range(3):
        page.reload()
        if page.get_by_role("heading", name="No network").count():
            return
    expect(page.get_by_role("heading", name="No network")).to_be_visible()


def sos_alarms(site: Site, who: Any, walk_id: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = site.call(who, "GET", f"/api/walks/{walk_id}/events")
    return [e for e in events if e["kind"] == "alarm" and e.get("reason") == "sos"]


def test_her_walk_page_reloaded_without_a_network_holds_sos_and_sends_it_when_back(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site, mira, noor, walk_id = walking(open_site)
    context = walker_context(new_context, site)
    page = context.new_page()
    page.clock.install()
    sign_in(page, site, mira, f"/walks/{walk_id}")
    sos_ready(page)
    kept_by_its_worker(page)

    def state() -> str:
        found: str = site.call(noor, "GET", f"/api/walks/{walk_id}")["state"]
        return found

    # The network goes, and the page is reloaded (by her, or by a phone short of memory).
    reload_without_a_network(context, page)
    goes_on = "If your walk is still on, it goes on without this page: if nothing is heard"
    expect(page.get_by_text(goes_on)).to_be_visible()
    sos = page.get_by_role("button", name="SOS")
    call = page.get_by_role("link", name="Call 112")
    page.set_viewport_size({"width": 360, "height": 640})  # a small phone: SOS and 112 first
    for first in (sos, call):
        box = first.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 640, box
    page.set_viewport_size(PHONE)
    for first in (sos, call):
        box = first.bounding_box()
        assert box is not None
        assert box["height"] >= 48
        assert box["y"] + box["height"] <= PHONE["height"], box  # on her first screen
    expect(call).to_have_attribute("href", "tel:112")
    sos_ready(page)
    assert serious_violations(page) == []
    screenshot(page, "walker-offline-reload")

    # SOS held there: kept, said, not lost.
    page.clock.pause_at(page.evaluate("Date.now()"))
    sos.hover()
    page.mouse.down()
    page.clock.run_for(2100)
    page.mouse.up()
    expect(page.locator("#sos-pending")).to_be_visible()
    page.clock.run_for(5100)
    expect(page.locator("#sos-sent")).to_contain_text("It will be sent the moment")
    assert state() == "active"
    page.clock.resume()

    # Back online: sent once, and her walk page opens again by itself, in its alarm.
    context.set_offline(False)
    expect(page.locator("#headline")).to_have_text(re.compile(r"^ALARM"), timeout=BACK_MS)
    assert state() == "alarm"
    assert len(sos_alarms(site, noor, walk_id)) == 1
    expect(page.get_by_role("button", name="SOS")).to_be_visible()
    # ...and it says her SOS went (it said nothing: "did it go?", an outside review).
    expect(page.locator("#sos-sent")).to_contain_text("SOS sent")
    expect(page.locator("#sos-how")).to_have_text("Press and hold for 2 seconds to send it again")
    screenshot(page, "walker-offline-sos-sent-when-back")

    # Over: the walk is forgotten, and "No network" holds no SOS for it any more.
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="found her")
    site.call(mira, "POST", f"/api/walks/{walk_id}/inside", pin=PIN)
    expect(page.locator("body")).to_have_class(re.compile(r"state-(safe|ended)"))
    assert page.evaluate("localStorage.getItem('wwm-walking')") is None
    reload_without_a_network(context, page)
    expect(page.get_by_role("button", name="SOS")).to_be_hidden()
    expect(page.get_by_role("link", name="Call 112")).to_be_visible()


def test_a_companions_page_reloaded_without_a_network_says_so_and_opens_again_when_back(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site, _mira, noor, walk_id = walking(open_site)
    context = new_context()
    page = context.new_page()
    sign_in(page, site, noor, f"/walks/{walk_id}")
    kept_by_its_worker(page)
    reload_without_a_network(context, page)
    opens = "It opens by itself as soon as the service can be reached"
    expect(page.get_by_text(opens)).to_be_visible()
    # Her walk is not his to send SOS for; nothing of hers is on the page.
    expect(page.get_by_role("button", name="SOS")).to_be_hidden()
    assert "Mira" not in page.content()
    screenshot(page, "companion-offline-reload")
    context.set_offline(False)
    expect(page.locator("#headline")).to_have_text(re.compile("Mira"), timeout=BACK_MS)
    assert page.url == f"{site.url}/walks/{walk_id}"


def test_a_walk_ended_while_her_page_was_closed_is_not_offered_sos_for(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Her walk ends elsewhere (Noor finds her home) while her walk page is closed: her home
    page forgets the walk, and "No network" holds no SOS for it. Signing out forgets it too."""
    site, mira, noor, walk_id = walking(open_site)
    context, page = her_walk_page(site, new_context, mira, walk_id)
    kept = "localStorage.getItem('wwm-walking')"
    assert page.evaluate(kept) is not None
    page.goto(site.url + "/contacts")  # her walk page closed
    site.call(mira, "POST", f"/api/walks/{walk_id}/sos")
    site.call(noor, "POST", f"/api/walks/{walk_id}/resolve", note="home", home="yes")
    assert page.evaluate(kept) is not None  # (nothing of hers has said so yet)
    page.goto(site.url + "/")
    expect(page.get_by_role("link", name="Walk me home")).to_be_visible()
    assert page.evaluate(kept) is None
    reload_without_a_network(context, page)
    expect(page.get_by_role("button", name="SOS")).to_be_hidden()
    context.set_offline(False)
    # Back: the page she asked for opens by itself (a goto meanwhile would be cut short by it).
    expect(page.get_by_role("link", name="Walk me home")).to_be_visible(timeout=BACK_MS)

    # A new walk, then she signs out: nothing of it is left on this browser.
    walk_id = site.start_walk(mira)["id"]
    page.goto(f"{site.url}/walks/{walk_id}")
    sos_ready(page)
    assert page.evaluate(kept) is not None
    page.get_by_text("Menu").click()
    page.get_by_role("button", name="Sign out Mira").click()
    expect(page.get_by_label("Email")).to_be_visible()
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('wwm-'))") == []


def test_behind_a_proxy_whose_service_is_down_no_network_is_shown_too(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """Behind Caddy or nginx a service that is down is a 502 from the proxy, not a network
    error: "No network" with SOS is shown in its place all the same."""
    site, mira, _noor, walk_id = walking(open_site)
    context, page = her_walk_page(site, new_context, mira, walk_id)
    context.route(
        f"{site.url}/walks/*", lambda route: route.fulfill(status=502, body="Bad Gateway")
    )
    page.reload()
    expect(page.get_by_role("heading", name="No network")).to_be_visible()
    expect(page.get_by_role("button", name="SOS")).to_be_visible()
