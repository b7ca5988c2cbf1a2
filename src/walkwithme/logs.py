"""Logging that never writes a secret: tokens, share links and invites are masked wherever
they appear in a log line (an access log line holds the URL, and a share link is a URL)."""

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
