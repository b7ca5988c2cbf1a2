"""Traccar Client (the OsmAnd protocol), all three generations in use:

- the old Android client: every parameter in the query string (POST or GET), empty body;
- 9.x: `POST` of JSON, `{"location": {...}, "device_id": "..."}`;
- 10.x: `POST` of a form with the same parameters as the query; or, set to upload JSON, an
  array of objects with those parameters as JSON values, one a position.

The device is named by `id` (or `deviceid`, or 9.x's `device_id`): here, the device's token.
Speeds come in knots (9.x: m/s), batteries in % (9.x: 0 to 1). `alarm=sos` is her SOS.

How it posts says which generation sent it (domain/reporting.py: what to tell her of its
heartbeat). 10.x's heartbeat, when the phone has no fresh location, is `id`, `timestamp` and
`batt` alone: no position, but proof that the phone is alive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from walkwithme.domain.errors import Invalid
from walkwithme.domain.fixes import Fix
from walkwithme.domain.reporting import (
    HEARTBEAT,
    TRACCAR_9,
    TRACCAR_10,
    TRACCAR_LEGACY,
    App,
    Client,
)
from walkwithme.ingest import MOCK_LOCATION, PhoneMessage, Unreadable, load_json

KNOT = 1852 / 3600  # m/s
SECONDS_UP_TO = 2**31  # an integer timestamp below this is in seconds, else milliseconds


def read(
    query: Mapping[str, str], content_type: str, body: bytes
) -> tuple[str | None, PhoneMessage]:
    """The device's id as sent, and the message. Raises `Unreadable` for a body that can't
    be parsed."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" and body.strip():
        data = load_json(body)
        return _json_array(data) if isinstance(data, list) else _json(data)
    params = dict(query)
    generation = TRACCAR_LEGACY  # every parameter in the query string
    if media == "application/x-www-form-urlencoded" and body:
        generation = TRACCAR_10
        try:
            params.update(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise Unreadable("the form can't be parsed") from None
    device = params.get("id") or params.get("deviceid")
    return device, _params(params, generation)


def _params(p: Mapping[str, str], generation: str) -> PhoneMessage:
    client = Client(App.TRACCAR, generation)
    sos = p.get("alarm", "").strip().lower() == "sos"
    sos_ms = _pressed_at(p.get("timestamp")) if sos else None
    charging = _charge(p, generation)
    if "notificationToken" in p and not sos and not any(key in p for key in _SAYS_ANYTHING):
        # (traccar/traccar-client, lib/push_service.dart: `id` and `notificationToken`)
        return PhoneMessage(client, nothing_to_take=True)
    if not any(key in p for key in ("lat", "lon", "location")) and p.get("timestamp"):
        return replace(_alive(p, client, sos), charging=charging, sos_ms=sos_ms)
    try:
        if "location" in p and ("lat" not in p or "lon" not in p):
            lat_text, _, lon_text = p["location"].partition(",")
            lat, lon = _float(lat_text, "location"), _float(lon_text, "location")
        else:
            lat, lon = _required(p, "lat"), _required(p, "lon")
        speed = _optional(p, "speed")
        fix = Fix(
            t_ms=_timestamp(p.get("timestamp")),
            lat=lat,
            lon=lon,
            accuracy_m=_accuracy(p),
            speed_mps=speed * KNOT if speed is not None else None,
            bearing_deg=_bearing(p, speed),
            altitude_m=_optional(p, "altitude"),
            battery_pct=_battery(p),
        )
    except Invalid as exc:
        return PhoneMessage(client, refused=exc.message, sos=sos, sos_ms=sos_ms, charging=charging)
    # The old Android client adds `mock=true` for a position from a mock provider.
    mock = p.get("mock", "").strip().lower() == "true"
    signal = MOCK_LOCATION if mock else None
    return PhoneMessage(
        client, fixes=(fix,), sos=sos, sos_ms=sos_ms, signal=signal, charging=charging
    )


# What makes a message one to take: a position, a time (a heartbeat), the battery.
_SAYS_ANYTHING = ("lat", "lon", "location", "timestamp", "batt")


def _pressed_at(value: object) -> int | None:
    """When an SOS was pressed: the time of the fix (or heartbeat) it came with, or None if
    it has none that can be read (then it is raised, as always)."""
    try:
        return _timestamp(value)
    except Invalid:
        return None


def _charge(p: Mapping[str, str], generation: str) -> bool | None:
    """Whether the phone is on its charger. The old clients send `charge=true` only while it
    is (charging or full), and nothing otherwise (traccar/traccar-client-android,
    ProtocolFormatter.kt; traccar/traccar-client-ios, ProtocolFormatter.swift): there, no
    `charge` means on its battery. 10.x sends `charge=true` or `charge=false` when it knows,
    nothing when it doesn't (traccar/traccar-client-sdk, HttpUploader.kt)."""
    said = p.get("charge", "").strip().lower()
    if said in ("true", "1"):
        return None if _cannot_say(p) else True
    if said in ("false", "0") or generation == TRACCAR_LEGACY:
        return False
    return None


def _battery(p: Mapping[str, str]) -> float | None:
    """The battery level, in %."""
    return None if _cannot_say(p) else _optional(p, "batt")


def _cannot_say(p: Mapping[str, str]) -> bool:
    """The old iOS client sends `batt=0&charge=true` when the phone can't say
    (traccar/traccar-client-ios, PositionProvider.swift): neither an empty battery (a phone
    at 0% is off, not reporting) nor a charger (her companions were told she was charging)."""
    try:
        empty = float(p.get("batt", "")) == 0
    except ValueError:
        return False
    return empty and p.get("charge", "").strip().lower() in ("true", "1")


def _alive(p: Mapping[str, str], client: Client, sos: bool) -> PhoneMessage:
    """A message with a time and no position: 10.x's heartbeat when the phone had no fresh
    location. It shows the heartbeat is on, and that the phone is alive."""
    if client.mode == TRACCAR_10:
        client = Client(App.TRACCAR, HEARTBEAT)
    try:
        alive_ms = _timestamp(p.get("timestamp"))
    except Invalid as exc:
        return PhoneMessage(client, refused=exc.message, sos=sos)
    # Its battery too: the heartbeat is sent when the phone has no fix (indoors, under the
    # street), just when a dying battery matters most. One that can't be read is left out:
    # the heartbeat still says the phone is alive.
    try:
        battery = _optional(p, "batt")
    except Invalid:
        battery = None
    if battery is not None and not 0 <= battery <= 100:
        battery = None
    return PhoneMessage(client, alive_ms=alive_ms, alive_battery=battery, sos=sos)


def _json_array(items: list[object]) -> tuple[str | None, PhoneMessage]:
    """10.x set to upload JSON (`HttpUploader`, `uploadJson`): its buffered positions at once,
    each with the form's parameters as JSON values."""
    if not items or not all(isinstance(item, dict) for item in items):
        raise Unreadable("Traccar Client's JSON upload is an array of objects")
    params = [
        {str(k): _text(v) for k, v in item.items()} for item in items if isinstance(item, dict)
    ]
    read = [_params(p, TRACCAR_10) for p in params]
    alive = [m.alive_ms for m in read if m.alive_ms is not None]
    # Its SOS, pressed when its newest SOS was; one with no time says nothing of when it was
    # pressed, and is raised (usecases/phones.py), as it always was.
    pressed = [m.sos_ms for m in read if m.sos]
    known = [t for t in pressed if t is not None]
    sos_ms = max(known) if known and len(known) == len(pressed) else None
    beat = any(m.client.mode == HEARTBEAT for m in read)
    message = PhoneMessage(
        Client(App.TRACCAR, HEARTBEAT if beat else TRACCAR_10),
        fixes=tuple(fix for m in read for fix in m.fixes),
        refused=next((m.refused for m in reversed(read) if m.refused), None),
        sos=bool(pressed),
        sos_ms=sos_ms,
        alive_ms=max(alive) if alive else None,
        alive_battery=next(
            (m.alive_battery for m in reversed(read) if m.alive_battery is not None), None
        ),
        charging=next((m.charging for m in reversed(read) if m.charging is not None), None),
    )
    first = params[0]
    return first.get("id") or first.get("deviceid") or None, message


def _text(value: object) -> str:
    """A JSON value as the form would have said it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _json(data: object) -> tuple[str | None, PhoneMessage]:
    if not isinstance(data, dict) or not isinstance(data.get("location"), dict):
        raise Unreadable('a Traccar Client message is {"location": {...}, "device_id": ...}')
    device = data.get("device_id")
    location: dict[str, Any] = data["location"]
    sos = _is_sos(location)
    sos_ms = _pressed_at(location.get("timestamp")) if sos else None
    heartbeat = any(
        said is True for said in (data.get("heartbeat"), *_extra(location, "heartbeat"))
    )
    client = Client(App.TRACCAR, HEARTBEAT if heartbeat else TRACCAR_9)
    # 9.x's location plugin: `battery: {level, is_charging}`.
    battery = location.get("battery")
    charged = battery.get("is_charging") if isinstance(battery, dict) else None
    charging = charged if isinstance(charged, bool) else None
    try:
        fix = _json_fix(location)
    except Invalid as exc:
        refused = PhoneMessage(
            client, refused=exc.message, sos=sos, sos_ms=sos_ms, charging=charging
        )
        return str(device) if device else None, refused
    # 9.x: its location plugin marks a position from a mock provider `mock: true`.
    signal = MOCK_LOCATION if location.get("mock") is True else None
    message = PhoneMessage(
        client, fixes=(fix,), sos=sos, sos_ms=sos_ms, signal=signal, charging=charging
    )
    return str(device) if device else None, message


def _extra(location: Mapping[str, Any], name: str) -> tuple[object, object]:
    """What 9.x said in an extra of its position (`extras: {"alarm": "sos"}` for its SOS
    button, `{"heartbeat": true}` for its heartbeat): its location plugin merges the extras
    into the location itself (Traccar's own server reads them there first), and
    `location.extras` is read too, for a plugin that keeps them apart."""
    extras = location.get("extras")
    return location.get(name), extras.get(name) if isinstance(extras, dict) else None


def _is_sos(location: Mapping[str, Any]) -> bool:
    """9.x's SOS button (`_extra`)."""
    return any(
        isinstance(alarm, str) and alarm.strip().lower() == "sos"
        for alarm in _extra(location, "alarm")
    )


def _json_fix(location: Mapping[str, Any]) -> Fix:
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise Invalid("location.coords is required", field="coords")
    battery = location.get("battery")
    level = _known(battery.get("level"), "battery.level") if isinstance(battery, dict) else None
    return Fix(
        t_ms=_timestamp(location.get("timestamp")),
        lat=_coordinate(coords, "latitude"),
        lon=_coordinate(coords, "longitude"),
        accuracy_m=_known(coords.get("accuracy"), "accuracy"),
        speed_mps=_known(coords.get("speed"), "speed"),
        bearing_deg=_known(coords.get("heading"), "heading"),
        altitude_m=_json_number(coords.get("altitude"), "altitude"),
        battery_pct=level * 100 if level is not None else None,
    )


def _coordinate(coords: Mapping[str, Any], key: str) -> float:
    value = _json_number(coords.get(key), key)
    if value is None:
        raise Invalid(f"{key} is required", field=key)
    return value


def _json_number(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{name} must be a number", field=name)
    return float(value)


def _known(value: object, name: str) -> float | None:
    """9.x says "unknown" with a negative number."""
    number = _json_number(value, name)
    return None if number is None or number < 0 else number


def _bearing(p: Mapping[str, str], speed: float | None) -> float | None:
    """Its heading; the old Android client writes `bearing=0.0` for a fix that has none
    (Android's `Location.getBearing()`), which, while still, is none rather than north."""
    bearing = _optional(p, "bearing") if "bearing" in p else _optional(p, "heading")
    return None if bearing == 0 and not speed else bearing


def _accuracy(p: Mapping[str, str]) -> float | None:
    """The old Android client says `accuracy=0.0` when it doesn't know (a GPS fix without
    one): unknown, not a fix good to the millimetre."""
    accuracy = _optional(p, "accuracy")
    return None if accuracy == 0 else accuracy


def _required(p: Mapping[str, str], key: str) -> float:
    if key not in p:
        raise Invalid(f"{key} is required", field=key)
    return _float(p[key], key)


def _optional(p: Mapping[str, str], key: str) -> float | None:
    text = p.get(key, "").strip()
    return _float(text, key) if text else None


def _float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{name} must be a number", field=name) from None
    if not math.isfinite(value):
        raise Invalid(f"{name} must be a finite number", field=name)
    return value


def _timestamp(value: object) -> int:
    """Epoch ms from any of the forms the clients send: integer seconds (below 2^31) or
    milliseconds, ISO-8601 (with a `T`), or `yyyy-MM-dd HH:mm:ss` (UTC)."""
    if value is None or value == "":
        raise Invalid("timestamp is required", field="timestamp")
    text = str(value).strip()
    try:
        if "T" in text:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return int(when.timestamp() * 1000)
        if text.lstrip("-").isdigit():
            number = int(text)
            return number * 1000 if number < SECONDS_UP_TO else number
        when = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    except ValueError:
        raise Invalid(
            "timestamp must be epoch seconds or milliseconds, ISO-8601, or yyyy-MM-dd HH:mm:ss",
            field="timestamp",
        ) from None
