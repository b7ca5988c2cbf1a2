"""Every failure becomes one clear JSON answer: {"error": "...", "field": "..."}.

Bad input is a 4xx naming what is wrong; a storage fault is a 503 that tells a phone to retry;
anything unexpected is logged here and answered with a bare 500, never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from walkwithme.api.auth import services
from walkwithme.api.responses import JSON
from walkwithme.domain.errors import DomainError, TooSoon
from walkwithme.store.writer import StorageUnavailable
from walkwithme.web.headers import NO_STORE, answer_headers

log = logging.getLogger(__name__)

# A storage fault: nothing was kept; a phone sends again after this many seconds.
STORAGE_UNAVAILABLE = "the server can't store this right now; try again"
STORAGE_RETRY_AFTER_S = 5


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return body


# The body as a whole, not a field of it, is wrong: said as the fixes' door says it.
NOT_JSON = "body is not valid JSON"
NOT_AN_OBJECT = "send a JSON object"
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type"})  # pydantic's words for it


def _describe(errors: list[Any]) -> tuple[str, str | None]:
    first = errors[0]
    if first.get("type") == "json_invalid":  # its `loc` is a place in the text, not a field
        return NOT_JSON, None
    if tuple(first.get("loc", ())) == ("body",) and first.get("type") in _NOT_AN_OBJECT:
        return NOT_AN_OBJECT, None
    location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(location) or None
    message = str(first.get("msg", "invalid value"))
    return (f"{field}: {message}" if field else message), field


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSON:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooSoon) else None
        return JSON(error_body(exc.message, exc.field), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSON:
        message, field = _describe(list(exc.errors()))
        return JSON(error_body(message, field), status_code=400 if message == NOT_JSON else 422)

    @app.exception_handler(WebSocketRequestValidationError)
    async def invalid_stream(websocket: WebSocket, exc: WebSocketRequestValidationError) -> None:
        """A stream asked for with a parameter that is wrong (`after_fix=-1`): refused with an
        answer that names it, as an HTTP request would be, where the server can (uvicorn can);
        else closed with 1008 and the same words."""
        message, field = _describe(list(exc.errors()))
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            answer = JSON(error_body(message, field), status_code=422)
            tiles_url = services(websocket).config.tiles_url
            answer.raw_headers += [*answer_headers(tiles_url), NO_STORE]
            await websocket.send_denial_response(answer)
        else:
            await websocket.close(code=1008, reason=message[:120])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSON:
        return JSON(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(StorageUnavailable)
    async def unavailable(_request: Request, exc: StorageUnavailable) -> JSON:
        return JSON(
            error_body(STORAGE_UNAVAILABLE),
            status_code=503,
            headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSON:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSON(error_body("internal error; try again"), status_code=500)
