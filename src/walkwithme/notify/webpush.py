"""Web Push (RFC 8030): a browser's push subscription as a channel's target, and what is sent
to it: the alert as JSON, encrypted for that browser alone (aes128gcm, RFC 8291), with the
headers a push service reads (TTL, Urgency, Topic). The push service sees none of the alert:
the Topic is an opaque digest, not the walk or the kind.

The message a browser's service worker receives (`event.data.json()`):
`{"key", "kind", "title", "body", "link"?, "walk_id"?, "alert"?}`; `key` is the alert's stable
idempotency key (the same on every retry and every channel), `alert` the whole alert as a
webhook gets it, left out when it wouldn't fit in a push message (4 KB).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from walkwithme.domain.errors import Invalid
from walkwithme.notify.messages import render
from walkwithme.notify.outbound import PRIVATE_TARGET, is_private_literal, read_address
from walkwithme.notify.vapid import b64url, b64url_decode

# A push service must take 4096 bytes of body; aes128gcm adds 86 (header with our key) + 17.
MAX_PLAINTEXT = 4096 - 86 - 17
MAX_ENDPOINT = 2000
# Her phone back during an alarm (usecases/heard_again.py) is news for whoever looks for her.
URGENT = frozenset({"alarm", "check", "reporting_again", "walking_on"})
DEFAULT_TTL_S = 3600
_TTL_S = {
    "alarm": 86400,
    "alarm_acknowledged": 86400,
    "alarm_resolved": 86400,
    "reporting_again": 86400,
    "walking_on": 86400,
}


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str

    def as_json(self) -> str:
        return orjson.dumps(self.info()).decode()

    def info(self) -> dict[str, Any]:
        """As a browser's `PushSubscription.toJSON()` gives it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    @classmethod
    def from_target(cls, target: str) -> Subscription:
        """A stored target (already checked when the channel was added)."""
        info = orjson.loads(target)
        return cls(info["endpoint"], info["keys"]["p256dh"], info["keys"]["auth"])


def check_subscription(target: object, *, allow_private: bool) -> str:
    """A browser's push subscription (the object, or its JSON text), checked field by field;
    returns what is stored: its endpoint and keys, as JSON."""
    if isinstance(target, str):
        try:
            target = orjson.loads(target)
        except orjson.JSONDecodeError:
            target = None
    if not isinstance(target, Mapping):
        raise Invalid(
            'a push subscription is an object: {"endpoint": "https://...", '
            '"keys": {"p256dh": "...", "auth": "..."}}',
            field="target",
        )
    endpoint = _endpoint(target.get("endpoint"), allow_private=allow_private)
    keys = target.get("keys")
    if not isinstance(keys, Mapping):
        raise Invalid("the subscription needs its keys: p256dh and auth", field="target.keys")
    p256dh = _key(keys, "p256dh", 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(p256dh))
    except ValueError:
        raise Invalid("is not a P-256 public key", field="target.keys.p256dh") from None
    auth = _key(keys, "auth", 16)
    return Subscription(endpoint, p256dh, auth).as_json()


def _endpoint(endpoint: object, *, allow_private: bool) -> str:
    field = "target.endpoint"
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise Invalid("the subscription needs its endpoint, an https URL", field=field)
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT:
        raise Invalid(f"the endpoint is longer than {MAX_ENDPOINT} characters", field=field)
    parts = read_address(endpoint, field=field, what="the endpoint")
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise Invalid("the endpoint must be an https URL", field=field)
    if not allow_private and is_private_literal(parts.hostname):
        raise Invalid(PRIVATE_TARGET, field=field)
    return endpoint


def _key(keys: Mapping[str, Any], name: str, size: int) -> str:
    field = f"target.keys.{name}"
    value = keys.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"the subscription needs its {name} key", field=field)
    value = value.strip().rstrip("=")
    if any(c in value for c in "+/"):  # plain base64: browsers give base64url, but be kind
        value = value.replace("+", "-").replace("/", "_")
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise Invalid("must be base64url", field=field) from None
    if len(raw) != size:
        raise Invalid(f"must be {size} bytes in base64url, not {len(raw)}", field=field)
    return value


# -- what is sent -----------------------------------------------------------------------------


def message(key: str, payload: dict[str, Any]) -> bytes:
    """The alert, as the browser's service worker reads it, within a push message's size."""
    title, body = render(payload)
    kind = str(payload.get("kind", "test"))
    said: dict[str, Any] = {"key": key, "kind": kind, "title": title, "body": body}
    if payload.get("link"):
        said["link"] = payload["link"]
    if payload.get("walk_id") is not None:
        said["walk_id"] = payload["walk_id"]
    data = orjson.dumps({**said, "alert": payload})
    if len(data) <= MAX_PLAINTEXT:
        return data
    data = orjson.dumps(said)  # the details stay on the server, behind the link
    while len(data) > MAX_PLAINTEXT and said["body"]:
        keep = max(0, len(said["body"]) - (len(data) - MAX_PLAINTEXT) - 4)
        said["body"] = said["body"][:keep] + "…" if keep else ""
        data = orjson.dumps(said)
    return data


def encrypt(subscription: Subscription, plaintext: bytes) -> bytes:
    """aes128gcm for this browser's keys, with a fresh key pair of our own (RFC 8291)."""
    # Imported when first needed: pywebpush brings aiohttp and requests (a tenth of a second
    # of start-up, for a service whose channels may all be webhooks).
    from pywebpush import WebPusher

    encoded = WebPusher(subscription.info()).encode(plaintext, "aes128gcm")
    body: bytes = encoded["body"]
    return body


def headers(subscription: Subscription, payload: dict[str, Any]) -> dict[str, str]:
    """Content headers and delivery hints; the Authorization (VAPID) is added by the sender."""
    kind = str(payload.get("kind", "test"))
    said = {
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aes128gcm",
        "TTL": str(_TTL_S.get(kind, DEFAULT_TTL_S)),
        "Urgency": "high" if kind in URGENT else "normal",
    }
    if payload.get("walk_id") is not None:
        said["Topic"] = topic(subscription, f"{payload['walk_id']}:{kind}")
    return said


def topic(subscription: Subscription, what: str) -> str:
    """A walk's repeated alerts of one kind replace each other while they wait at the push
    service (a phone that was off hears the latest, not every repeat). 32 base64url
    characters, keyed by the subscription's secret: the push service learns nothing from it."""
    digest = hmac.new(b64url_decode(subscription.auth), what.encode(), hashlib.sha256).digest()
    return b64url(digest[:24])
