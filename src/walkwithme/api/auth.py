"""Who is asking: a person (bearer token or the session cookie of pages) or a device.

Tokens say what they are by their prefix: `wwm_` a person's session, `dev_` a device. A device
token may post fixes and nothing else. The cookie is for pages: requests that change something
with it, and every WebSocket opened with it, must come from our own origin.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from walkwithme.config import Config
from walkwithme.domain.errors import Forbidden, Unauthorized
from walkwithme.hashing import Lane
from walkwithme.services import Services
from walkwithme.usecases import throttle
from walkwithme.usecases.accounts import Person, password_hash_of, person_for_session
from walkwithme.usecases.devices import Device

COOKIE = "wwm_session"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.app.state.services
    return svc


def bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def sees_operations(conn: HTTPConnection) -> bool:
    """The service's own counts (/metrics, the details of /healthz) are for the operator:
    from this machine, or with `WWM_METRICS_TOKEN`. Counts of walks in alarm, seen from
    anywhere, could tell whoever holds her phone that a silent alarm was raised."""
    if conn.client is not None and conn.client.host in LOOPBACK:
        return True
    token = services(conn).config.metrics_token
    given = bearer(conn)
    return bool(token) and given is not None and hmac.compare_digest(given, token)


def same_origin(conn: HTTPConnection, *, required: bool) -> bool:
    """The request's Origin is the service's own: `WWM_PUBLIC_URL`, or without it the address
    it listens on. Never the request's Host header, which whoever sends it chooses."""
    origin = conn.headers.get("origin")
    if origin is None:
        return not required
    seen = origin_of(origin)
    return seen is not None and seen in own_origins(services(conn).config)


_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def own_origins(config: Config) -> set[tuple[str, str, int]]:
    """`WWM_PUBLIC_URL`'s origin; without it, where the service listens, and when that is this
    machine, by any of its loopback names (a browser here may say localhost)."""
    own = origin_of(config.base_url)
    if own is None:
        return set()
    scheme, host, port = own
    if config.public_url or host not in _LOOPBACK_NAMES:
        return {own}
    return {(scheme, name, port) for name in _LOOPBACK_NAMES}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port as a browser compares origins (a WebSocket's as its page's);
    None for one that can't be read (no browser sends that: a foreign origin, refused)."""
    try:
        parts = urlsplit(url.strip())  # an unclosed IPv6 bracket raises here...
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
        if scheme not in ("http", "https") or not parts.hostname:
            return None
        port = parts.port or (443 if scheme == "https" else 80)  # ...a port that isn't, here
    except ValueError:
        return None
    return scheme, parts.hostname.lower(), port


# What a browser's Sec-Fetch-Site says of a request another site's page made.
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def from_another_site(conn: HTTPConnection) -> bool:
    """A browser says this request came from another site's page: `Sec-Fetch-Site` naming
    another site, or an `Origin` not our own (our pages send `null`). A client that is not a
    browser sends neither."""
    site = conn.headers.get("sec-fetch-site", "").strip().lower()
    origin = conn.headers.get("origin")
    return site in _FOREIGN_SITES or (
        origin not in (None, "null") and not same_origin(conn, required=True)
    )


def from_our_origin(conn: HTTPConnection) -> bool:
    """A request that may change something with the cookie came from our own pages: one of
    `Sec-Fetch-Site: same-origin` and an `Origin` of our own says so, and neither says
    otherwise (another site, or another origin than `null`, which our pages send: they send no
    referrer). Either header naming another site is enough to refuse."""
    if from_another_site(conn):
        return False
    site = conn.headers.get("sec-fetch-site", "").strip().lower()
    return site == "same-origin" or same_origin(conn, required=True)  # pages' fetches: `null`


async def person_of(conn: HTTPConnection, *, websocket: bool = False) -> Person:
    token = bearer(conn)
    from_cookie = False
    if token is None:
        token = conn.cookies.get(COOKIE)
        from_cookie = token is not None
    if token is None:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    if token.startswith("dev_"):
        raise Forbidden("a device token can only post fixes")
    if from_cookie:
        unsafe = websocket or (isinstance(conn, Request) and conn.method not in _SAFE_METHODS)
        # Browsers send Origin with every request that can change something; one without it
        # did not come from our pages. Our pages send no referrer, so their own fetches say
        # `Origin: null` and where they come from in Sec-Fetch-Site, which pages can't forge.
        if unsafe and not from_our_origin(conn):
            raise Forbidden("cross-origin request refused")
    svc = services(conn)
    now = svc.clock.now_ms()
    person = await svc.db.read(lambda c: person_for_session(c, token, now))
    if person is None:
        raise Unauthorized("this sign-in is not valid (expired or signed out)")
    return person


async def current_person(request: Request) -> Person:
    return await person_of(request)


async def current_device(request: Request) -> Device:
    token = bearer(request)
    if token is None or not token.startswith("dev_"):
        raise Unauthorized("send the device's token: 'Authorization: Bearer dev_...'")
    device = await services(request).device_tokens.device(token)
    if device is None:
        raise Unauthorized("unknown or revoked device token")
    return device


PersonDep = Annotated[Person, Depends(current_person)]
DeviceDep = Annotated[Device, Depends(current_device)]
ServicesDep = Annotated[Services, Depends(services)]


async def check_password(svc: Services, person: Person, password: str) -> None:
    """Her password, asked again while she is signed in; counted with her sign-ins before it
    is checked (429 past the limit: usecases/throttle.py), so a session is no way round it."""
    await svc.writer.run(lambda tx: throttle.password_check(tx, person.email))
    found = await svc.db.read(lambda c: password_hash_of(c, person.email))
    ok = found is not None and await svc.hashing.verify(Lane.PASSWORDS, found[1], password)
    if not ok:
        raise Forbidden("wrong password", field="password")
