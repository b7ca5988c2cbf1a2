"""Logging that never writes a secret or a position: tokens, share links and invites are
masked wherever they appear in a log line (an access log line holds the URL, and a share link
is a URL), and the access log keeps no query string (Traccar Client puts the walker's latitude
and longitude there, OwnTracks its user and device names)."""

from __future__ import annotations

import logging
import re

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


class AccessWithoutQuery(logging.Filter):
    """uvicorn's access lines without their query strings: `GET /api/traccar?…` is all that
    is said of where a phone's request came from (docs/privacy.md: never where she was)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, query, _ = args[2].partition("?")
            if query:
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


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
    # On the logger itself: a filter on the handler would see the line only after it has
    # been through every other filter, and a second handler added later would not have it.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessWithoutQuery) for f in access.filters):
        access.addFilter(AccessWithoutQuery())
    # httpx2 logs every request at INFO with its whole URL: a user's webhook URL often holds
    # a token of hers, and under load it is a line per alert. Failures are logged by the
    # notifier, without the URL.
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, root.level))
