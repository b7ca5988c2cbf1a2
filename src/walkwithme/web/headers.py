"""Security headers on every answer the service gives (pages, API and static files alike).

The Content-Security-Policy allows scripts only from the service itself (no inline script
anywhere), no framing, and connections only back to the service (its WebSocket included) and,
when the operator set one, to the tile server. `Cache-Control: no-store` on everything but the
hashed static files: any page or JSON answer may show where someone is. Every HTTP answer
passes here on its way out, so its access log line is written here too (logs.log_access).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from walkwithme.logs import log_access
from walkwithme.web.refused_streams import answering_refusals


def tile_origin(tiles_url: str) -> str:
    """The scheme and host of a tile URL template, as CSP names a source."""
    parts = urlsplit(tiles_url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def policy(tiles_url: str) -> str:
    tiles = tile_origin(tiles_url)
    images = "'self' data:" + (f" {tiles}" if tiles else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Leaflet and Swagger UI position things through element.style (CSSOM), which CSP
            # allows; no style attribute or element in our own markup needs more.
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def answer_headers(tiles_url: str) -> list[tuple[bytes, bytes]]:
    """The headers every answer gets (`Cache-Control` apart: see `SecurityHeaders`), a
    WebSocket refused before it opens included (web/refused_streams.py)."""
    return [
        (b"content-security-policy", policy(tiles_url).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]


NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, tiles_url: str = "") -> None:
        self.app = app
        self.common = answer_headers(tiles_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            refusals = answering_refusals(scope, send, [*self.common, NO_STORE])
            await self.app(scope, receive, refusals)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                log_access(scope, message["status"])
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in self.common if h[0] not in names]
                # Only the hashed static files set their own (a year); the rest is no-store.
                if b"cache-control" not in names:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
