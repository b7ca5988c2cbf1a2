"""The manage pages in a real Chromium, at a phone's width: he offers from his page and she
declines kindly with a promise, then accepts from hers; contacts and places; a webhook added
on the page receives its test at a local sink; the operator resets a password and disables a
person, whom the sign-in page then refuses; a non-operator finds nothing at /admin. axe-core
finds nothing serious on any of these pages; screenshots are left in tests/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from tests.browser_site import (
    CHROMIUM,
    PASSWORD,
    PHONE,
    Recorder,
    Site,
    require_chromium,
    screenshot,
    serious_violations,
    serve,
    sign_in,
)
from tests.conftest import make_services
from tests.people import HOME, PIN, START, Member
from tests.sinks import webhook_sink
from walkwithme.clock import FakeClock
from walkwithme.net import free_port
from walkwithme.store.schema import people
from walkwithme.streets import StreetMap

pytestmark = [pytest.mark.browser]

SHOWN_WITHIN_MS = 10_000  # how long the browser may take to show something (not a deadline)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def site(tmp_path: Path, clock: FakeClock, helsinki: StreetMap) -> Iterator[Site]:
    """The service on SQLite with the shipped Helsinki streets, its notifier sending (channels
    may reach this machine)."""
    url = f"sqlite:///{tmp_path / 'manage.db'}"
    # On a port of its own (the default, 8000, may be taken: by another test's service, or
    # on a developer's machine), which it knows: its pages' origin.
    services = make_services(
        url,
        tmp_path,
        clock,
        helsinki,
        WWM_ALLOW_PRIVATE_ADDRESSES="true",
        WWM_PORT=str(free_port()),
    )
    services.background_watchdog = True  # the notifier sends as soon as an alert is committed
    with ExitStack() as stack:
        stack.callback(services.db.dispose)
        yield stack.enter_context(serve(services, clock))


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    recorder = Recorder()
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport=PHONE, timezone_id="Europe/Helsinki")
        context.set_default_timeout(SHOWN_WITHIN_MS)
        recorder.attach(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert recorder.outside() == []  # nothing asked of any machine but this one


def signed_in(site: Site, context: BrowserContext, who: Member, path: str) -> Page:
    page = context.new_page()
    sign_in(page, site, who, path)
    return page


def looked_at(page: Page, name: str) -> None:
    """Fits the narrowest phone, nothing serious for axe-core, and screenshots to look at."""
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    page.set_viewport_size(PHONE)
    assert serious_violations(page) == [], name
    screenshot(page, name)


def test_he_offers_she_declines_kindly_then_accepts(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    his = signed_in(site, new_context(), noor, "/")
    his.get_by_role("link", name="Offer to walk someone home").click()
    expect(his.get_by_role("heading", name="Offer to walk someone home")).to_be_visible()
    his.get_by_label("Whom?").select_option(label="Mira")
    # The day and time only when they count: none for "Now", no day for "Every weekday".
    his.get_by_label("At a time").check()
    expect(his.get_by_label("Day", exact=True)).to_be_visible()
    expect(his.get_by_label("Time (theirs)")).to_be_visible()
    his.get_by_label("Every weekday").check()
    expect(his.get_by_label("Day", exact=True)).to_be_hidden()
    expect(his.get_by_label("Time (theirs)")).to_be_visible()
    his.get_by_label("Now").check()
    expect(his.get_by_label("Time (theirs)")).to_be_hidden()
    his.get_by_role("button", name="Offer to walk them home").click()
    expect(his.locator(".sent").first).to_contain_text("To walk Mira home, now")
    expect(his.locator(".sent").first).to_contain_text("waiting for an answer")
    looked_at(his, "manage-offers-his")

    hers = signed_in(site, new_context(), mira, "/offers")
    offer = hers.locator(".offer").first
    expect(offer).to_contain_text("Noor offers to walk you home")
    looked_at(hers, "manage-offers-hers")
    offer.get_by_text("Decline, with a note or a promise").click()
    offer.get_by_label("A note for Noor (optional)").fill("Thank you, not tonight")
    offer.get_by_label("Walk together another time?").select_option("tomorrow")
    offer.get_by_label("At", exact=True).fill("21:00")
    offer.get_by_role("button", name="Decline").click()
    expect(hers.get_by_text("You promised Noor to walk together tomorrow at 21:00")).to_be_visible()

    his.reload()
    first = his.locator(".sent").first
    expect(first).to_contain_text("declined")
    expect(first).to_contain_text("“Thank you, not tonight”")
    expect(first).to_contain_text("Mira promised to walk with you tomorrow at 21:00")

    # The evening she promised, he offers again, and she accepts, to her home.
    site.clock.advance(minutes=22 * 60)  # past the evening she promised
    site.call(mira, "POST", "/api/places", name="home", lat=HOME[0], lon=HOME[1])
    his.reload()
    his.get_by_label("Whom?").select_option(label="Mira")
    his.get_by_role("button", name="Offer to walk them home").click()
    hers.reload()
    offer = hers.locator(".offer").first
    offer.get_by_label("Where are you going?").select_option(label="home")
    offer.get_by_label("Your PIN for this walk (4 to 8 digits)").fill(PIN)
    offer.get_by_role("button", name="Accept: start walking with Noor").click()
    expect(hers).to_have_url(re.compile(r"/walks/\d+$"))
    his.goto(site.url + "/")
    expect(his.get_by_text("Mira is on the way")).to_be_visible()


def test_contacts_places_and_the_menu_on_a_phone(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    mira, noor = site.person("Mira"), site.person("Noor")
    page = signed_in(site, new_context(), mira, "/")
    page.get_by_text("Menu").click()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    screenshot(page, "manage-menu")
    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    page.get_by_label("Their email").fill(mira.email)  # her own, by mistake
    page.get_by_role("button", name="Ask them").click()
    expect(page.get_by_role("alert")).to_contain_text("your own contact")
    page.get_by_role("link", name="Back").click()  # the address as typed, to mend
    expect(page.get_by_label("Their email")).to_have_value(mira.email)
    page.get_by_label("Their email").fill(noor.email)
    page.get_by_label("Guardian: hears only of alarms").check()
    page.get_by_role("button", name="Ask them").click()
    expect(page.get_by_role("status")).to_contain_text("they appear below once they say yes")
    looked_at(page, "manage-contacts")
    site.call(
        noor, "POST", f"/api/contacts/{site.call(noor, 'GET', '/api/contacts')[0]['id']}/accept"
    )
    page.reload()
    expect(page.locator(".contact")).to_contain_text("Noor, your guardian")

    page.get_by_text("Menu").click()
    page.get_by_role("link", name="Places").click()
    page.get_by_label("Where: latitude, longitude").fill("60.16900, 24.93700")  # by Kamppi
    page.get_by_label("Radius in metres").fill("50")
    page.get_by_role("button", name="Add the place").click()
    expect(page.locator(".place")).to_contain_text("arriving within 50 m")

    # A second place, picked on the map (which opens at her first place, streets drawn).
    the_map = page.get_by_role("region", name="Map: tap where the place is")
    expect(the_map.locator("path.street").first).to_be_attached()
    expect(the_map.locator("path.destination")).to_have_count(1)
    box = the_map.bounding_box()
    assert box is not None
    the_map.click(position={"x": box["width"] / 2 + 40, "y": box["height"] / 2})
    # Said in words (the streets nearest it), not as the coordinates written in the field.
    expect(page.locator("#map-said")).to_contain_text("Chosen on the map: near ")
    picked = page.get_by_label("Where: latitude, longitude").input_value()
    lat, lon = (float(part) for part in picked.split(", "))
    assert abs(lat - 60.169) < 0.0005  # level with her home, a little east of it
    assert 24.937 < lon < 24.937 + 0.005
    page.get_by_label("Name").fill("work")
    page.get_by_role("button", name="Add the place").click()
    expect(page.locator(".place").nth(1)).to_contain_text(f"work {picked}")
    expect(the_map.locator("path.destination")).to_have_count(2)
    expect(the_map.locator("path.street").first).to_be_attached()
    looked_at(page, "manage-places")
    # Standing at a door, one tap marks it: no address search, no finding it on a drawing.
    page.context.grant_permissions(["geolocation"], origin=site.url)
    page.context.set_geolocation({"latitude": START[0], "longitude": START[1], "accuracy": 8})
    page.get_by_role("button", name="Here, where I am now").click()
    expect(page.locator("#map-said")).to_have_text("Chosen: where you are now: near Kaivokatu.")
    expect(page.get_by_label("Where: latitude, longitude")).to_have_value("60.17096, 24.94137")

    page.get_by_label("Where: latitude, longitude").fill("by the park")
    page.get_by_label("Name").fill("work")
    page.get_by_role("button", name="Add the place").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "“by the park” is not a latitude and longitude: addresses are not looked up here."
    )
    # Back to the form as she typed it, to mend what was wrong.
    page.get_by_role("link", name="Back").click()
    expect(page.get_by_label("Where: latitude, longitude")).to_have_value("by the park")
    expect(page.get_by_label("Name")).to_have_value("work")

    page.goto(site.url + "/settings")
    looked_at(page, "manage-settings")
    # Her account is in Helsinki already, as is this browser: nothing to offer.
    expect(page.locator("[data-zone-for]")).to_be_hidden()
    page.get_by_label("Your time zone").fill("UTC")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.get_by_role("button", name="Use this browser's: Europe/Helsinki").click()
    expect(page.get_by_label("Your time zone")).to_have_value("Europe/Helsinki")


def test_a_webhook_added_on_the_page_receives_its_test(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    noor = site.person("Noor")
    with webhook_sink() as sink:
        page = signed_in(site, new_context(), noor, "/channels")
        page.get_by_label("Address").fill(sink.url + "/noor")
        page.get_by_label("Name (for you)").fill("my server")
        page.get_by_role("button", name="Add the channel").click()
        expect(page.locator("#secret")).to_be_visible()
        page.get_by_role("button", name="Send a test to my server").click()
        expect(page.locator("#test-said")).to_be_visible()  # on its way, or there already
        expect(page.locator(".channel")).to_contain_text("my server (webhook)")
        # Said once: the address no longer carries it, so a reload shows how the test went.
        expect(page).to_have_url(site.url + "/channels")
        for _ in range(100):  # until the notifier sent it (polling the sink, not a deadline)
            if sink.ok():
                break
            page.wait_for_timeout(100)
        assert [r.path for r in sink.ok()] == ["/noor"]
        # How it went is said in place, without a reload (it said "Reload in a moment").
        said = page.locator("#test-said")
        expect(said).to_have_text("The test reached “my server”: it works.", timeout=15_000)
        expect(page.locator(".channel")).to_contain_text("my server (webhook): works")
        # And once the page is looked at again, as the service says it.
        page.reload()
        expect(page.locator(".channel")).to_contain_text("my server (webhook): worked")
        expect(page.get_by_text("A test is on its way")).to_have_count(0)
        assert sink.url not in page.content()
        looked_at(page, "manage-channels")


def test_removing_a_channel_a_place_or_a_contact_asks_first(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    """One slip beside "Send a test" removed a companion's only way to hear an alarm (an
    outside review): each removal asks first, saying what it ends; "no" keeps it, "yes" goes."""
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    hook = {"kind": "webhook", "target": "https://hooks.example.org/noor", "label": "my phone"}
    site.call(noor, "POST", "/api/channels", **hook)
    site.call(mira, "POST", "/api/places", name="Home", lat=HOME[0], lon=HOME[1])
    asked: list[str] = []

    def answer(yes: bool) -> Callable[[Dialog], None]:
        def say(dialog: Dialog) -> None:
            asked.append(dialog.message)
            if yes:
                dialog.accept()
            else:
                dialog.dismiss()

        return say

    def no_then_yes(page: Page, button: str, kept: Locator, question: str) -> None:
        asked.clear()
        page.once("dialog", answer(False))
        page.get_by_role("button", name=button).click()
        expect(kept).to_have_count(1)
        assert asked == [question]
        page.reload()  # nothing was sent: still there on the service's page
        expect(kept).to_have_count(1)
        page.once("dialog", answer(True))
        page.get_by_role("button", name=button).click()
        expect(kept).to_have_count(0)
        assert asked == [question, question]

    his = signed_in(site, new_context(), noor, "/channels")
    no_then_yes(
        his,
        "Remove my phone",
        his.locator(".channel"),
        "Remove the alert channel “my phone”? It is your only one: you will not hear of alarms.",
    )
    expect(his.get_by_text("You have no channel")).to_be_visible()
    assert site.call(noor, "GET", "/api/channels") == []

    hers = signed_in(site, new_context(), mira, "/places")
    no_then_yes(
        hers,
        "Remove Home",
        hers.locator(".place"),
        "Remove the place “Home”? It is no longer offered when you start a walk.",
    )
    assert site.call(mira, "GET", "/api/places") == []

    hers.goto(site.url + "/contacts")
    no_then_yes(
        hers,
        "End: Noor no longer sees your walks",
        hers.locator(".contact"),
        "End your contact with Noor? They no longer see your walks or hear of your alarms.",
    )
    assert site.call(mira, "GET", "/api/contacts") == []


def test_the_operator_resets_and_disables_and_nobody_else_sees_admin(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    ola, mira = site.person("Ola"), site.person("Mira")
    site.services.writer.run_sync(
        lambda tx: tx.conn.execute(
            people.update().where(people.c.id == ola.id).values(is_operator=True)
        )
    )
    page = signed_in(site, new_context(), ola, "/admin")
    card = page.locator(f"#person-{mira.id}")
    expect(card).to_contain_text("active")
    looked_at(page, "manage-admin")
    # A mis-tap asks first: "no" changes nothing; "yes" goes on.
    asked: list[str] = []

    def say_no(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", say_no)
    card.get_by_role("button", name="Disable Mira").click()
    assert len(asked) == 1
    assert asked[0].startswith("Disable Mira?")
    expect(page.locator(f"#person-{mira.id}")).to_contain_text("active")
    page.on("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Reset Mira's password").click()
    new = page.locator("#new-password").inner_text()
    assert len(new) >= 12
    page.locator(f"#person-{mira.id}").get_by_role("button", name="Disable Mira").click()
    expect(page.locator(f"#person-{mira.id}")).to_contain_text("disabled")

    hers = new_context().new_page()
    hers.goto(site.url + "/signin")
    hers.get_by_label("Email").fill(mira.email)
    hers.get_by_label("Password").fill(new)
    hers.get_by_role("button", name="Sign in").click()
    expect(hers.get_by_role("alert")).to_have_text(
        "This account is disabled: ask the server's operator"
    )
    hers.get_by_label("Password").fill(PASSWORD)
    hers.get_by_role("button", name="Sign in").click()
    expect(hers.get_by_role("alert")).to_contain_text("don't match")  # the old one is gone

    page.locator(f"#person-{mira.id}").get_by_role("button", name="Enable Mira").click()
    hers.get_by_label("Email").fill(mira.email)
    hers.get_by_label("Password").fill(new)
    hers.get_by_role("button", name="Sign in").click()
    expect(hers.get_by_role("heading", name="Hello, Mira")).to_be_visible()
    hers.goto(site.url + "/admin")
    expect(hers.get_by_role("heading", name="Nothing here")).to_be_visible()
    assert "/admin" not in hers.locator("header").inner_html()


def test_an_invite_link_makes_an_account_in_the_browsers_time_zone(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    ola = site.person("Ola")
    site.services.writer.run_sync(
        lambda tx: tx.conn.execute(
            people.update().where(people.c.id == ola.id).values(is_operator=True)
        )
    )
    page = signed_in(site, new_context(), ola, "/admin")
    page.get_by_role("button", name="Make an invite link").click()
    link = page.locator("#invite-link").inner_text()
    page.get_by_role("button", name="Copy the link").click()  # shown once: copied at once
    expect(page.locator("#invite-url-said")).to_be_visible()
    parts = urlsplit(link)  # the service's public address; here, the test's own port
    path = f"{parts.path}?{parts.query}"
    assert path.startswith("/signup?invite=inv_")

    hers = new_context().new_page()
    hers.goto(site.url + path)
    expect(hers.get_by_label("Your time zone")).to_have_value("Europe/Helsinki")
    hers.get_by_label("Your name, as your contacts will see it").fill("Aino")
    hers.get_by_label("Email").fill("aino@example.org")
    hers.get_by_label("A password (10 characters or more)").fill("a long password")
    hers.get_by_label("The password again").fill("a long password")
    looked_at(hers, "manage-signup")
    hers.get_by_role("button", name="Make my account").click()
    expect(hers.get_by_role("heading", name="Hello, Aino")).to_be_visible()
    aino = site.http.post(
        "/api/session", json={"email": "aino@example.org", "password": "a long password"}
    ).json()["token"]
    me = site.http.get("/api/me", headers={"Authorization": f"Bearer {aino}"}).json()
    assert me["timezone"] == "Europe/Helsinki"


def test_alerts_refused_by_the_browser_are_said_with_a_way_out(
    site: Site, new_context: Callable[[], BrowserContext]
) -> None:
    """A browser that may not show this site's notifications: "Get alerts in this browser"
    says so in words and what to do (it said "Registration failed - permission denied")."""
    noor = site.person("Noor")
    page = signed_in(site, new_context(), noor, "/channels")
    button = page.get_by_role("button", name="Get alerts in this browser")
    expect(button).to_be_visible()
    button.click()
    said = page.locator("#push-said")
    expect(said).to_contain_text("This browser is not allowed to show alerts from this site.")
    expect(said).to_contain_text("add another channel below")
    assert "Registration failed" not in said.inner_text()
    screenshot(page, "channels-browser-refused")
