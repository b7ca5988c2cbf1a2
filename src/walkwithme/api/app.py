"""The ASGI application: routers, error handling, and the parts' start and stop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from walkwithme import __version__, web
from walkwithme.api import (
    accounts,
    answer,
    channels,
    contacts,
    devices,
    drill,
    exports,
    live,
    metrics,
    offers,
    people,
    phones,
    places,
    privacy,
    push,
    shares,
    walks,
)
from walkwithme.api.auth import ServicesDep, sees_operations
from walkwithme.api.body_limit import BodyLimit
from walkwithme.api.errors import install as install_error_handlers
from walkwithme.api.fixes_door import PATH as FIXES_PATH
from walkwithme.api.fixes_door import FixesDoor, FixesFirst
from walkwithme.api.responses import JSON
from walkwithme.services import Services
from walkwithme.store.database import StorageUnavailable
from walkwithme.store.health import takes_writes
from walkwithme.usecases import outbox
from walkwithme.web.headers import SecurityHeaders


class ClockNotice:
    """On a fast clock, every response says so: nobody should mistake a drill for real time."""

    def __init__(self, app: ASGIApp, speed: float) -> None:
        self.app = app
        self.header = (b"x-walkwithme-clock", f"{speed:g}x real time (fast clock)".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_notice(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_notice)


def create_app(services: Services, *, manage: bool = True) -> FastAPI:
    """`manage`: start the writer with the app and stop it after (off when a test owns them)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage:
            services.start(asyncio.get_running_loop())
            # Everything made at start-up lives as long as the process: keep it out of the
            # collector's full passes, which otherwise stall every request now and then.
            gc.freeze()
        try:
            yield
        finally:
            if manage:
                await services.stop()

    app = FastAPI(
        title="Walk With Me",
        version=__version__,
        summary="Walks people home: live walks shared with trusted companions.",
        default_response_class=JSON,
        lifespan=lifespan,
        # No OpenTelemetry here: off, FastAPI no longer asks the environment on every request
        # whether a tracer was configured since.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # /docs is served by the pages, offline (web/docs.py); ReDoc only loads from a CDN.
        docs_url=None,
        redoc_url=None,
        # Its redirect wrote the request's Host header into the address (web/lost.py).
        redirect_slashes=False,
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (
        accounts,
        contacts,
        places,
        devices,
        channels,
        push,
        walks,
        exports,
        offers,
        shares,
        live,
        metrics,
        answer,
        phones,
        privacy,
        people,
    ):
        app.include_router(module.router)
    # The clock's jump exists in demo and drill mode only, and is documented only there.
    app.include_router(drill.router, include_in_schema=services.jumping_clock is not None)
    # POST /api/fixes is answered in front of the framework (`FixesFirst`, below); the route
    # is for its place in the API's document, and a 405 to any other method.
    door = FixesDoor(services)
    app.router.routes.insert(0, Route(FIXES_PATH, door, methods=["POST"]))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema["paths"][FIXES_PATH] = devices.FIXES_OPENAPI
            app.openapi_schema = with_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["service"])
    async def healthz(request: Request, svc: ServicesDep) -> JSON:
        watchdog = svc.watchdog
        storage = await takes_writes(svc.writer)
        if not sees_operations(request):
            # Up or not, for any monitor; the counts are for the operator (auth.py).
            ok = storage and not watchdog.stuck()
            return JSON({"ok": ok, "version": __version__}, status_code=200 if ok else 503)
        backlog: int | None = None
        broken: int | None = None
        undelivered: int | None = None
        try:
            backlog, broken, undelivered = await svc.db.read(
                lambda c: (
                    outbox.backlog(c),
                    outbox.broken_channels(c),
                    outbox.undelivered_alarms(c).waiting,
                )
            )
        except StorageUnavailable:  # it can't be read either: said below, not a bare 503
            storage = False
        body = {
            "ok": storage and not watchdog.stuck(),
            "version": __version__,
            # Whether the database takes writes; since when it has refused them, if it has.
            "storage": {"writes": storage, "failing_since": svc.writer.failing_since},
            "clock_speed": svc.clock.speed,
            "now": svc.clock.now_ms(),
            "watchdog": {
                "last_look": watchdog.last_beat_ms,
                "decided": watchdog.decided,
                "failures": watchdog.failures,
            },
            "heartbeat": None
            if svc.heartbeat is None
            else {
                "last_sent": svc.heartbeat.last_sent_ms,
                "sent": svc.heartbeat.sent,
                "failures": svc.heartbeat.failures,
                "failing": svc.heartbeat.failing,
                "last_problem": svc.heartbeat.last_problem,
            },
            # OwnTracks over MQTT: whether the broker is reachable (phones' messages wait
            # on the broker meanwhile, so this is a warning, not a failure of the service).
            "mqtt": None
            if svc.mqtt is None
            else {"connected": svc.mqtt.connected, "taken": svc.mqtt.taken},
            "outbox": {
                "backlog": backlog,
                "sent": svc.notifier.sent,
                "failed": svc.notifier.failed,
                "broken_channels": broken,
                # Alarms' deliveries that failed and wait to be tried again: someone may be
                # in danger and not heard (walkwithme check says why).
                "undelivered_alarms": undelivered,
            },
        }
        return JSON(body, status_code=200 if body["ok"] else 503)

    web.install(app, services)
    app.add_middleware(BodyLimit)
    _outermost(app, services, door)
    return app


# Every error the API gives has one shape (api/errors.py); any door may answer these.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, in words"},
        "field": {"type": "string", "description": "the field it is about, if one"},
    },
}
ERRORS = {
    "400": "malformed: the body can't be read as this door's JSON",
    "401": "not signed in, or the token is not valid",
    "403": "signed in, but not allowed (or a cookie request from another origin)",
    "404": "not there, or not yours to see (answered alike)",
    "409": "it clashes with how things stand now (`error` says how)",
    "413": "the body is larger than this door takes (refused as it streams in)",
    "422": "a value is missing, malformed or out of range: `field` names it",
    "429": "too many attempts: try again after `Retry-After` seconds",
    "503": "storage unavailable: try again after `Retry-After` seconds, nothing was kept",
}


def with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The document made true to what the service answers: every operation's error answers,
    with the one error body (FastAPI's own 422 shape is never what is sent)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                said = responses.get(code, {}).get("description")
                responses[code] = {"description": said or description, "content": error}
    return schema


def _outermost(app: FastAPI, services: Services, door: FixesDoor) -> None:
    """Outside Starlette's own outermost layer (the one that answers an unhandled error), from
    the outside in: the security headers on every answer, even those given before the app is
    reached (a body refused as it streams in) or after it failed (an internal error's 500);
    on a fast clock, the notice that says so; then the fixes' door in front of the rest."""
    build = app.build_middleware_stack
    speed = services.clock.speed

    def build_outermost() -> ASGIApp:
        inner: ASGIApp = FixesFirst(build(), door)
        if speed != 1.0:
            inner = ClockNotice(inner, speed=speed)
        return SecurityHeaders(inner, tiles_url=services.config.tiles_url)

    app.build_middleware_stack = build_outermost  # type: ignore[method-assign]
