"""Every failure becomes one clear JSON answer: {"error": "...", "field": "..."}.

Bad input is a 4xx naming what is wrong; a storage fault is a 503 that tells a phone to retry;
anything unexpected is logged here and answered with a bare 500, never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from walkwithme.api.responses import JSON
from walkwithme.domain.errors import DomainError, TooSoon
from walkwithme.store.writer import StorageUnavailable

log = logging.getLogger(__name__)

# A storage fault: nothing was kept; a phone sends again after this many seconds.
STORAGE_UNAVAILABLE = "the server can't store this right now; try again"
STORAGE_RETRY_AFTER_S = 5


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return body


def _describe(errors: list[Any]) -> tuple[str, str | None]:
    first = errors[0]
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
        return JSON(error_body(message, field), status_code=422)

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
