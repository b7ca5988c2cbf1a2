"""The channels page in a real Chromium at a phone's width, where the operator's mail server
sends email (WWM_SMTP_URL): "Email" is the first kind and chosen, her address is the one field
shown, choosing another kind shows its URL field instead, and the address she adds receives
its test at a real SMTP server on 127.0.0.1. A screenshot is left in tests/screenshots/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser_site import Site, serve
from tests.conftest import make_services
from tests.sinks import Mailbox, smtp_server
from tests.test_manage_browser import browser, looked_at, new_context, signed_in  # noqa: F401
from walkwithme.clock import FakeClock
from walkwithme.net import free_port

pytestmark = [pytest.mark.browser]

# `browser` and `new_context` above are the manage pages' fixtures, this module's too: one
# Chromium, and every request a test's pages make checked to reach this machine only.


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def site(tmp_path: Path, clock: FakeClock, mailbox: Mailbox) -> Iterator[Site]:
    """The service on SQLite, sending email through the SMTP server on this machine (its
    notifier sends as soon as an alert is committed)."""
    services = make_services(
        f"sqlite:///{tmp_path / 'email.db'}",
        tmp_path,
        clock,
        None,
        WWM_SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}?from=walks@example.org",
        WWM_PORT=str(free_port()),
    )
    services.background_watchdog = True
    with ExitStack() as stack:
        stack.callback(services.db.dispose)
        yield stack.enter_context(serve(services, clock))


def test_she_adds_her_email_address_first_and_its_test_arrives(
    site: Site,
    mailbox: Mailbox,
    new_context: Callable[[], BrowserContext],  # noqa: F811 (the fixture imported above)
) -> None:
    noor = site.person("Noor")
    page = signed_in(site, new_context(), noor, "/channels")
    kinds = page.locator('input[name="kind"]')
    expect(kinds.first).to_have_attribute("value", "email")
    expect(page.get_by_label("Email", exact=True)).to_be_checked()
    address = page.get_by_label("Your email address")
    expect(address).to_be_visible()
    expect(address).to_have_attribute("type", "email")
    expect(page.get_by_label("Webhook or Apprise URL")).to_be_hidden()
    # Another kind: its URL field instead, and back.
    page.get_by_label("Webhook", exact=True).check()
    expect(page.get_by_label("Webhook or Apprise URL")).to_be_visible()
    expect(address).to_be_hidden()
    page.get_by_label("Email", exact=True).check()
    expect(address).to_be_visible()
    looked_at(page, "channels-email")
    address.fill(noor.email)
    page.get_by_role("button", name="Add the channel").click()
    expect(page.locator(".channel")).to_contain_text(f"{noor.email} (email): not tested yet")
    page.get_by_role("button", name=f"Send a test to {noor.email}").click()
    for _ in range(100):  # until the notifier sent it (polling the mailbox, not a deadline)
        if mailbox.messages:
            break
        page.wait_for_timeout(100)
    [test] = mailbox.messages
    assert test["To"] == noor.email
    # Only the mail server is known to have taken it: she is asked to look, not told it works.
    expect(page.locator("#test-said")).to_have_text(
        f"The mail server took the test for “{noor.email}”: check that it arrived (and not "
        "among spam).",
        timeout=15_000,
    )
    looked_at(page, "channels-email-tested")
