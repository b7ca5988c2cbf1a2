"""A drill's fast clock in a real Chromium: the pages count time as fast as the service's
clock runs (`serve --clock-speed`), not at real speed between two of their looks at it, or
her "Are you OK?" countdown fell behind the alarm it counted down to.

The service's clock here is a fake one that says it runs five times real speed (as a
drill's does) and moves only when the test moves it; the page's clock is Playwright's.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.sinks import WebhookSink
from tests.test_pages_browser import (  # noqa: F401 (fixtures)
    SiteFactory,
    asked_with_her_own_alerts,
    browser,
    new_context,
    open_site,
    recorder,
    refusing_sink,
)
from walkwithme.clock import FakeClock

pytestmark = [pytest.mark.browser]


class DrillClock(FakeClock):
    """Says it runs five times real speed, as `serve --clock-speed 5` does."""

    @property
    def speed(self) -> float:
        return 5.0


@pytest.fixture
def clock() -> FakeClock:
    return DrillClock()


def test_in_a_drill_her_are_you_ok_page_counts_down_at_the_drills_speed(
    open_site: SiteFactory,  # noqa: F811
    new_context: Callable[[], BrowserContext],  # noqa: F811
    refusing_sink: WebhookSink,  # noqa: F811
) -> None:
    site, _mira, _noor, _walk = asked_with_her_own_alerts(open_site, refusing_sink)
    asking = new_context().new_page()
    asking.clock.install()
    asking.clock.pause_at(1_000_000_000_000)
    asking.goto(site.url + site.link_of("check"))
    left = asking.locator("#time-left")
    expect(left).to_have_text("1:00 left")  # (her thresholds: a minute to answer)
    asking.clock.run_for(6_000)  # 6 s of the phone's: 30 s of the drill's
    expect(left).to_have_text("0:30 left")
