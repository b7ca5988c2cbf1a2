"""POST /api/fixes, the busiest door, answered in front of the framework.

Every phone posts here every few seconds, and a fix's own work (its walk read, judged and
saved, in the writer's group commit) costs less than the layers a request crosses in FastAPI
and Starlette to reach it: their error and body-limit middlewares, the exception wrappers,
the exit stack, the router's matching, each wrapping `send` in turn. So the app is wrapped in
`FixesFirst` (inside the security headers, which every answer gets), which takes a POST to
this one path straight to `FixesDoor`: a plain ASGI handler that does what those layers would
have done for it, and nothing more:

- the body is limited as it streams in, by the same table as every other door
  (api/body_limit.py);
- the device's bearer token is checked (api/auth.py's rules and words);
- every failure is one JSON error: 4xx naming what is wrong, 503 with Retry-After when the
  database can't commit (nothing was kept, the phone sends again), 500 for anything unexpected,
  logged here, never a stack trace.

Every other method on the path (a GET, an OPTIONS) goes through the framework, whose route for
it answers 405. What a batch means is in `take_fixes`, shared with the walker's page, which
posts her browser's positions through the same path (web/walker_pages.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from walkwithme.api.body_limit import limit_for, refused_length, too_large
from walkwithme.api.errors import NOT_JSON, STORAGE_RETRY_AFTER_S, STORAGE_UNAVAILABLE, error_body
from walkwithme.domain.errors import Conflict, DomainError
from walkwithme.services import Services
from walkwithme.store.database import StorageUnavailable
from walkwithme.store.tx import Tx
from walkwithme.usecases.devices import Device, began_at_the_api
from walkwithme.usecases.fixes import Outcome, Parsed, parse_batch, record_fixes, unknown_fields

log = logging.getLogger(__name__)

PATH = "/api/fixes"
UNKNOWN_DEVICE = "unknown or revoked device token"
MAX_BATCH = 1000


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, field_name: str | None = None) -> Answer:
    return Answer(status, error_body(message, field_name))


def fixes_of(body: bytes, *, batch_only: bool = False) -> tuple[list[Any], bool] | Answer:
    """The items a body holds, and whether it was one fix rather than a batch; or the error
    that names what is wrong with it."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, NOT_JSON)
    if isinstance(payload, dict) and "fixes" in payload:
        items = payload["fixes"]
        if not isinstance(items, list):
            return _error(422, "fixes must be a list", "fixes")
    elif isinstance(payload, dict) and not batch_only:
        items = [payload]
    else:
        return _error(
            422, 'send {"fixes": [...]}' if batch_only else 'send a fix or {"fixes": [...]}'
        )
    if len(items) > MAX_BATCH:
        return _error(413, f"at most {MAX_BATCH} fixes a request", "fixes")
    return items, "fixes" not in payload


Recorder = Callable[[Tx, list[Parsed]], list[Outcome]]


async def take_fixes(svc: Services, items: list[Any], single: bool, record: Recorder) -> Answer:
    """Parse and check the items, record them in the writer's next group (`record`: for whose
    device), and answer per item once they are committed: accepted, flagged, duplicate, refused
    (with the field and why) or not_kept, with a warning naming any field nothing reads."""
    parsed = parse_batch(items, svc.clock.now_ms())
    if single and isinstance(parsed[0], Outcome):
        # One fix, not a batch: nothing else to keep, so a plain 400 naming the field.
        return _error(400, parsed[0].reason or "malformed fix", parsed[0].field)
    try:
        # `record` changes walks only through the fix path, which keeps the writer's memo true.
        outcomes = await svc.writer.run(lambda tx: record(tx, parsed), memo=True)
    except Conflict:
        # Another process changed the walk at that instant. A 4xx would make iOS drop the
        # fixes: ask the phone to send them again instead.
        return Answer(
            503, error_body("the walk changed meanwhile; send again"), {"Retry-After": "1"}
        )
    results = [o.as_json(i) for i, o in enumerate(outcomes)]
    for result, item in zip(results, items, strict=True):
        warning = unknown_fields(item)
        if warning:
            result["warning"] = warning
    return Answer(200, {"results": results})


class FixesDoor:
    """The ASGI handler of POST /api/fixes (see the module's docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.limit = limit_for(PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            answer = await self._answer(scope, receive)
        except StorageUnavailable:
            answer = Answer(
                503, error_body(STORAGE_UNAVAILABLE), {"Retry-After": str(STORAGE_RETRY_AFTER_S)}
            )
        except DomainError as exc:
            answer = _error(exc.status, exc.message, exc.field)
        except Exception:
            log.exception("unexpected error on POST %s", PATH)
            answer = _error(500, "internal error; try again")
        if answer is not None:
            await _send(send, answer)

    async def _answer(self, scope: Scope, receive: Receive) -> Answer | None:
        authorization = b""
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                declared = value
        refused = refused_length(declared, self.limit)
        if refused is not None:
            return _error(*refused)
        device = await self._device(authorization)
        if isinstance(device, Answer):
            return device
        answer = await self._take(device, receive)
        if device.gone and answer is not None:
            # Her account is deleted but for her silent alarm: what it sent still reaches the
            # people looking for her, and her phone is told what a deleted account's is.
            return _error(401, UNKNOWN_DEVICE)
        return answer

    async def _take(self, device: Device, receive: Receive) -> Answer | None:
        body = await _body(receive, self.limit)
        if body is None:
            return None  # the phone went away: nobody to answer
        if isinstance(body, Answer):
            return body
        items = fixes_of(body)
        if isinstance(items, Answer):
            return items
        streets = self.services.streets

        def record(tx: Tx, parsed: list[Parsed]) -> list[Outcome]:
            began_at_the_api(tx, device)
            return record_fixes(tx, device, parsed, streets)

        return await take_fixes(self.services, *items, record)

    async def _device(self, authorization: bytes) -> Device | Answer:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith("dev_"):
            return _error(401, "send the device's token: 'Authorization: Bearer dev_...'")
        device = await self.services.device_tokens.device(token)
        if device is None:
            return _error(401, UNKNOWN_DEVICE)
        return device


async def _body(receive: Receive, limit: int) -> bytes | Answer | None:
    """The request's body, refused at the first chunk past the limit; None if the client
    disconnected before sending all of it."""
    chunks: list[bytes] = []
    taken = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        taken += len(chunk)
        if taken > limit:
            return _error(413, too_large(limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(send: Send, answer: Answer) -> None:
    body = orjson.dumps(answer.body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FixesFirst:
    """In front of the app: POST /api/fixes to its door, everything else to the app."""

    def __init__(self, app: ASGIApp, door: FixesDoor) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            await self.door(scope, receive, send)
        else:
            await self.app(scope, receive, send)
