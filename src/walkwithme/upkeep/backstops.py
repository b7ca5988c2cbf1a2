"""`walkwithme check` on what stands behind the service when something fails outside it: the
heartbeat to a dead man's switch (nobody outside hears the service stop without one), the
emergency hook (an alarm's ladder ends with her guardians without one), and the MQTT broker
her OwnTracks phone reports through (unreachable, her phone goes unheard and her walk is
alarmed for silence). Each was missing from `check`'s list, unsaid, when it was not set or
could not be reached (an operator's first hour). And whether a street file is one at all.
"""

from __future__ import annotations

import socket
from pathlib import Path

from walkwithme.settings import Broker
from walkwithme.upkeep.findings import Finding, Verdict

REACH_TIMEOUT_S = 3.0


def no_heartbeat() -> Finding:
    return Finding(
        "heartbeat",
        Verdict.WARN,
        "not set (WWM_HEARTBEAT_URL): if this service stops, or its machine, nobody outside "
        "hears of it, and no alarm goes out meanwhile (docs/deploy.md)",
    )


def no_hook() -> Finding:
    return Finding(
        "emergency hook",
        Verdict.WARN,
        "not set (WWM_EMERGENCY_HOOK): an alarm nobody acts on climbs no higher than her "
        "guardians (docs/alarms.md#the-ladder)",
    )


def mqtt_broker(url: str) -> Finding:
    """Whether the MQTT broker answers at its address (a TCP connection; its sign-in is
    checked by `serve`, which logs a refusal)."""
    broker = Broker.from_url(url)
    where = f"{broker.host}:{broker.port}"
    try:
        with socket.create_connection((broker.host, broker.port), timeout=REACH_TIMEOUT_S):
            pass
    except OSError as exc:
        return Finding(
            "MQTT broker",
            Verdict.FAIL,
            f"{where} can't be reached from here ({exc.strerror or type(exc).__name__}): "
            "phones that report through it go unheard, and their walks are alarmed for silence",
        )
    return Finding("MQTT broker", Verdict.OK, f"{where} answers")


# An .osm.pbf file opens with the length of its first blob's header (4 bytes, big-endian),
# and that header names the blob "OSMHeader".
_FIRST_BLOB = b"OSMHeader"


def looks_like_pbf(path: Path) -> bool:
    """Whether the file opens as an OpenStreetMap PBF file does."""
    try:
        with path.open("rb") as file:
            head = file.read(4 + 64)
    except OSError:
        return False
    if len(head) < 4:
        return False
    size = int.from_bytes(head[:4], "big")
    return 0 < size <= 64 * 1024 and _FIRST_BLOB in head[4 : 4 + size]
