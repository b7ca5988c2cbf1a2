"""The phone apps' doors, as protocols: each turns its payload into the same `Fix` (and says
what it knows of the app that sent it), for the one fix path (usecases/fixes.py).

Parsing only, no I/O: the HTTP doors are in api/phones.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from walkwithme.domain.fixes import Fix
from walkwithme.domain.reporting import Client
from walkwithme.ingest.owntracks_tours import TourRequest


class Unreadable(Exception):
    """A body that can't be parsed at all: the only message a phone gets a 4xx for."""


def load_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Unreadable("the body is not JSON") from None


@dataclass(frozen=True)
class PhoneMessage:
    """One message from a phone app, read."""

    client: Client
    fixes: tuple[Fix, ...] = ()  # positions to record (Traccar Client 10's JSON: several)
    refused: str | None = None  # why a message we read was not used (answered 2xx, recorded)
    sos: bool = False  # the app's alarm button
    # When it was pressed, as the fix (or heartbeat) it came with says; None: not said. A
    # queue the phone kept offline may hold one pressed before the walk began.
    sos_ms: int | None = None
    # A heartbeat with no position in it (Traccar Client 10's, when the phone has no fresh
    # location): when the phone said it is alive. It counts against silence, nothing else.
    alive_ms: int | None = None
    alive_battery: float | None = None  # the battery level the heartbeat gave (0 to 100)
    # MQTT: a retained message the broker hands again on every (re)subscription. Only news if
    # what it carries isn't stored yet; it never asks the app for anything.
    replayed: bool = False
    # MQTT: it came through a broker, which holds a session's messages while the service is
    # away and hands them over when it is back: its arrival says nothing of when the phone
    # sent it, so it counts against silence by its fixes' own times, not as heard now.
    relayed: bool = False
    # OwnTracks: it came encrypted with the device's key, so its answers go back encrypted.
    encrypted: bool = False
    # OwnTracks: it came in clear, though the device has a key. Taken (a phone whose app has
    # no key yet must not fall silent), but nothing that says where she is or goes answers
    # it: whoever holds the token alone (read from a log, a screenshot) is not her app.
    clear_with_key: bool = False
    # Something the app says of the phone for the walk's timeline: "offline" (OwnTracks' last
    # will over MQTT: the broker lost the phone's connection), "mock_location" (Traccar
    # Client: Android says the position came from a mock provider, so it may be faked).
    signal: str | None = None
    # OwnTracks' transition: "enter" or "leave", and its region's creation time (`wtst`),
    # which names the region (domain/regions.py: the walk's destination has its own).
    transition: tuple[str, int] | None = None
    # Whether the phone says it is on its charger (charging, or full and plugged in): True,
    # False (on its battery), or None (the app didn't say). OwnTracks' `bs`, Traccar Client's
    # `charge` (the old clients send it only when true) and 9.x's `battery.is_charging`.
    charging: bool | None = None
    # OwnTracks' Tours (iOS): make, list or end a tour (ingest/owntracks_tours.py).
    tour: TourRequest | None = None
    # It says nothing of her or of where her phone is: Traccar Client 9.x and 10.x register
    # for push messages at every start (`id` and `notificationToken` alone). Answered, and
    # nothing recorded: her devices page showed "lat is required" each time she opened the
    # app, and the gap since its last report was measured from it (an outside review).
    nothing_to_take: bool = False


OFFLINE = "offline"
MOCK_LOCATION = "mock_location"
CHARGING = "charging"  # her phone was put on its charger during the walk
NOT_CHARGING = "not_charging"  # ...and taken off it (or it stopped charging)
