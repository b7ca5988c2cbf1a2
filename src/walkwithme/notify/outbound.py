"""The one way out: every request the server makes on someone's behalf (webhooks, Web Push,
the operator's hook, the heartbeat) goes through here, with a timeout, at most a few
redirects, and no private, loopback or link-local address unless the operator allows it, so a
channel can't be used to probe the server's own network. Every hop of a redirect is checked
again, before every request (a kept-alive connection is no exception).

`Outbound` is one HTTP client for the process's lifetime, made by the services and closed when
they stop: making a client for each send (and its TLS context, which loads the CA bundle) took
tens of milliseconds of the event loop per alert under load (benchmarks/watchdog_load.py). It
keeps no cookies (one receiver's cookie must never ride along to another's request) and
follows no redirect by itself: `post` follows them, checking each hop.

The address a connection is really made to is checked too, whoever makes it: while a send is
under way (`guarded`, a context variable that follows the send into Apprise's worker
threads), Python's audit hook sees every `socket.connect` and refuses one to an address that
isn't public. So a name that answers a public address to the check and a private one to the
connection (DNS rebinding), a redirect that Apprise follows by itself, or the SMTP server of an
Apprise `mailto://...?smtp=` URL never reach the server's own network; TLS is untouched and
still verified against the name. The IPv4 address inside IPv4-mapped, IPv4-compatible, NAT64
(64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) addresses is checked as IPv4.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TypeVar
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx2

from walkwithme.domain.errors import Invalid

T = TypeVar("T")

TIMEOUT_S = 10.0
MAX_REDIRECTS = 3
# The notifier sends up to 50 alerts at once; keep their connections for the next ones.
LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=50, keepalive_expiry=5.0)


class Refused(Exception):
    """The address may not be reached. Permanent: retrying won't help."""


class Blocked(ConnectionRefusedError):
    """A connection the audit hook stopped: an OSError, so the library that tried it fails
    the way it fails for an unreachable address; the send then says why (`Guard.refused`)."""


PRIVATE = "the address is private: it may not be reached from here"
# A channel refused as it is added: what it means, and that the operator decides it.
PRIVATE_TARGET = (
    "this address is on a private network (this machine, a home or office network), which "
    "this server does not send to; its operator can allow that (WWM_ALLOW_PRIVATE_ADDRESSES)"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address: IPAddress) -> bool:
    """Globally reachable, and so is any IPv4 address an IPv6 one carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False  # a site's own translator: its IPv4 side is anyone's guess
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return embedded.is_global
    return address.is_global


@dataclass
class Guard:
    """A send under way: what it may connect to, and why a connection was stopped."""

    allow_private: bool
    refused: str | None = None


_guard: ContextVar[Guard | None] = ContextVar("wwm_outbound_guard", default=None)


@contextlib.contextmanager
def guarded(*, allow_private: bool) -> Iterator[Guard]:
    """Every connection made in this context (and in threads that copy it) is checked."""
    guard = Guard(allow_private)
    token = _guard.set(guard)
    try:
        yield guard
    finally:
        _guard.reset(token)


def _on_audit(event: str, args: tuple[object, ...]) -> None:
    if event != "socket.connect":
        return
    guard = _guard.get()
    if guard is None or guard.allow_private:
        return
    address = args[1]
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return  # a Unix socket: not a network address
    try:
        ip = ipaddress.ip_address(address[0].split("%", 1)[0])
    except ValueError:
        guard.refused = "a connection by name was not resolved and checked first"
        raise Blocked(guard.refused) from None
    if not is_public(ip):
        guard.refused = PRIVATE
        raise Blocked(PRIVATE)


sys.addaudithook(_on_audit)  # once for the process: cheap for every other event


async def check_address(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http and https addresses can be reached")
    await check_host(parts.hostname, allow_private=allow_private)


async def check_host(host: str, *, allow_private: bool) -> None:
    """Refuse a host that resolves to any address that isn't public."""
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError("the address can't be resolved") from exc
    for info in infos:
        if not is_public(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])):
            raise Refused(PRIVATE)


def read_address(text: str, *, field: str, what: str) -> SplitResult:
    """An address the service will connect to (a channel's target), read as it will be read
    then: refused now, by name, if it never could be, rather than stored as a channel that
    looks set up and stays silent in an alarm: a space or a control character in it, an
    unclosed IPv6 bracket, and for http and https a port that isn't one. (Another scheme's
    "port" may be something else: a Telegram bot's token, `tgram://123456:ABC/chat`, reads as
    host and port; Apprise reads those itself.)"""
    if any(char.isspace() or not char.isprintable() for char in text):
        raise Invalid(f"{what} must not hold spaces or control characters", field=field)
    try:
        parts = urlsplit(text)
        # Reading it checks it: a number from 0 to 65535.
        port = parts.port if parts.scheme.lower() in ("http", "https") else None
    except ValueError:
        raise Invalid(f"{what} is not a valid URL", field=field) from None
    if port == 0:
        raise Invalid(f"{what} is not a valid URL: port 0", field=field)
    return parts


def is_private_literal(host: str) -> bool:
    """A host given as an IP address, or localhost, that isn't public (names are checked
    again, after resolving, at every send)."""
    name = host.lower().rstrip(".")
    if name in ("localhost", socket.gethostname().lower()) or name.endswith(".localhost"):
        return True
    try:
        return not is_public(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        # The older ways of writing an IPv4 address, which a connection still takes:
        # 0x7f000001, 2130706433, 127.1, 0177.0.0.1 are all 127.0.0.1.
        return not is_public(ipaddress.IPv4Address(socket.inet_aton(host)))
    except (OSError, ValueError):
        return False


class Outbound:
    """One HTTP client, shared by every send of the process. A client's connections belong to
    the event loop that opened them, so a send from another loop (a test's `tick_sync`) gets a
    client of its own for that loop."""

    def __init__(self, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._transport = transport  # tests: an httpx2.MockTransport
        self._client: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.clients_made = 0

    def _client_here(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx2.AsyncClient(
                timeout=TIMEOUT_S,
                follow_redirects=False,
                limits=LIMITS,
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
                transport=self._transport,
            )
            self._loop = loop
            self.clients_made += 1
        return self._client

    @property
    def is_open(self) -> bool:
        return self._client is not None and not self._client.is_closed

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, allow_private: bool
    ) -> httpx2.Response:
        client = self._client_here()
        with guarded(allow_private=allow_private) as guard:
            for _hop in range(MAX_REDIRECTS + 1):
                await check_address(url, allow_private=allow_private)
                try:
                    response = await client.post(url, content=body, headers=headers)
                except (httpx2.HTTPError, OSError) as exc:
                    if guard.refused:
                        raise Refused(guard.refused) from exc
                    raise
                if response.status_code in (301, 302, 303, 307, 308) and (
                    "location" in response.headers
                ):
                    url = urljoin(url, response.headers["location"])
                    continue
                return response
        raise Refused("too many redirects")

    async def aclose(self) -> None:
        """Close this loop's client (the service stopping, or a test's loop ending)."""
        client, loop = self._client, self._loop
        if client is None or loop is not asyncio.get_running_loop():
            return
        self._client, self._loop = None, None
        await client.aclose()


def run_alone(look: Callable[[], Awaitable[T]], http: Outbound) -> T:
    """One look from a thread that isn't the service's event loop (tests, tools): its own
    loop, whose HTTP connections are closed when it ends."""

    async def alone() -> T:
        try:
            return await look()
        finally:
            await http.aclose()  # its connections belong to this loop, which ends now

    return asyncio.run(alone())
