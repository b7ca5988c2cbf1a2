"""Issue 12, finding 8: the security headers on every answer (pages, API, refusals made
before the app is reached), and a cookie request's Origin compared with the service's own
address (`WWM_PUBLIC_URL`, else where it listens), never with the request's own Host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient, WebSocketDenialResponse

from tests.browser_site import PASSWORD
from tests.conftest import LOCAL, make_services
from tests.people import Cast, Member
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.web import lost

pytestmark = pytest.mark.one_database  # on SQLite only (conftest.py says why)


def assert_secured(answer: httpx2.Response, what: str) -> None:
    headers = answer.headers
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, what
    assert "script-src 'self'" in policy, what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert headers.get("cache-control") == "no-store", what


def test_every_kind_of_answer_carries_the_security_headers(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    client = cast.client
    walk_url = f"/api/walks/{walk['id']}"
    share = client.post(f"{walk_url}/shares", json={}, headers=mira.auth).json()
    answers = {
        "a walk with her position": client.get(walk_url, headers=noor.auth),
        "her track": client.get(f"{walk_url}/fixes", headers=noor.auth),
        "a share link's walk": client.get(f"/api/share/{share['token']}"),
        "the walk's page": client.get(f"/walks/{walk['id']}", headers=noor.auth),
        "the sign-in page": client.get("/signin"),
        "the OpenAPI document": client.get("/openapi.json"),
        "401": client.get("/api/me"),
        "404": client.get("/api/walks/999999", headers=noor.auth),
        "422": client.patch("/api/me", json={"pace": 30}, headers=mira.auth),
        "400": client.post(
            "/api/fixes", content=b"{", headers={"Authorization": f"Bearer {phone}"}
        ),
        # Refused as it streams in, before the app is reached.
        "413": client.post("/api/session", content=b"x" * 2_000_000),
    }
    assert answers["413"].status_code == 413
    for what, answer in answers.items():
        assert_secured(answer, what)


def _cookie(member: Member) -> dict[str, str]:
    return {"Cookie": f"wwm_session={member.token}"}


def test_a_cookie_write_whose_host_header_matches_a_foreign_origin_is_refused(
    cast: Cast,
) -> None:
    """Whoever sends the request chooses its Host: it proves nothing about the page."""
    mira = cast.person("Mira")
    for origin, host in (
        ("http://evil.example", "evil.example"),
        ("http://127.0.0.1:9999", "127.0.0.1:9999"),
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),
    ):
        headers = {**_cookie(mira), "Origin": origin, "Host": host}
        answer = cast.client.patch("/api/me", json={"name": "Eve"}, headers=headers)
        assert answer.status_code == 403, (origin, answer.text)
    assert cast.client.get("/api/me", headers=mira.auth).json()["name"] == "Mira"
    for origin in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        own = {**_cookie(mira), "Origin": origin}  # this machine, by any of its names
        answer = cast.client.patch("/api/me", json={"name": "Mira B"}, headers=own)
        assert answer.status_code == 200, (origin, answer.text)


def test_an_origin_that_cant_be_read_is_foreign_not_a_fault(cast: Cast) -> None:
    """No browser sends such an Origin; whoever does is refused (403), on a page's form, the
    API and the live stream, never answered with a fault (and a trace in the log)."""
    mira, noor, phone, walk = cast.walking()
    for origin in ("http://[::1", "http://127.0.0.1:99999", "http://[::1]:port"):
        headers = {**_cookie(mira), "Origin": origin}
        answer = cast.client.patch("/api/me", json={"name": "Eve"}, headers=headers)
        assert answer.status_code == 403, (origin, answer.text)
        signin = cast.client.post(
            "/signin", content=b"email=a%40b.c&password=x", headers={"Origin": origin}
        )
        assert signin.status_code == 403, (origin, signin.text)
        stream = {**_cookie(noor), "Origin": origin}
        assert _refused_stream(cast, f"/api/walks/{walk['id']}/live", stream).status_code == 403
    assert cast.client.get("/api/me", headers=mira.auth).json()["name"] == "Mira"


def _refused_stream(cast: Cast, path: str, headers: dict[str, str]) -> httpx2.Response:
    """The HTTP answer that refuses to open a WebSocket (fails if it opens)."""
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        cast.client.websocket_connect(path, headers=headers) as ws,
    ):
        ws.receive_json()
    return refused.value


def test_a_cookie_websocket_whose_host_header_matches_a_foreign_origin_is_refused(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()
    headers = {**_cookie(noor), "Origin": "http://evil.example", "Host": "evil.example"}
    refused = _refused_stream(cast, f"/api/walks/{walk['id']}/live", headers)
    assert refused.status_code == 403


def test_a_refused_websocket_is_answered_with_the_security_headers(cast: Cast) -> None:
    """Review F7: a stream refused before it opens was a bare 403 (no CSP, no nosniff...)."""
    mira, noor, phone, walk = cast.walking()
    eve = cast.person("Eve")
    live = f"/api/walks/{walk['id']}/live"
    refusals = {
        "nobody signed in": (_refused_stream(cast, live, {}), 401),  # close code 4401
        "a stranger": (_refused_stream(cast, live, eve.auth), 403),
        "a phone's token": (_refused_stream(cast, live, {"Authorization": f"Bearer {phone}"}), 403),
        "another site's page": (
            _refused_stream(cast, live, {**_cookie(noor), "Origin": "http://evil.example"}),
            403,
        ),
        "an unknown link": (_refused_stream(cast, f"/api/share/shr_{'x' * 40}/live", {}), 403),
        "a wrong parameter": (_refused_stream(cast, f"{live}?after_fix=-1", noor.auth), 422),
        "no such stream": (_refused_stream(cast, "/api/nowhere/live", noor.auth), 403),
    }
    for what, (answer, status) in refusals.items():
        assert answer.status_code == status, (what, answer.text)
        assert_secured(answer, what)
        assert answer.json()["error"], what
    # The walk's own stream still opens for her companion.
    with cast.client.websocket_connect(live, headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"


@pytest.mark.parametrize(
    ("origin", "site"),
    [
        ("http://127.0.0.1:8000", "cross-site"),
        ("http://127.0.0.1:8000", "same-site"),
        ("http://evil.example", "same-origin"),
        ("null", "cross-site"),
        (None, "cross-site"),
    ],
)
def test_a_cookie_request_refused_when_either_header_names_another_site(
    cast: Cast, origin: str | None, site: str
) -> None:
    """Review F8: a good Origin let a cross-site Sec-Fetch-Site through, and the reverse."""
    mira, noor, phone, walk = cast.walking()
    headers = {**_cookie(mira), "Sec-Fetch-Site": site, **({"Origin": origin} if origin else {})}
    answer = cast.client.patch("/api/me", json={"name": "Eve"}, headers=headers)
    assert answer.status_code == 403, answer.text
    form = {**headers, "content-type": "application/x-www-form-urlencoded"}
    page = cast.client.post("/places", content="name=x&where=60.1,24.9", headers=form)
    assert page.status_code == 403, page.text
    stream = {**_cookie(noor), "Sec-Fetch-Site": site, **({"Origin": origin} if origin else {})}
    assert _refused_stream(cast, f"/api/walks/{walk['id']}/live", stream).status_code == 403
    assert cast.client.get("/api/me", headers=mira.auth).json()["name"] == "Mira"


@pytest.mark.parametrize(
    ("origin", "site"),
    [("null", "same-origin"), (None, "same-origin"), ("http://127.0.0.1:8000", None)],
)
def test_a_cookie_request_from_our_pages_is_taken(
    cast: Cast, origin: str | None, site: str | None
) -> None:
    mira = cast.person("Mira")
    headers = {
        **_cookie(mira),
        **({"Sec-Fetch-Site": site} if site else {}),
        **({"Origin": origin} if origin else {}),
    }
    answer = cast.client.patch("/api/me", json={"name": "Mira B"}, headers=headers)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def behind_a_proxy(sqlite_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Cast]:
    """The service behind a proxy at https://walk.example.org (WWM_PUBLIC_URL)."""
    svc = make_services(sqlite_url, tmp_path, clock, WWM_PUBLIC_URL="https://walk.example.org")
    with TestClient(create_app(svc), base_url="https://walk.example.org", client=LOCAL) as c:
        yield Cast(c, svc, clock)
    svc.db.dispose()


def test_behind_a_proxy_only_the_public_origin_may_write_with_the_cookie(
    behind_a_proxy: Cast,
) -> None:
    cast = behind_a_proxy
    mira = cast.person("Mira")
    for origin in ("https://walk.example.org", "https://WALK.example.org:443"):
        headers = {**_cookie(mira), "Origin": origin}
        answer = cast.client.patch("/api/me", json={"name": "Mira B"}, headers=headers)
        assert answer.status_code == 200, (origin, answer.text)
    for origin in ("http://walk.example.org", "https://evil.example", "null"):
        headers = {**_cookie(mira), "Origin": origin, "Host": "evil.example"}
        answer = cast.client.patch("/api/me", json={"name": "Eve"}, headers=headers)
        assert answer.status_code == 403, (origin, answer.text)


def test_signing_in_or_up_from_another_sites_page_is_refused_and_sets_no_cookie(
    cast: Cast,
) -> None:
    """Another site's page could sign her browser in to an account of its choosing (and read
    what she then does there): refused as the cookie's writes are. An app or a script sends no
    Origin and is answered as before."""
    mira = cast.person("Mira")
    sign_in = {"email": mira.email, "password": PASSWORD}
    sign_up = {"email": "eve@example.org", "name": "Eve", "password": PASSWORD}
    for foreign in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = cast.client.post("/api/session", json=sign_in, headers=foreign)
        assert answer.status_code == 403, answer.text
        assert "set-cookie" not in answer.headers
        made = cast.client.post("/api/signup", json=sign_up, headers=foreign)
        assert made.status_code == 403, made.text
    app = cast.client.post("/api/session", json=sign_in)
    assert app.status_code == 200, app.text
    own = cast.client.post("/api/session", json=sign_in, headers={"Origin": "null"})
    assert own.status_code == 200, own.text


def test_an_address_with_a_slash_at_the_end_is_sent_on_without_it_and_never_elsewhere(
    cast: Cast,
) -> None:
    """Starlette's own redirect wrote the request's Host header into the address, which a
    proxy that passes Host on and caches would serve to others (an outside review)."""
    for path, to in (
        ("/walks/new/", "/walks/new"),
        ("/api/walks/?x=1", "/api/walks?x=1"),
    ):
        sent = cast.client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
        assert sent.status_code == 307, path
        assert sent.headers["location"] == to, path
    # Never to another site: `//evil.example` is one, to a browser (the test client can't
    # send such a path; a raw request can).
    scope = {
        "type": "http",
        "method": "GET",
        "path": "//evil.example/",
        "query_string": b"",
        "headers": [],
    }
    sent_to = lost._without_slash(Request(scope))
    assert sent_to is not None
    assert sent_to.startswith("/")
    assert not sent_to.startswith("//")
    # A write is not sent on (a browser would post it again), and the phones' doors answer
    # with the slash themselves.
    assert cast.client.post("/api/walks/", json={}).status_code == 404
    assert cast.client.post("/api/owntracks/", json={"_type": "location"}).status_code != 307
