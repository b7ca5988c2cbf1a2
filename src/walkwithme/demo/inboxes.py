"""The demo's people's phones: a webhook receiver on this machine stands in for each
person's notifications, and says each alert in words."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from walkwithme.demo.story import Story


@contextmanager
def inboxes(story: Story) -> Iterator[str]:
    """A webhook receiver on this machine standing in for each person's phone notifications:
    what reaches /aino is what Aino's phone shows."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            who = self.path.strip("/").capitalize()
            alert = json.loads(body)
            with story._lock:
                story.alerts.setdefault(who, []).append(alert)
            if alert.get("kind") != "test":
                # Placed when the service made it (delivery follows within moments).
                story.tell(int(alert["at"]), who, f"[notification] {_alert_text(alert)}")
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _alert_text(alert: dict[str, Any]) -> str:
    kind = str(alert.get("kind", ""))
    by = (alert.get("by") or {}).get("name", "someone")
    walker = (alert.get("walker") or {}).get("name", "someone")
    match kind:
        case "offer":
            return f"{by} offers to walk you home"
        case "offer_declined":
            note = f': "{alert["note"]}"' if alert.get("note") else ""
            promise = " and promises another evening" if alert.get("promised_at") else ""
            return f"{by} says no{promise}{note}"
        case "next_walk":
            return f"{by} would like to walk together again"
        case "offer_reminder":
            return "the evening you agreed on has come"
        case "started":
            return f"{walker} started a walk home and shares it with you"
        case "inside":
            note = f': "{alert["note"]}"' if alert.get("note") else ""
            return f"{walker} is inside{note}"
        case "check":
            return "Are you OK? Answer with your PIN"
        case "ended":
            return f"{walker} ended her walk"
        case "alarm":
            return f'ALARM: {walker} didn\'t answer "Are you OK?"'
        case "alarm_acknowledged":
            return f"{by} is on it"
        case "alarm_resolved":
            note = f': "{alert["note"]}"' if alert.get("note") else ""
            return f"the alarm is over{note}"
        case _:
            return kind.replace("_", " ")
