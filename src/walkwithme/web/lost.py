"""A browser that asks for an address with nothing at it gets a page, not the API's JSON.

A link cut short by a mail app (`/api/share/`, `/answer/`), a mistyped address or a walk's
number that isn't one (`/walks/abc`) showed `{"error": "Not Found"}`, laid out for a desktop.
A browser's navigation (a GET that asks for text/html first) now gets "Nothing here"; a
watcher's link cut short, "This link has expired"; her own "Are you OK?" link cut short, "This
link is not whole" and a way to her walk. Everything else is answered by the API's own
handlers (api/errors.py), as before.

An address typed with a `/` at the end (`/walks/new/`) is sent on to the same address without
it, by a relative redirect: Starlette's own (off: api/app.py) wrote the request's `Host`
header into it, which a proxy that passes it on and caches would serve to others (an outside
review). The phone apps' doors answer with a `/` at the end themselves (docs/phones.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from walkwithme.web.link_pages import wants_html
from walkwithme.web.render import pages_of

LINKS = ("/api/share/", "/answer/")  # what an alert's link starts with


def _lost(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and wants_html(request.scope)


def _without_slash(request: Request) -> str | None:
    """Where a GET of an address ending in `/` is sent (None: nowhere): the same path without
    it, never `//elsewhere` (a browser reads that as another site), with the same query."""
    path = request.url.path
    if request.method not in ("GET", "HEAD") or path == "/" or not path.endswith("/"):
        return None
    if path.startswith(LINKS):  # a link cut short: said so (`_page`), not sent on
        return None
    query = request.url.query
    return "/" + path.strip("/") + (f"?{query}" if query else "")


def _page(request: Request) -> Response:
    path = request.url.path
    if not path.startswith(LINKS):
        return pages_of(request).render(request, "nothing.html", status=404)
    answer_cut = path.startswith("/answer/")  # hers: her walk may be live
    return pages_of(request).render(request, "expired.html", status=404, answer_cut=answer_cut)


def install(app: FastAPI) -> None:
    """Wraps the API's handlers of "no such route" (404, 405) and of a path that isn't one
    (422: `/walks/abc`)."""
    api_http = app.exception_handlers[HTTPException]
    api_invalid = app.exception_handlers[RequestValidationError]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        slashless = _without_slash(request) if exc.status_code == 404 else None
        if slashless is not None:
            return RedirectResponse(slashless, status_code=307)
        if exc.status_code in (404, 405) and _lost(request):
            return _page(request)
        return await _answer(api_http(request, exc))

    async def invalid(request: Request, exc: Exception) -> Response:
        if _lost(request):
            return _page(request)
        return await _answer(api_invalid(request, exc))

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


async def _answer(said: Response | Awaitable[Response]) -> Response:
    return await said if inspect.isawaitable(said) else said
