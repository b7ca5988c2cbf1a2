"""No channel reaches the server's own network (issue 12, finding 4), with real local servers
on 127.0.0.1: every host a channel kind names is checked (an email's SMTP server too), the
address really connected to is the one checked (a name that answers differently the second
time gets nowhere), and the IPv4 address inside IPv6 forms is checked as IPv4.

The only thing replaced is the system's name resolution (`socket.getaddrinfo`, which asyncio,
requests and smtplib all call): a name that resolves to a public address first and to
127.0.0.1 next, as a DNS rebinding attack does."""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import socket
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.people import Cast
from tests.sinks import Mailbox, WebhookSink, smtp_server, webhook_sink
from walkwithme.domain.errors import Invalid
from walkwithme.net import free_port
from walkwithme.notify import outbound
from walkwithme.notify.channels import Alert as ChannelAlert
from walkwithme.notify.channels import AppriseUrl, DeliveryError, Webhook, check_target

PUBLIC = "93.184.216.34"
ALERT = ChannelAlert("alert-1", {"kind": "test", "text": "a test"})


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


class Rebinding:
    """Answers `name` with a public address the first time, with 127.0.0.1 after."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.asked = 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host  # anyio asks in bytes
        if name != self.name:
            return self.real(host, port, *args, **kwargs)
        self.asked += 1
        address = PUBLIC if self.asked == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]


def send(channel: Webhook | AppriseUrl) -> DeliveryError:
    with pytest.raises(DeliveryError) as failed:
        asyncio.run(channel.send(ALERT))
    return failed.value


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b:1::a00:1", False),  # a site's own NAT64
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::1", False),
        ("64:ff9b::5db8:d822", True),  # NAT64 of a public address
        ("2002:5db8:d822::1", True),
        ("2606:4700::1111", True),
        (PUBLIC, True),
    ],
)
def test_the_ipv4_inside_ipv6_forms_is_checked(address: str, public: bool) -> None:
    assert outbound.is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("webhook", "http://[64:ff9b::7f00:1]:8000/hook"),
        ("webhook", "https://[2002:7f00:1::]/hook"),
        ("webhook", "http://[::7f00:1]/hook"),
        ("apprise", "mailto://user:pw@example.org?smtp=127.0.0.1&to=a@example.org"),
        ("apprise", "mailtos://user:pw@example.org?smtp=[64:ff9b::a00:1]&to=a@example.org"),
        # The older ways of writing 127.0.0.1, which a connection still takes.
        ("webhook", "http://0x7f000001/hook"),
        ("webhook", "http://2130706433/hook"),
        ("webhook", "http://127.1/hook"),
        ("webhook", "http://0177.0.0.1/hook"),
        ("webhook", "http://10.1/hook"),
        ("webhook", "http://app.localhost/hook"),
        ("webhook", "http://localhost./hook"),
    ],
)
def test_a_channel_naming_a_private_host_anywhere_is_refused(kind: str, target: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_target(kind, target, schemes=("mailto", "mailtos"), allow_private=False)
    assert refused.value.field == "target"
    assert "private network" in refused.value.message
    assert "WWM_ALLOW_PRIVATE_ADDRESSES" in refused.value.message  # who may allow it, and how


def test_a_webhook_to_a_local_server_is_refused(sink: WebhookSink) -> None:
    failed = send(Webhook(sink.url + "/hook", "s", False, outbound.Outbound()))
    assert failed.permanent
    assert sink.received == []


def test_a_webhook_name_rebound_to_127_0_0_1_reaches_nothing(
    sink: WebhookSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = sink.url.rsplit(":", 1)[1]
    resolver = Rebinding("hooks.rebind.test")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    failed = send(Webhook(f"http://hooks.rebind.test:{port}/hook", "s", False, outbound.Outbound()))
    assert (failed.permanent, failed.message) == (True, outbound.PRIVATE)
    assert resolver.asked >= 2  # checked as public, then asked again to connect
    assert sink.received == []


def test_an_apprise_name_rebound_to_127_0_0_1_reaches_nothing(
    sink: WebhookSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = sink.url.rsplit(":", 1)[1]
    monkeypatch.setattr(socket, "getaddrinfo", Rebinding("hooks.rebind.test"))
    failed = send(AppriseUrl(f"json://hooks.rebind.test:{port}/hook", False))
    assert (failed.permanent, failed.message) == (True, outbound.PRIVATE)
    assert sink.received == []


def test_an_email_whose_smtp_server_is_rebound_to_127_0_0_1_reaches_nothing(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin's host is public; the `smtp=` server it really talks to is not."""
    monkeypatch.setattr(socket, "getaddrinfo", Rebinding("mail.rebind.test"))
    url = (
        f"mailto://walker:pw@{PUBLIC}?smtp=mail.rebind.test&port={mailbox.port}"
        "&mode=insecure&from=w@example.org&to=a@example.org"
    )
    failed = send(AppriseUrl(url, False))
    assert (failed.permanent, failed.message) == (True, outbound.PRIVATE)
    assert mailbox.messages == []


def test_an_email_to_a_local_smtp_server_is_refused_before_it_is_tried(mailbox: Mailbox) -> None:
    url = (
        f"mailto://walker:pw@{PUBLIC}?smtp=127.0.0.1&port={mailbox.port}"
        "&mode=insecure&from=w@example.org&to=a@example.org"
    )
    assert send(AppriseUrl(url, False)).permanent
    assert mailbox.messages == []


def test_every_connection_made_during_a_send_is_checked_in_any_thread(sink: WebhookSink) -> None:
    """What Apprise does by itself (a redirect it follows, in a worker thread that copies the
    send's context) meets the same check as it connects."""

    def fetch() -> None:
        urllib.request.urlopen(sink.url + "/redirected", timeout=5)  # noqa: S310

    with outbound.guarded(allow_private=False) as guard:
        context = contextvars.copy_context()
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                context.run(fetch)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(10)
    assert errors, "the connection went through"
    assert guard.refused == outbound.PRIVATE
    assert sink.received == []
    port = int(sink.url.rsplit(":", 1)[1])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # outside a send: free


@pytest.mark.parametrize(
    ("kind", "target", "said"),
    [
        ("webhook", "http://[::1", "is not a valid URL"),
        ("apprise", "json://[::1", "is not a valid URL"),
        ("webhook", "http://example.org:99999/", "is not a valid URL"),
        ("webhook", "http://a:b/", "is not a valid URL"),
        ("webhook", "http://example.org:0/", "port 0"),
        ("webhook", "http://x\u0000/", "spaces or control characters"),
        ("webhook", "http://example.org/\u0007\r\nX-Injected: 1", "spaces or control characters"),
        ("webhook", "http://example.org/a b", "spaces or control characters"),
        ("webpush", "https://[::1", "is not a valid URL"),
    ],
)
def test_a_channel_that_could_never_be_reached_is_refused_by_name(
    cast: Cast, kind: str, target: str, said: str
) -> None:
    """Stored, it would look set up and stay silent in an alarm (and an unreadable address
    was a fault, 500): refused now, 422 naming the target, and nothing stored."""
    mira = cast.person("Mira")
    body: dict[str, object] = {"kind": kind, "target": target}
    if kind == "webpush":
        keys = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
        body["target"] = {"endpoint": target, "keys": keys}
    answer = cast.client.post("/api/channels", json=body, headers=mira.auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] in ("target", "target.endpoint")
    assert said in answer.json()["error"]
    assert cast.client.get("/api/channels", headers=mira.auth).json() == []


def test_a_webhook_nobody_answers_is_said_in_words_not_the_librarys() -> None:
    """Her channels page showed "could not reach it: All connection attempts failed"."""
    closed = free_port()  # nothing listens there
    failed = send(Webhook(f"http://127.0.0.1:{closed}/hook", "s", True, outbound.Outbound()))
    assert not failed.permanent  # tried again later
    assert str(failed) == "nothing answered at that address"


def test_a_telegram_bots_address_is_not_taken_for_a_bad_port(cast: Cast) -> None:
    """`tgram://BOT_ID:TOKEN/CHAT` reads as a host and a port that isn't a number: the
    check of a webhook's port refused every Telegram channel."""
    mira = cast.person("Mira")
    target = "tgram://123456789:AAHabcdefghijklmnopqrstuvwxyz012345/12345"
    answer = cast.client.post(
        "/api/channels", json={"kind": "apprise", "target": target}, headers=mira.auth
    )
    assert answer.status_code == 201, answer.text
    assert [c["kind"] for c in cast.client.get("/api/channels", headers=mira.auth).json()] == [
        "apprise"
    ]


def test_the_same_address_twice_is_one_channel(cast: Cast) -> None:
    """A reload of the page that added it sent its form again, and every alert then reached
    her twice."""
    mira = cast.person("Mira")
    body = {"kind": "webhook", "target": "https://hooks.example.org/mira"}
    assert cast.client.post("/api/channels", json=body, headers=mira.auth).status_code == 201
    again = cast.client.post("/api/channels", json=body, headers=mira.auth)
    assert again.status_code == 409
    assert again.json() == {
        "error": "you have a channel to this address already",
        "field": "target",
    }
    assert len(cast.client.get("/api/channels", headers=mira.auth).json()) == 1
    other = {**body, "target": "https://hooks.example.org/mira2"}
    assert cast.client.post("/api/channels", json=other, headers=mira.auth).status_code == 201
