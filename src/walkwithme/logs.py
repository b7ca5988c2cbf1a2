"""Logging that never writes a secret or a position: tokens, share links and invites are
masked wherever they appear in a log line (an access log line holds the URL, and a share link
is a URL), and the access log keeps no query string (Traccar Client puts the walker's latitude
and longitude there, OwnTracks its user and device names).

The access log is the service's own (`log_access`, called by web/headers.py for every answer;
uvicorn's is off), because the phones' doors are quiet in it: a phone that reports every few
seconds would write a line each time, and those lines, the phone's address and the instant
of each of its fixes, are a trail of where she was (a mobile address says roughly where), kept
for as long as the operator keeps logs. So an answer of those doors that went well is logged
only at DEBUG; a refused or failed one is logged as any other request is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

_SECRET = re.compile(r"\b(wwm|dev|shr|inv|ans)_[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(1)}_***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


ACCESS = logging.getLogger("walkwithme.access")
# The doors phones report through every few seconds (docs/privacy.md).
QUIET_PATHS = frozenset({"/api/fixes", "/api/owntracks", "/api/traccar"})


def log_access(scope: MutableMapping[str, Any], status: int) -> None:
    """One line for an HTTP answer, as uvicorn would write it, without the query string:
    `POST /api/traccar?…` is all that is said of where a phone's request came from. A phone
    door's answer that went well only at DEBUG (see the module's docstring)."""
    level = logging.DEBUG if status < 400 and scope["path"] in QUIET_PATHS else logging.INFO
    if not ACCESS.isEnabledFor(level):
        return
    client = scope.get("client")
    path = scope.get("raw_path") or scope["path"].encode()
    ACCESS.log(
        level,
        '%s - "%s %s%s HTTP/%s" %d',
        f"{client[0]}:{client[1]}" if client else "",
        scope["method"],
        path.decode("latin-1").replace('"', "%22"),
        "?…" if scope.get("query_string") else "",
        scope.get("http_version", "1.1"),
        status,
    )


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # httpx2 logs every request at INFO with its whole URL: a user's webhook URL often holds
    # a token of hers, and under load it is a line per alert. Failures are logged by the
    # notifier, without the URL.
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, root.level))
