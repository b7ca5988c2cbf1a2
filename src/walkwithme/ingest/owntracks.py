"""OwnTracks (iOS and Android): one JSON message per POST in HTTP mode, or per MQTT message
(mqtt_bridge.py).

Only `location` messages carry a fix. Messages encrypted with the device's key are opened
first (ingest/owntracks_crypto.py). Every other kind (transitions, waypoints, status, lwt...)
is read and set aside: the walk has its own door, and a 4xx would make
iOS drop the message and Android resend it forever (docs/phones.md, "Status codes").
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import orjson

from walkwithme.domain.errors import Invalid
from walkwithme.domain.fixes import Fix, read_number, read_required
from walkwithme.domain.friends import Friend, Position
from walkwithme.domain.reporting import App, Client, owntracks_mode, owntracks_mode_number
from walkwithme.ingest import OFFLINE, PhoneMessage, Unreadable, load_json
from walkwithme.ingest.owntracks_crypto import Undecryptable, open_sealed, seal
from walkwithme.ingest.owntracks_tours import read_request

KMH = 1 / 3.6


def read(body: bytes, key: str | None = None, *, over_mqtt: bool = False) -> PhoneMessage | None:
    """One POST's body (or one MQTT payload, `over_mqtt`). None: an empty body (sent when a
    friend is deleted), nothing to do. `key`: the device's encryption key, if it has one.
    Raises `Unreadable` for a body that isn't an OwnTracks message at all."""
    if not body.strip():
        return None
    message = _object(load_json(body))
    if message["_type"] != "encrypted":
        return replace(_message(message, over_mqtt), clear_with_key=key is not None)
    if key is None:
        return PhoneMessage(Client(App.OWNTRACKS), refused=NO_KEY)
    try:
        inner = _object(load_json(open_sealed(key, message.get("data"))))
    except (Undecryptable, Unreadable) as exc:
        return PhoneMessage(Client(App.OWNTRACKS), refused=f"an encrypted message: {exc}")
    if inner["_type"] == "encrypted":
        return PhoneMessage(Client(App.OWNTRACKS), refused="an encrypted message in another")
    return replace(_message(inner, over_mqtt), encrypted=True)


NO_KEY = (
    "an encrypted message, and this device has no encryption key: give it one "
    "(docs/phones.md) or turn encryption off in the app"
)


def _object(message: object) -> dict[str, Any]:
    if not isinstance(message, dict) or not isinstance(message.get("_type"), str):
        raise Unreadable('an OwnTracks message is a JSON object with a "_type"')
    return message


def _message(message: dict[str, Any], over_mqtt: bool) -> PhoneMessage:
    kind = message["_type"]
    client = Client(App.OWNTRACKS, owntracks_mode(message.get("m")))
    if kind == "card":
        # Her name and photo for friends' maps: the server knows her name already, and the
        # photo (~100 kB) is dropped here, unread. Nothing to refuse.
        return PhoneMessage(client)
    if kind == "lwt":
        # Its last will, published by the broker when it lost the phone's connection (MQTT;
        # with Android's hour-long keepalive, up to 90 minutes late; iOS's: about 90 s).
        # Neither app posts one over HTTP, where a message proves the phone is online: one
        # posted there is set aside, not shown to her companions as her phone gone offline.
        if not over_mqtt:
            return PhoneMessage(client, refused="a last will is the MQTT broker's to publish")
        return PhoneMessage(client, signal=OFFLINE)
    if kind == "request":
        tour = read_request(message)
        if tour is not None:
            return PhoneMessage(client, refused=tour.problem, tour=tour)
    if kind != "location":
        refused = f"a {kind!r} message carries no fix for a walk"
        return PhoneMessage(client, refused=refused, transition=_transition(message))
    charging = _charging(message.get("bs"))
    try:
        return PhoneMessage(client, fixes=(_fix(message),), charging=charging)
    except Invalid as exc:
        return PhoneMessage(client, refused=exc.message, charging=charging)


def _charging(bs: object) -> bool | None:
    """A location's battery status, `bs`: 0 unknown, 1 unplugged, 2 charging, 3 full. Android
    (owntracks/android, support/DeviceMetricsProvider.kt) maps BatteryManager's status to it
    (discharging 1, charging 2, full 3, "plugged, not charging" 0); iOS
    (owntracks/ios, OwnTracksAppDelegate.m) sends UIDeviceBatteryState's number, the same
    four values, and leaves `bs` out when unknown. Full means on the charger: True."""
    if isinstance(bs, bool) or not isinstance(bs, int | float):
        return None
    return {1: False, 2: True, 3: True}.get(int(bs))


def answer(
    items: list[dict[str, Any]], message: PhoneMessage, key: str | None
) -> list[Any] | dict[str, str]:
    """What goes back to the app over HTTP: the array of items; to an app that wrote to us
    encrypted, the whole array sealed with its key as one `encrypted` object. That is the one
    shape both apps open: iOS decrypts a body only when it is a single `encrypted` object, and
    Android an array only when it holds exactly one (each item sealed on its own reached
    neither: no Move mode, no region, no friends)."""
    if not message.encrypted or key is None or not items:
        return items
    return seal(key, orjson.dumps(items))


def commands(items: list[dict[str, Any]], message: PhoneMessage, key: str | None) -> list[Any]:
    """What goes to the app's `/cmd` topic over MQTT, one publish each: each item sealed on
    its own if it wrote to us encrypted (both apps open a single `encrypted` message)."""
    if not message.encrypted or key is None:
        return items
    return [seal(key, orjson.dumps(item)) for item in items]


def _transition(message: dict[str, Any]) -> tuple[str, int] | None:
    """A `transition`'s event and its region's `wtst`, if it is one."""
    event, wtst = message.get("event"), message.get("wtst")
    if message["_type"] != "transition" or event not in ("enter", "leave"):
        return None
    if isinstance(wtst, bool) or not isinstance(wtst, int | float):
        return None
    return str(event), int(wtst)


def _fix(message: dict[str, Any]) -> Fix:
    tst, lat, lon = (read_required(message, key) for key in ("tst", "lat", "lon"))
    vel = read_number(message, "vel")
    t_ms = tst * 1000
    if not math.isfinite(t_ms):  # seconds so many that their milliseconds overflow
        raise Invalid("tst is not a time", field="tst")
    # OwnTracks for Android writes 0 for a reading its fix doesn't have (owntracks/android,
    # MessageLocation.kt): an accuracy of 0 is none known, not a fix good to the millimetre
    # (the rules' smallest tolerance), and a heading while still (vel 0) is none, not north.
    acc, cog = read_number(message, "acc"), read_number(message, "cog")
    return Fix(
        t_ms=int(t_ms),
        lat=lat,
        lon=lon,
        accuracy_m=None if acc == 0 else acc,
        speed_mps=vel * KMH if vel is not None else None,
        bearing_deg=None if cog == 0 and not vel else cog,
        altitude_m=read_number(message, "alt"),
        battery_pct=read_number(message, "batt"),
    )


def mode_command(mode: str) -> dict[str, Any]:
    """Asks the app to switch to a monitoring mode (Android honours it with Remote
    configuration on): Move mode for a walk, and after it the mode it was in."""
    return {
        "_type": "cmd",
        "action": "setConfiguration",
        "configuration": {"_type": "configuration", "monitoring": owntracks_mode_number(mode)},
    }


# Friends in an HTTP answer. What the apps do with them, from their own source:
# - Android (owntracks/android, net/http/HttpMessageProcessorEndpoint.kt `sendMessage` and
#   `onFinalizeMessage`): the answer to each POST is parsed as messages; a `location` or a
#   `card` is keyed to the contact `owntracks/http/<tid>` (the body's `topic` is not used), and
#   any other type gets the topic "NOKEY". services/MessageProcessor.kt hands locations and
#   cards to data/repos/MemoryContactsRepo.kt; model/Contact.kt ignores a location older than
#   the one it has, and shows the card's `name`. A `clear` message removes the contact of its
#   topic, which over HTTP is "NOKEY": nothing. Contacts live in memory until the app restarts
#   (or settings that wipe them change).
# - iOS (owntracks/ios, OwnTracks/Connection.m `oneMessage`): each object of the answer goes
#   to OwnTracking.m `processMessage` on the topic `owntracks/http/<tid>`. A `location` whose
#   `tst` is not newer than the friend's is skipped; a `card` sets the friend's name. Only an
#   empty payload deletes a friend, and an HTTP answer's objects are never empty: over HTTP a
#   friend stays (stored) until deleted by hand in the app's Friends list, or hidden by the
#   app's `ignoreStaleLocations` (days) once its last location is older.
# So friends are never removed over HTTP: after the walk the server renames her card
# "<name> (walk over)" and gives no more locations (usecases/friends.py).
WALK_OVER = "{name} (walk over)"


def friend_items(friends: list[Friend]) -> list[dict[str, Any]]:
    """A companion's friends, as the apps read them in an HTTP answer: each a `card` (her
    name), then during her walk her last `location`, both with her `tid` and the topic the
    apps file her under (`owntracks/http/<tid>`)."""
    items: list[dict[str, Any]] = []
    for friend in friends:
        topic = f"owntracks/http/{friend.tid}"
        items.append(friend_card(friend, topic))
        if friend.position is not None and not friend.over:
            items.append(friend_location(friend.tid, topic, friend.position))
    return items


def friend_card(friend: Friend, topic: str) -> dict[str, Any]:
    """Her name on his map (renamed once her walk is over)."""
    name = WALK_OVER.format(name=friend.name) if friend.over else friend.name
    return {"_type": "card", "tid": friend.tid, "topic": topic, "name": name}


def friend_location(tid: str, topic: str, position: Position) -> dict[str, Any]:
    item: dict[str, Any] = {
        "_type": "location",
        "tid": tid,
        "topic": topic,
        "tst": position.t_ms // 1000,
        "lat": position.lat,
        "lon": position.lon,
    }
    # The apps read these as integers (Android's LenientIntSerializer, iOS's intValue); they
    # leave out what they don't know.
    optional = {
        "acc": position.accuracy_m,
        "vel": position.speed_mps / KMH if position.speed_mps is not None else None,
        "cog": position.bearing_deg,
        "batt": position.battery_pct,
    }
    item.update({key: round(value) for key, value in optional.items() if value is not None})
    return item
