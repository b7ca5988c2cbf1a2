"""Channels: a tiny contract. `send(alert)` returns when the alert was handed over, or raises
`DeliveryError(message, permanent=...)`. A permanent failure (a 4xx, an address we may not
reach) is not retried; a transient one is, with backoff.

- webhook: JSON, signed with HMAC-SHA256 (`X-Walkwithme-Signature: sha256=<hex>`), with the
  alert's idempotency key in `X-Walkwithme-Alert`, through the one outbound wrapper (the
  process's one `Outbound` client, which checks every address and every redirect).
- apprise: email, ntfy, Telegram, Matrix, Signal, SMS gateways... by Apprise URL; the operator
  decides which schemes are allowed. Apprise only says yes or no, so a failure counts as
  transient (the channel is "failing" after several in a row, and still sent every alert). Emails
  carry the idempotency key in an `X-Walkwithme-Alert` header.
- email: one address, sent through the operator's own mail server (`WWM_SMTP_URL`), offered
  only when it is set (notify/mail.py). Its failures are all tried again.
- webpush: a browser's push subscription; the alert encrypted for that browser, signed with
  the server's VAPID key, through the one outbound wrapper (notify/webpush.py). A
  subscription the push service says is gone (404, 410) breaks the channel at once.

A permanent failure breaks the channel too, unless it was about that one alert
(`breaks_channel=False`: a push service refusing one message as too large).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx2
import orjson

from walkwithme.domain.errors import Invalid
from walkwithme.notify import mail, outbound, webpush
from walkwithme.notify.messages import render, render_html
from walkwithme.notify.outbound import PRIVATE_TARGET
from walkwithme.notify.vapid import PushKeys


class DeliveryError(Exception):
    def __init__(
        self, message: str, *, permanent: bool, breaks_channel: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.breaks_channel = permanent if breaks_channel is None else breaks_channel


@dataclass(frozen=True)
class Alert:
    key: str
    payload: dict[str, Any]


class Channel(Protocol):
    async def send(self, alert: Alert) -> None: ...


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# The operator set the emergency hook's address (WWM_EMERGENCY_HOOK), not a stranger: it may
# be on the operator's own network (an on-call bridge at 10.0.0.5), whatever
# WWM_ALLOW_PRIVATE_ADDRESSES says of people's webhooks. Refused there, as it was, every
# alarm's top rung was given up unsent.
HOOK_MAY_BE_PRIVATE = True


@dataclass
class Webhook:
    url: str
    secret: str
    allow_private: bool
    http: outbound.Outbound

    async def send(self, alert: Alert) -> None:
        # The words too, as an email or a push carries them (`title`, `body`): a receiver
        # that passes alerts on to a chat or a text message had only codes and epoch times
        # to rebuild them from, "Do not call her" included (an outside review).
        title, words = render(alert.payload)
        body = orjson.dumps({**alert.payload, "title": title, "body": words})
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WalkWithMe",
            "X-Walkwithme-Alert": alert.key,
        }
        if self.secret:
            # Unsigned (the operator's hook without WWM_HOOK_SECRET): no signature at all. One
            # made with an empty key is one anybody can make, and a receiver that only checks
            # that it is there would take a forged alarm for ours (an outside review).
            headers["X-Walkwithme-Signature"] = sign(self.secret, body)
        try:
            response = await self.http.post(
                self.url, body, headers, allow_private=self.allow_private
            )
        except outbound.Refused as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except (httpx2.HTTPError, OSError) as exc:
            raise DeliveryError(unreachable(exc), permanent=False) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        permanent = 400 <= status < 500 and status not in (408, 425, 429)
        raise DeliveryError(f"it answered {status}", permanent=permanent)


def unreachable(exc: BaseException) -> str:
    """Why an address could not be reached, in words her channels page can show (the
    library's own, "All connection attempts failed", said nothing to her)."""
    if isinstance(exc, httpx2.TimeoutException):
        return "it took too long to answer"
    if isinstance(exc, httpx2.ConnectError | ConnectionError):
        return "nothing answered at that address"
    return "the connection to it failed"


@dataclass
class AppriseUrl:
    url: str
    allow_private: bool

    async def send(self, alert: Alert) -> None:
        try:
            for host in apprise_hosts(self.url):
                await outbound.check_host(host, allow_private=self.allow_private)
        except outbound.Refused as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except OSError as exc:
            raise DeliveryError(str(exc), permanent=False) from exc
        title, text = render(alert.payload)
        url = self.url
        email = urlsplit(url).scheme in ("mailto", "mailtos")
        if email:
            url += ("&" if "?" in url else "?") + f"+X-Walkwithme-Alert={alert.key}"
            # An HTML part whose link can be tapped (Apprise adds the plain-text part).
            text = render_html(alert.payload)
        # Apprise connects by itself (SMTP, redirects it follows): every connection it makes
        # is checked as it is made, in its own threads too (the guard is a context variable).
        with outbound.guarded(allow_private=self.allow_private) as guard:
            failed = await asyncio.to_thread(_apprise_notify, url, title, text, email)
        if guard.refused:
            raise DeliveryError(guard.refused, permanent=True)
        if failed is not None:
            why = f": {failed}" if failed else ""
            raise DeliveryError(
                f"the notification service refused or was unreachable{why}", permanent=False
            )


@dataclass
class WebPush:
    subscription: webpush.Subscription
    keys: PushKeys
    allow_private: bool
    http: outbound.Outbound

    async def send(self, alert: Alert) -> None:
        endpoint = self.subscription.endpoint
        body = webpush.encrypt(self.subscription, webpush.message(alert.key, alert.payload))
        headers = webpush.headers(self.subscription, alert.payload)
        headers["Authorization"] = self.keys.authorization(endpoint)
        try:
            response = await self.http.post(
                endpoint, body, headers, allow_private=self.allow_private
            )
        except outbound.Refused as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except (httpx2.HTTPError, OSError) as exc:
            raise DeliveryError(unreachable(exc), permanent=False) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (404, 410):
            raise DeliveryError(
                f"the browser's subscription is gone ({status}): subscribe again",
                permanent=True,
            )
        if 400 <= status < 500 and status not in (408, 425, 429):
            # About this message (too large, refused): the next one may well go through.
            raise DeliveryError(
                f"the push service answered {status}", permanent=True, breaks_channel=False
            )
        raise DeliveryError(f"the push service answered {status}", permanent=False)


# Schemes whose service is a fixed public API: what looks like a host in their URL is a
# token or an id, not an address to check.
_FIXED_API_SCHEMES = frozenset({"tgram"})


def apprise_hosts(url: str) -> list[str]:
    """Every host an Apprise URL names that it will connect to, as Apprise reads it: its
    service's host, and an email's SMTP server (`?smtp=`). None for a URL that names no host
    of its own (a topic on the public ntfy.sh, a Telegram bot). Whatever Apprise reaches
    beyond these (a redirect) is checked as it connects (outbound.guarded)."""
    if urlsplit(url).scheme.lower() in _FIXED_API_SCHEMES:
        return []
    plugin = _apprise().Apprise.instantiate(url)
    if not plugin:
        return []
    hosts = [getattr(plugin, attr, None) for attr in ("host", "smtp_host")]
    return list(dict.fromkeys(str(host) for host in hosts if host))


def _apprise() -> Any:
    """Apprise, imported when first needed: it brings a hundred plugins and requests, and most
    servers' channels are webhooks (a lazy import keeps start-up short)."""
    import apprise

    # Its own log lines name each channel's URL (user, host, topic: where her alerts go, with
    # only the password masked), at every send and failure; a failure is logged by the
    # notifier, by number and reason, never by address (docs/privacy.md). Nor do they reach
    # the service's log while a send reads them (`_apprise_notify`: LogCapture lowers the
    # level for its own handler alone).
    said = logging.getLogger("apprise")
    said.setLevel(logging.CRITICAL + 1)
    said.propagate = False
    return apprise


def _apprise_notify(url: str, title: str, body: str, html: bool = False) -> str | None:
    """None once sent; else why not, in Apprise's own last warning ("SMTP AUTH extension
    not supported by server"), without the addresses or URLs it names (a channel's page
    and the log show it), or "" if it said nothing. Its bare "refused or unreachable" left
    an operator to run Apprise by hand to learn why (outside review)."""
    apprise = _apprise()
    with apprise.LogCapture(level=logging.DEBUG, fmt="%(levelname)s %(message)s") as said:
        sender = apprise.Apprise()
        given = apprise.NotifyFormat.HTML if html else None
        if sender.add(url) and sender.notify(title=title, body=body, body_format=given):
            return None
        return _why_apprise_failed(said.getvalue().splitlines())


def _why_apprise_failed(lines: list[str]) -> str:
    """Apprise's last warning, with the exception it logs after it at debug level, where its
    cause is ("Connection error while submitting email ...", then "Socket Exception: SMTP
    AUTH extension not supported by server.")."""
    level_of = [line.partition(" ") for line in lines]
    warned = [i for i, (level, _, _) in enumerate(level_of) if level in ("WARNING", "ERROR")]
    if not warned:
        return ""
    why = level_of[warned[-1]][2].strip()
    for _level, _, text in level_of[warned[-1] + 1 :]:
        if "Exception: " in text:
            why += ": " + text.partition("Exception: ")[2].strip()
            break
    return mail.plainly(why)


KINDS = ("webhook", "apprise", "webpush")
NO_EMAIL = (
    "this server does not send email itself (its operator has not set WWM_SMTP_URL): "
    "choose another kind, such as an Apprise mailto:// URL"
)


def kinds(*, email: bool) -> tuple[str, ...]:
    """The kinds this server takes: email first when its operator set up a mail server."""
    return ("email", *KINDS) if email else KINDS


def check_target(
    kind: str,
    target: object,
    *,
    schemes: tuple[str, ...],
    allow_private: bool,
    email: bool = False,
) -> str:
    """Refuse, by name, a channel that could never work or must not be used. `email`: the
    operator's mail server is set (WWM_SMTP_URL), so an email channel is one address."""
    if kind == "email":
        if not email:
            raise Invalid(NO_EMAIL, field="kind")
        return mail.check_address(target)
    if kind == "webpush":
        return webpush.check_subscription(target, allow_private=allow_private)
    if not isinstance(target, str):
        raise Invalid(f"a {kind} channel's target is a URL", field="target")
    target = target.strip()
    what = "the webhook's address" if kind == "webhook" else "the Apprise URL"
    parts = outbound.read_address(target, field="target", what=what)
    if kind == "webhook":
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid("a webhook needs an http or https URL", field="target")
    elif kind == "apprise":
        if parts.scheme.lower() not in schemes:
            raise Invalid(
                f"this server allows these kinds of Apprise URL: {', '.join(schemes)}",
                field="target",
            )
        if not _apprise().Apprise().add(target):
            raise Invalid("Apprise can't read this URL", field="target")
    else:
        raise Invalid(f"kind must be one of: {', '.join(kinds(email=email))}", field="kind")
    hosts = [parts.hostname or ""] if kind == "webhook" else apprise_hosts(target)
    if not allow_private and any(outbound.is_private_literal(host) for host in hosts if host):
        raise Invalid(PRIVATE_TARGET, field="target")
    return target


def build(
    kind: str,
    target: str,
    secret: str | None,
    *,
    allow_private: bool,
    push_keys: PushKeys,
    http: outbound.Outbound,
    smtp: mail.SmtpServer | None = None,
) -> Channel:
    if kind == "email":
        return mail.Email(smtp, target)
    if kind == "webhook":
        return Webhook(target, secret or "", allow_private, http)
    if kind == "webpush":
        return WebPush(webpush.Subscription.from_target(target), push_keys, allow_private, http)
    return AppriseUrl(target, allow_private)
