"""Email through the operator's own mail server (`WWM_SMTP_URL`): a person gives only her
address, and nobody types an SMTP password at night. The channel's target is one address; its
alerts say what the Apprise email path says (notify/messages.py: the title as the subject, the
words with the link, an HTML part whose link can be tapped).

The mail server is the operator's trusted configuration, not a person's: it is not held to the
outbound guard (a relay on 127.0.0.1:25 is the usual set-up), and nobody's channel can name
another host. Her address is never connected to: her mail server hears of it from the
operator's. Every failure is worth trying again (the outbox does, with backoff): a server
that is down, refuses the sign-in or her address may be set right by its operator, and an
alarm should still reach her then. Its reason is what her channels page shows.

smtplib runs in a worker thread (no new dependency): a send holds only its own channel's
lane (notify/notifier.py), and its timeout is well inside the notifier's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from walkwithme.domain.errors import Invalid
from walkwithme.notify.messages import render, render_html

if TYPE_CHECKING:
    from walkwithme.notify.channels import Alert

TIMEOUT_S = 20.0  # under the notifier's 30 s, so the reason is the server's, not "no answer"
MAX_ADDRESS = 254  # RFC 5321's longest path, less its angle brackets
SENDER_NAME = "Walk With Me"
URL_FORM = "must be smtp://[user:password@]host[:port]?from=address (or smtps://)"

Tls = Literal["implicit", "starttls", "none"]

# One address, nothing else: no display name, no second address, no line break (a header
# injected through her address would reach whoever the mail server lets it); and no `%` or
# `!`, which some relays still route on to another host ("a%c@d.com" goes to c).
_LOCAL = re.compile(r"[A-Za-z0-9#$&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9#$&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
NOT_AN_ADDRESS = "that is not an email address: give one address, such as you@example.org"


def check_address(text: object, *, field_name: str = "target") -> str:
    """One email address, its domain in lower case (so the same address twice is the same
    channel), or `Invalid` saying what an address looks like."""
    if not isinstance(text, str):
        raise Invalid("an email channel's target is an email address", field=field_name)
    address = text.strip()
    if len(address) > MAX_ADDRESS:
        raise Invalid(f"an email address is at most {MAX_ADDRESS} characters", field=field_name)
    local, at, domain = address.rpartition("@")
    if not at or len(local) > 64 or not _LOCAL.fullmatch(local):
        raise Invalid(NOT_AN_ADDRESS, field=field_name)
    try:  # a domain in her own script (IDNA), as mail servers read it
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Invalid(NOT_AN_ADDRESS, field=field_name) from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise Invalid(NOT_AN_ADDRESS, field=field_name)
    if labels[-1].isdigit():  # an IP address is no mailbox's domain here
        raise Invalid(NOT_AN_ADDRESS, field=field_name)
    return f"{local}@{domain}"


@dataclass(frozen=True)
class SmtpServer:
    """The operator's mail server, read from `WWM_SMTP_URL`."""

    host: str
    port: int
    tls: Tls
    sender: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    helo: str | None = None  # the name it greets with: WWM_PUBLIC_URL's host when set

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """`smtp://` (port 587, STARTTLS required; plain on a loopback host, a relay on this
        machine), `smtps://` (port 465, TLS from the first byte); `?from=` the sender;
        `?starttls=yes|no` changes what `smtp://` does. Errors never repeat the URL: it may
        hold a password."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise ValueError(URL_FORM) from None
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(URL_FORM)
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(query) - {"from", "starttls"}
        if unknown:
            raise ValueError(f"unknown parameter {sorted(unknown)[0]!r}; {URL_FORM}")
        if any(len(values) > 1 for values in query.values()):
            raise ValueError("each parameter at most once")
        senders = query.get("from", [""])
        try:
            sender = check_address(senders[0])
        except Invalid:
            raise ValueError("needs ?from= the address alerts are sent from") from None
        tls: Tls = "implicit" if scheme == "smtps" else "starttls"
        if scheme == "smtp" and _loopback(parts.hostname):
            tls = "none"  # a relay on this machine: nothing crosses a network
        starttls = query.get("starttls", [""])[0].lower()
        if starttls and (scheme == "smtps" or starttls not in ("yes", "no")):
            raise ValueError("starttls is yes or no, and only for smtp://")
        if starttls:
            tls = "starttls" if starttls == "yes" else "none"
        return cls(
            host=parts.hostname,
            port=port or (465 if scheme == "smtps" else 587),
            tls=tls,
            sender=sender,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def greeting_as(self, helo: str | None) -> SmtpServer:
        return replace(self, helo=helo)

    def said(self) -> str:
        """Where it sends, for the operator (`walkwithme check`): never the password."""
        how = {"implicit": "TLS", "starttls": "STARTTLS", "none": "no TLS"}[self.tls]
        who = f", signing in as {self.username}" if self.username else ""  # (it may be refused)
        return f"{self.host}:{self.port} ({how}{who}), from {self.sender}"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def compose(server: SmtpServer, to: str, alert: Alert) -> EmailMessage:
    """The email: the words and the subject of the Apprise path, the alert's key in
    `X-Walkwithme-Alert` (a receiver may drop the rare duplicate by it)."""
    title, text = render(alert.payload)
    message = EmailMessage()
    message["Subject"] = " ".join(title.split())  # one line, whatever a name held
    message["From"] = formataddr((SENDER_NAME, server.sender))
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=server.sender.rpartition("@")[2])
    message["X-Walkwithme-Alert"] = alert.key
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office answers to the sender
    message.set_content(text)
    message.add_alternative(render_html(alert.payload), subtype="html")
    return message


@contextlib.contextmanager
def session(server: SmtpServer) -> Iterator[smtplib.SMTP]:
    """A signed-in connection to the server, TLS as its URL says (certificates verified)."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.tls == "implicit":
        smtp = smtplib.SMTP_SSL(
            server.host, server.port, server.helo, timeout=TIMEOUT_S, context=context
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, server.helo, timeout=TIMEOUT_S)
    with smtp:
        smtp.ehlo()
        if server.tls == "starttls":
            smtp.starttls(context=context)  # not offered: SMTPNotSupportedError, nothing sent
            smtp.ehlo()
        if server.username:
            if not smtp.has_extn("auth"):
                # (smtplib's own error is the one STARTTLS not offered raises: the operator
                # was told to mend the TLS his URL never asked for)
                raise NoSignIn("SMTP AUTH extension not supported by server")
            smtp.login(server.username, server.password or "")
        yield smtp


class NoSignIn(smtplib.SMTPNotSupportedError):
    """The server offers no sign-in (AUTH), and WWM_SMTP_URL gives a user to sign in as."""


def deliver(server: SmtpServer, message: EmailMessage) -> None:
    with session(server) as smtp:
        smtp.send_message(message, from_addr=server.sender, to_addrs=[str(message["To"])])


def probe(server: SmtpServer) -> None:
    """Connect, greet, TLS and sign in, send nothing: `walkwithme check`'s question."""
    with session(server) as smtp:
        smtp.noop()


def why(exc: BaseException) -> str:
    """What went wrong, in words her channels page can show (and the operator's check)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "Walk With Me's mail server refused its sign-in (its operator's WWM_SMTP_URL)"
    if isinstance(exc, NoSignIn):
        return (
            "Walk With Me's mail server offers no sign-in, which WWM_SMTP_URL asks for with its "
            "user and password (many offer it only over STARTTLS: ?starttls=yes; leave them "
            "out for a server that takes mail without one)"
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "Walk With Me's mail server offers no STARTTLS, which WWM_SMTP_URL asks for"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, said = next(iter(exc.recipients.values()), (0, b""))
        return f"the mail server refused this address ({code} {plainly(said)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server refused the email ({exc.smtp_code} {plainly(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc):
        # (smtplib says a server that never answered "Connection unexpectedly closed: timed
        # out": it did not hang up, it said nothing, an operator's review found)
        return "the mail server took too long to answer"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the mail server hung up before the email was sent"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "the mail server's TLS failed (its certificate, or its TLS set-up)"
    if isinstance(exc, TimeoutError):
        return "the mail server took too long to answer"
    return "the mail server could not be reached"


# What a mail server's answer names as an address ("5.1.1 <noor@example.org>: unknown").
_NAMED_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


# A URL a warning names may carry a token or a password (an Apprise URL does).
_NAMED_URL = re.compile(r"\S+://\S*")


def plainly(said: bytes | str) -> str:
    """A server's (or Apprise's) answer, short, without the addresses and URLs it names: the
    notifier logs the reason, and a log names nobody's address (docs/privacy.md)."""
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else said
    text = _NAMED_URL.sub("<url>", " ".join(text.split()))
    return _NAMED_ADDRESS.sub("<address>", text)[:150]


# Why an email channel is broken while the server sends no email (no WWM_SMTP_URL): `serve`
# mends the channels broken for this alone once it does again (usecases/channels.py).
EMAIL_OFF = (
    "this server no longer sends email (its operator turned it off): choose another kind of channel"
)


@dataclass
class Email:
    """A person's email channel. `server` None: the operator has turned email off since
    the channel was made."""

    server: SmtpServer | None
    to: str

    async def send(self, alert: Alert) -> None:
        # Here, not at the top: channels.py builds this channel, so it imports this module.
        from walkwithme.notify.channels import DeliveryError

        if self.server is None:
            raise DeliveryError(EMAIL_OFF, permanent=True)
        message = compose(self.server, self.to, alert)
        try:
            await asyncio.to_thread(deliver, self.server, message)
        except OSError as exc:  # smtplib's errors are OSErrors too
            raise DeliveryError(why(exc), permanent=False) from exc
