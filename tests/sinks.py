"""Real receivers on 127.0.0.1 for delivery tests: an HTTP server for webhooks, an SMTP
server (aiosmtpd) for email, and a push service with the browsers subscribed to it."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from aiosmtpd.controller import Controller
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from walkwithme.net import free_port
from walkwithme.notify.vapid import b64url, b64url_decode


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookSink:
    """Answers each POST with the next status in `script` (200 once the script runs out)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    # When set, the next request is held (no answer) until `release` is set: a send that a
    # crash of the sender will cut.
    hold_next: bool = False
    # When set, the next request to this path is held instead (the others are answered): an
    # at-least-once sender may send an earlier alert again first.
    hold_path: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    answer_after_hold: bool = False  # answer 200 once released (a slow receiver, not a cut)

    def ok(self) -> list[Received]:
        return [r for r in self.received if r.headers.get("x-answered") == "200"]


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            by_path = bool(sink.hold_path) and self.path == sink.hold_path
            if sink.hold_next or by_path:
                if by_path:
                    sink.hold_path = ""
                else:
                    sink.hold_next = False
                answer = sink.answer_after_hold  # as it was when this one was held
                headers["x-answered"] = "never"
                sink.received.append(Received(self.path, headers, body))
                sink.release.wait(60)
                if not answer:
                    return  # the sender is gone: nobody to answer
                headers["x-answered"] = "200"
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            status = sink.script.pop(0) if sink.script else 200
            headers["x-answered"] = str(status)
            sink.received.append(Received(self.path, headers, body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    # Who each accepted message was for, as the sender's RCPT TO said.
    recipients: list[list[str]] = field(default_factory=list)
    # The next messages' answers to DATA, one each ("451 ..."), before it takes them again.
    refuse: list[str] = field(default_factory=list)
    # The next recipients' answers to RCPT TO, one each ("550 ... unknown"), likewise.
    refuse_to: list[str] = field(default_factory=list)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox()

    class Handler:
        async def handle_RCPT(
            self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
        ) -> str:
            if box.refuse_to:
                return box.refuse_to.pop(0)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            if box.refuse:
                return box.refuse.pop(0)
            box.messages.append(message_from_bytes(envelope.original_content))
            box.recipients.append(list(envelope.rcpt_tos))
            return "250 OK"

    box.port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# -- Web Push ---------------------------------------------------------------------------------


@dataclass
class Browser:
    """What `pushManager.subscribe()` makes in a browser: a P-256 key pair and an auth secret,
    and the push service's endpoint for them. Only the browser can read what is pushed."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        """As `PushSubscription.toJSON()` gives it."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }

    def read(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        message: dict[str, Any] = json.loads(plain)
        return message


@dataclass
class Pushed:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    claims: dict[str, Any] | None = None  # the VAPID token's, once its signature checked
    message: dict[str, Any] | None = None  # what the browser read
    refused: str | None = None  # why the push service refused it (401/400)


@dataclass
class PushService:
    """A push service on 127.0.0.1: it checks the VAPID token of each request against the
    server's public key (`server_key`, as /api/push/key gives it) and hands the body to the
    subscribed browser, which decrypts it. Answers the next status in `script` (201 once the
    script runs out); a request that fails the checks is answered 401 (or 400)."""

    url: str = ""
    server_key: str = ""
    script: list[int] = field(default_factory=list)
    received: list[Pushed] = field(default_factory=list)
    browsers: dict[str, Browser] = field(default_factory=dict)

    def subscribe(self, name: str) -> dict[str, Any]:
        browser = Browser(f"{self.url}/push/{name}")
        self.browsers[f"/push/{name}"] = browser
        return browser.subscription()

    def delivered(self) -> list[dict[str, Any]]:
        return [p.message for p in self.received if p.message and 200 <= p.status < 300]

    def check(self, pushed: Pushed) -> None:
        """Fills `claims` and `message`, or says in `refused` what is wrong."""
        try:
            pushed.claims = verify_vapid(pushed.headers.get("authorization", ""), self)
        except (ValueError, KeyError, InvalidSignature) as exc:
            pushed.refused = f"VAPID: {exc!r}"
            return
        browser = self.browsers.get(pushed.path)
        if browser is None:
            pushed.refused = "no such subscription"
            return
        if pushed.headers.get("content-encoding") != "aes128gcm":
            pushed.refused = "not aes128gcm"
            return
        try:
            pushed.message = browser.read(pushed.body)
        except Exception as exc:
            pushed.refused = f"can't decrypt: {exc!r}"


def verify_vapid(header: str, service: PushService) -> dict[str, Any]:
    """RFC 8292: `vapid t=<ES256 JWT>, k=<public key>`; `k` must be the server's key, the
    signature good, `aud` this push service's origin, `exp` ahead but within 24 hours."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"scheme {scheme!r}")
    params = dict(p.strip().split("=", 1) for p in rest.split(","))
    if params["k"] != service.server_key:
        raise ValueError("k is not the server's public key")
    signed, _, signature = params["t"].rpartition(".")
    head, _, body = signed.partition(".")
    if json.loads(b64url_decode(head)) != {"typ": "JWT", "alg": "ES256"}:
        raise ValueError("not an ES256 JWT")
    raw = b64url_decode(signature)
    if len(raw) != 64:
        raise ValueError("not a raw ES256 signature")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(service.server_key)
    )
    key.verify(der, signed.encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(b64url_decode(body))
    if claims["aud"] != service.url:
        raise ValueError(f"aud {claims['aud']!r}")
    now = time.time()  # a push service checks by its own (real) clock
    if not now < claims["exp"] <= now + 86400:
        raise ValueError(f"exp {claims['exp']} is not within the next 24 hours")
    if not claims.get("sub"):
        raise ValueError("no sub")
    return claims


@contextmanager
def push_service() -> Iterator[PushService]:
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            pushed = Pushed(self.path, headers, body, 0)
            service.check(pushed)
            if pushed.refused:
                pushed.status = 400 if pushed.claims else 401
            else:
                pushed.status = service.script.pop(0) if service.script else 201
            service.received.append(pushed)
            self.send_response(pushed.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
