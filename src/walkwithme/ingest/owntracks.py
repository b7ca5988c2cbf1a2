"""OwnTracks (iOS and Android) in HTTP mode: one JSON message per POST.

Only `location` messages carry a fix. Every other kind (transitions, waypoints, cards,
status, lwt...) is read and set aside: the walk has its own door, and a 4xx would make
iOS drop the message and Android resend it forever (../shared/protocols.md).
"""

from __future__ import annotations

from typing import Any

from walkwithme.domain.errors import Invalid
from walkwithme.domain.fixes import Fix, read_number, read_required
from walkwithme.domain.reporting import App, Client, owntracks_mode, owntracks_mode_number
from walkwithme.ingest import PhoneMessage, Unreadable, load_json

KMH = 1 / 3.6


def read(body: bytes) -> PhoneMessage | None:
    """One POST's body. None: an empty body (sent when a friend is deleted), nothing to do.
    Raises `Unreadable` for a body that isn't an OwnTracks message at all."""
    if not body.strip():
        return None
    message = load_json(body)
    if not isinstance(message, dict) or not isinstance(message.get("_type"), str):
        raise Unreadable('an OwnTracks message is a JSON object with a "_type"')
    kind = message["_type"]
    client = Client(App.OWNTRACKS, owntracks_mode(message.get("m")))
    if kind == "encrypted":
        return PhoneMessage(
            client, refused="encrypted messages can't be read here: turn encryption off"
        )
    if kind == "card":
        # Her name and photo for friends' maps: the server knows her name already, and the
        # photo (~100 kB) is dropped here, unread. Nothing to refuse.
        return PhoneMessage(client)
    if kind != "location":
        return PhoneMessage(client, refused=f"a {kind!r} message carries no fix for a walk")
    try:
        return PhoneMessage(client, fixes=(_fix(message),))
    except Invalid as exc:
        return PhoneMessage(client, refused=exc.message)


def _fix(message: dict[str, Any]) -> Fix:
    tst, lat, lon = (read_required(message, key) for key in ("tst", "lat", "lon"))
    vel = read_number(message, "vel")
    return Fix(
        t_ms=int(tst * 1000),
        lat=lat,
        lon=lon,
        accuracy_m=read_number(message, "acc"),
        speed_mps=vel * KMH if vel is not None else None,
        bearing_deg=read_number(message, "cog"),
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
