"""A WebSocket refused before it opens is answered like any other refusal: an HTTP answer
with the security headers (web/headers.py) and the one error body, where the server can give
one (uvicorn, Starlette's test client: the ASGI `websocket.http.response` extension).

The streams refuse by closing before they accept (api/live.py), with a close code and a
reason; a server without the extension turns that into a bare 403. Here it becomes a 401
(code 4401: sign in again) or a 403 (anything else: not yours to see, or no such stream)
carrying `{"error": reason}`. A browser sees only that the connection failed, as before, and
its page asks the walk's own address why. Once a stream has opened, its frames pass
untouched.
"""

from __future__ import annotations

import orjson
from starlette.types import Message, Scope, Send

EXTENSION = "websocket.http.response"
SIGNED_OUT = 4401  # api/live.py's CLOSE_UNAUTHORIZED


def status_of(close_code: int) -> int:
    return 401 if close_code == SIGNED_OUT else 403


def answering_refusals(scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    """`send` for a WebSocket, that answers a refusal with `headers` (the answer's own win)."""
    if EXTENSION not in (scope.get("extensions") or {}):
        return send
    opened = False

    async def sending(message: Message) -> None:
        nonlocal opened
        kind = message["type"]
        if opened or kind == "websocket.accept":
            opened = True
            await send(message)
        elif kind == "websocket.close":
            await _refuse(send, message, headers)
        elif kind == "websocket.http.response.start":
            await send({**message, "headers": _with(message.get("headers", []), headers)})
        else:
            await send(message)

    return sending


async def _refuse(send: Send, close: Message, headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps({"error": close.get("reason") or "refused"})
    own = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status_of(int(close.get("code") or 1000)),
            "headers": _with(own, headers),
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})


def _with(
    own: list[tuple[bytes, bytes]], common: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in own}
    return [*own, *(h for h in common if h[0] not in names)]
