"""Finding her street by its name to start her first walk (an outside review: the start page
offered a map of unnamed outlines to tap, or coordinates to type, to a frightened new user
at night): a few letters, the street she picks brings the map there, she taps her door."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser_site import screenshot, sign_in
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    browser,
    new_context,
    open_site,
    recorder,
)
from walkwithme.domain.geo import distance_m

pytestmark = [pytest.mark.browser]

KAIVOKATU = (60.17105, 24.94185)  # by the railway station


def test_she_finds_her_street_by_a_few_letters_and_taps_her_door_on_it(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    page = new_context().new_page()
    sign_in(page, site, mira, "/walks/new")
    page.get_by_label("Find a street").fill("kaivo")
    found = page.get_by_role("list", name="Streets found").get_by_role("button")
    expect(found).to_have_text(["Kaivokatu", "Kaivopiha"])
    expect(page.locator("#street-find-said")).to_have_text("2 streets found: choose yours.")
    screenshot(page, "walker-start-find-street")
    found.first.click()
    expect(page.locator("#street-find-said")).to_have_text(
        "The map shows Kaivokatu: now tap your door on it."
    )
    page.get_by_role("region", name="Map: tap where you are going").click()  # its middle
    typed = page.get_by_label("Latitude, longitude").input_value()
    lat, lon = (float(part) for part in typed.split(","))
    assert distance_m(lat, lon, *KAIVOKATU) < 250
    expect(page.locator("#map-said")).to_contain_text("near Kaivokatu")

    page.get_by_label("Find a street").fill("zzqx")
    expect(page.locator("#street-find-said")).to_have_text(
        "No street of that name on this map: try fewer letters, or tap the map."
    )
    expect(found).to_have_count(0)


def test_a_street_found_but_no_door_tapped_is_said_so_and_her_street_kept(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
) -> None:
    """She picks her street and starts, not having tapped her door: she read "type the place
    as latitude, longitude", and the street she found was gone (an outside review). Told to
    tap her door, with her street offered again."""
    site = open_site()
    mira, noor = site.person("Mira"), site.person("Noor")
    site.link(mira, noor)
    context = new_context()
    context.grant_permissions(["geolocation"], origin=site.url)  # (where she starts from)
    context.set_geolocation({"latitude": 60.16952, "longitude": 24.93545, "accuracy": 8})
    page = context.new_page()
    sign_in(page, site, mira, "/walks/new")
    page.get_by_label("Find a street").fill("kaivo")
    page.get_by_role("list", name="Streets found").get_by_role("button").first.click()
    page.get_by_label("PIN", exact=True).fill("2468")
    page.get_by_label("The same PIN again").fill("2468")
    page.get_by_role("button", name="Start my walk").click()
    expect(page.locator("main")).to_contain_text("Tap your door on the map first")
    expect(page.locator("main")).not_to_contain_text("latitude, longitude: 60.1611")
    expect(page.get_by_label("Find a street")).to_have_value("Kaivokatu")
    found = page.get_by_role("list", name="Streets found").get_by_role("button")
    expect(found.first).to_have_text("Kaivokatu")
