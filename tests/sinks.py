"""Real receivers on 127.0.0.1 for delivery tests: an HTTP server for webhooks and an SMTP
server (aiosmtpd) for email."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.service import free_port


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
            if sink.hold_next:
                sink.hold_next = False
                headers["x-answered"] = "never"
                sink.received.append(Received(self.path, headers, body))
                sink.release.wait(60)
                if not sink.answer_after_hold:
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


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox()

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.original_content))
            return "250 OK"

    box.port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
