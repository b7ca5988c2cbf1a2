"""The one way out: every request the server makes on someone's behalf (webhooks, the
operator's hook) goes through here, with a timeout, at most a few redirects, and no private,
loopback or link-local address unless the operator allows it, so a channel can't be used to
probe the server's own network. Every hop of a redirect is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx2

TIMEOUT_S = 10.0
MAX_REDIRECTS = 3


class Refused(Exception):
    """The address may not be reached. Permanent: retrying won't help."""


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
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise Refused("the address is private: it may not be reached from here")


def is_private_literal(host: str) -> bool:
    """A host given as an IP address, or localhost, that isn't public (names are checked
    again, after resolving, at every send)."""
    if host.lower() in ("localhost", socket.gethostname().lower()):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


async def post(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool
) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            await check_address(url, allow_private=allow_private)
            response = await client.post(url, content=body, headers=headers)
            if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            return response
    raise Refused("too many redirects")
