"""Request bodies are limited while they stream in, before anything reads or authenticates
them: a 300 MB body is refused at its Content-Length, or at the first chunk past the limit,
not after it has filled the memory.

One table of limits by path: a batch of fixes may be large, an OwnTracks message may carry a
card's photo, everything else is small.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SMALL = 64_000
LIMITS = {
    "/api/fixes": 1_000_000,  # up to 1,000 fixes a request
    "/api/owntracks": 512_000,  # a card's 192x192 photo, base64 (the apps send ~100 kB)
    "/api/traccar": 1_000_000,  # Traccar Client 10's JSON upload: its buffered positions
}


def limit_for(path: str) -> int:
    return LIMITS.get(path.rstrip("/") or "/", SMALL)


def too_large(limit: int) -> str:
    return f"body too large: at most {limit:,} bytes"


def refused_length(declared: bytes | None, limit: int) -> tuple[int, str] | None:
    """The status and words for a declared Content-Length that is refused (not a number, or
    over the limit), or None."""
    if declared is None:
        return None
    if not declared.isdigit():
        return 400, "bad Content-Length"
    return (413, too_large(limit)) if int(declared) > limit else None


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        refused = refused_length(dict(scope["headers"]).get(b"content-length"), limit)
        if refused is not None:
            status, message = refused
            await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
            return
        taken = 0

        async def counted() -> Message:
            nonlocal taken
            message = await receive()
            if message["type"] == "http.request":
                taken += len(message.get("body", b""))
                if taken > limit:
                    # Answered by the app's handler for HTTP errors, as one clear JSON error.
                    raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, counted, send)
