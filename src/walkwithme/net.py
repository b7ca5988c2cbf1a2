"""A free TCP port on this machine, for the services the demo (and the tests) start."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Where the kernel takes the local ports of outgoing connections when it is not told.
OUTGOING_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 20_000  # above the ports well-known services are configured on


def free_port() -> int:
    """A port nothing listens on, chosen below the range the kernel gives outgoing connections.

    A port from `bind(0)` comes from that range, so between choosing it and the service
    binding it, any client's connection (to PostgreSQL, to another test's service) may take it
    as its own end: the service then fails with "address already in use". Below the range,
    only another listener can take it."""
    first_outgoing = _first_outgoing_port()
    if first_outgoing - LOWEST >= 1_000:
        for _ in range(200):
            port = random.randrange(LOWEST, first_outgoing)  # noqa: S311 (not a secret)
            if _bindable(port):
                return port
    with socket.socket() as s:  # a machine whose outgoing range leaves no room below it
        s.bind(("127.0.0.1", 0))
        chosen: int = s.getsockname()[1]
        return chosen


def _first_outgoing_port() -> int:
    try:
        return int(OUTGOING_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
