"""Every failure becomes one clear JSON answer: {"error": "...", "field": "..."}.

Bad input is a 4xx naming what is wrong; a storage fault is a 503 that tells a phone to retry;
anything unexpected is logged here and answered with a bare 500, never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from walkwithme.api.responses import JSON
from walkwithme.domain.errors import DomainError, TooSoon
from walkwithme.store.database import StorageUnavailable

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
NOT_SENT_AS_JSON = "send the JSON object with Content-Type: application/json"
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type"})  # pydantic's words for it
# FastAPI's words for a body its JSON reader gave up on (bytes that aren't UTF-8, nesting too
# deep, a number of thousands of digits): a body that is not valid JSON all the same.
_UNREADABLE = "There was an error parsing the body"


def _describe(errors: list[Any], request: Request | None = None) -> tuple[str, str | None]:
    first = errors[0]
    if first.get("type") == "json_invalid":  # its `loc` is a place in the text, not a field
        return NOT_JSON, None
    whole_body = tuple(first.get("loc", ())) == ("body",)
    if whole_body and first.get("type") in _NOT_AN_OBJECT:
        sent_as_json = request is not None and _json_content_type(request)
        return (NOT_AN_OBJECT if sent_as_json else NOT_SENT_AS_JSON), None
    if whole_body and first.get("type") == "missing":
        return _empty_body(request), None
    location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(location) or None
    message = str(first.get("msg", "invalid value"))
    return (f"{field}: {message}" if field else message), field


def _json_content_type(request: Request) -> bool:
    """The body was sent as JSON (FastAPI reads it as JSON only then: else as bytes)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _empty_body(request: Request | None) -> str:
    """No body where one is asked: which fields it needs, read from the route's own model."""
    route = request.scope.get("route") if request is not None else None
    field_info = getattr(getattr(route, "body_field", None), "field_info", None)
    model = getattr(field_info, "annotation", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return f"the body is empty: {NOT_AN_OBJECT}"
    needed = [f.alias or name for name, f in model.model_fields.items() if f.is_required()]
    if not needed:
        return f"the body is empty: {NOT_AN_OBJECT} ({{}} for none of its fields)"
    listed = ", ".join(needed[:-1]) + " and " + needed[-1] if len(needed) > 1 else needed[0]
    return f"the body is empty: {NOT_AN_OBJECT} with {listed}"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSON:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooSoon) else None
        return JSON(error_body(exc.message, exc.field), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSON:
        message, field = _describe(list(exc.errors()), request)
        return JSON(error_body(message, field), status_code=400 if message == NOT_JSON else 422)

    @app.exception_handler(WebSocketRequestValidationError)
    async def invalid_stream(websocket: WebSocket, exc: WebSocketRequestValidationError) -> None:
        """A stream asked for with a parameter that is wrong (`after_fix=-1`): refused with an
        answer that names it, as an HTTP request would be, where the server can (uvicorn can;
        web/refused_streams.py adds the security headers); else closed with 1008 and the same
        words."""
        message, field = _describe(list(exc.errors()))
        if "websocket.http.response" in (websocket.scope.get("extensions") or {}):
            await websocket.send_denial_response(JSON(error_body(message, field), status_code=422))
        else:
            await websocket.close(code=1008, reason=message[:120])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSON:
        said = NOT_JSON if exc.status_code == 400 and exc.detail == _UNREADABLE else exc.detail
        return JSON(error_body(str(said)), status_code=exc.status_code, headers=exc.headers)

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
