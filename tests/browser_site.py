"""The real service on 127.0.0.1 for the browser tests: uvicorn in a thread, a fake clock the
test moves, the shipped Helsinki street map, and people who act through the HTTP API.

Chromium is Debian's (/usr/bin/chromium, or WWM_CHROMIUM), driven by Playwright for Python.
Without it the browser tests skip, except under CI (CI=true), where a missing browser fails.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
import sqlalchemy as sa
import uvicorn
from playwright.sync_api import BrowserContext, Page, ViewportSize

from tests.people import HOME, PIN, START, Member
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.notify.messages import with_link
from walkwithme.security import hash_secret
from walkwithme.services import Services
from walkwithme.store.schema import alerts
from walkwithme.usecases import accounts

CHROMIUM = os.environ.get("WWM_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SHOTS = Path(os.environ.get("WWM_SCREENSHOTS", Path(__file__).parent / "screenshots"))
STARTED_WITHIN_S = 20.0  # a bound for start-up, not a timing assertion


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(message + " (under CI a missing browser is a failure)")
    pytest.skip(message)


class Server:
    """The app served by uvicorn from a thread of this process (so the test shares its fake
    clock and its services)."""

    def __init__(self, services: Services) -> None:
        # Where the service was told it listens (WWM_PORT): its own origin, which cookie
        # writes and WebSockets must come from (api/auth.py's same-origin check).
        self.port = services.config.port
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(services), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + STARTED_WITHIN_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.02)  # polling for start-up, not waiting for a deadline
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Site:
    """The running service, and its people acting through the API (as their phones would)."""

    url: str
    services: Services
    clock: FakeClock
    http: httpx2.Client

    def person(self, name: str, timezone: str = "Europe/Helsinki") -> Member:
        new = accounts.NewPerson(
            f"{name.lower()}@example.org", name, hash_secret(PASSWORD), timezone
        )

        def job(tx: Any) -> tuple[accounts.Person, str]:
            person = accounts.create_person(tx, new)
            return person, accounts.open_session(tx, person.id, 30)

        person, token = self.services.writer.run_sync(job)
        return Member(person.id, name, person.email, token)

    def call(self, who: Member, method: str, path: str, **body: Any) -> Any:
        answer = self.http.request(method, path, json=body or None, headers=who.auth)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def link(self, owner: Member, member: Member, role: str = "companion") -> None:
        self.call(owner, "POST", "/api/contacts", email=member.email, role=role)
        asked = self.call(member, "GET", "/api/contacts")[-1]
        self.call(member, "POST", f"/api/contacts/{asked['id']}/accept")

    def device(self, owner: Member) -> str:
        token: str = self.call(owner, "POST", "/api/devices", name="phone")["token"]
        return token

    def start_walk(self, walker: Member, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "destination": {"lat": HOME[0], "lon": HOME[1], "radius": 40, "name": "home"},
            "from": {"lat": START[0], "lon": START[1]},
            "pin": PIN,
            **extra,
        }
        walk: dict[str, Any] = self.call(walker, "POST", "/api/walks", **body)
        return walk

    def walking(self, **first: Any) -> tuple[Member, Member, str, dict[str, Any]]:
        """Mira on a walk home, Noor following, her phone's first fix sent at the start of
        the route (`first`: more of that fix, a battery say), as `Cast.walking` for pages."""
        mira, noor = self.person("Mira"), self.person("Noor")
        self.link(mira, noor)
        phone = self.device(mira)
        walk = self.start_walk(mira)
        self.send(phone, self.route_home()[0], **first)
        return mira, noor, phone, walk

    def send(self, phone: str, where: tuple[float, float], **extra: Any) -> None:
        fix = {"t": self.clock.now_ms(), "lat": where[0], "lon": where[1], "accuracy": 8, **extra}
        answer = self.http.post(
            "/api/fixes", json={"fixes": [fix]}, headers={"Authorization": f"Bearer {phone}"}
        )
        assert answer.status_code == 200, answer.text

    def look(self, **advance: float) -> list[str]:
        """Move the clock, then let the watchdog look, as its loop would at that moment."""
        self.clock.advance(**advance)
        # From a thread of its own: Playwright's sync API keeps an event loop in this one.
        with ThreadPoolExecutor(1) as another:
            return another.submit(self.services.watchdog.tick_sync).result()

    def link_of(self, kind: str) -> str:
        """The page the newest alert of this kind about a walk links to (its path)."""
        query = (
            sa.select(alerts.c.payload)
            .where(alerts.c.kind == kind, alerts.c.walk_id.is_not(None))
            .order_by(alerts.c.id.desc())
        )
        payloads = self.services.db.read_sync(lambda c: [r.payload for r in c.execute(query)])
        found = with_link(payloads[0], "")["link"]
        assert isinstance(found, str)
        return found

    def route_home(self) -> list[tuple[float, float]]:
        assert self.services.streets is not None
        found = self.services.streets.route(START, HOME)
        assert found is not None
        return list(found.points)


@dataclass
class Recorder:
    """Every request a browser context makes, WebSockets included."""

    urls: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", self.watch_page)

    def watch_page(self, page: Page) -> None:
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    def outside(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).hostname not in ("127.0.0.1", None)]


class TileServer:
    """A tile server on this machine: every tile is the same small grey PNG."""

    PNG = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
        "0000000a4944415408d763b80700010101001a4a8e6e0000000049454e44ae426082"
    )

    def __init__(self) -> None:
        self.asked: list[str] = []
        asked, png = self.asked, self.PNG

        class Tile(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Tile)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def axe_script() -> str:
    spec = importlib.util.find_spec("axe_playwright_python")
    assert spec is not None
    assert spec.origin is not None
    return (Path(spec.origin).parent / "axe.min.js").read_text()


_AXE: list[str] = []


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not _AXE:
        _AXE.append(axe_script())
    page.evaluate(_AXE[0])
    results: dict[str, Any] = page.evaluate("axe.run(document).then(r => r)")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# Screenshots this process took: a page that several tests pass through (her walk's start) is
# shot once. Each shot of a full page with its map, resized to a desktop's width, is work a
# loaded machine did slowly enough to fail a test (10 s) that judged nothing of it.
_TAKEN: set[str] = set()
SHOT_TIMEOUT_MS = 30_000  # a bound on a loaded machine, not a timing assertion


def screenshot(page: Page, name: str) -> None:
    """At a phone's width, then a desktop's; the page is left at the phone's."""
    if name in _TAKEN:
        return
    _TAKEN.add(name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True, timeout=SHOT_TIMEOUT_MS)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=SHOTS / f"{name}-desktop.png", full_page=True, timeout=SHOT_TIMEOUT_MS)
    page.set_viewport_size(PHONE)


def sign_in(page: Page, site: Site, who: Member, path: str) -> None:
    page.goto(site.url + path)
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.url == site.url + path, page.content()


@contextmanager
def serve(services: Services, clock: FakeClock) -> Iterator[Site]:
    server = Server(services).start()
    try:
        # An idle connection dropped here long before the server's own 5 s: reused as the
        # server closed it, a request was reset by peer (a CI run).
        limits = httpx2.Limits(keepalive_expiry=1.0)
        with httpx2.Client(base_url=server.url, timeout=30, limits=limits) as http:
            yield Site(server.url, services, clock, http)
    finally:
        server.stop()
