"""The ingest benchmark's reference: a bare Starlette app that takes the same POST /api/fixes
body, parses the same JSON with the same parser, and answers in the same shape, but does
nothing else (no authentication, no validation, no database, no walk, no fan-out).

It is served exactly as `walkwithme serve` serves the real service (src/walkwithme/cli.py):
the same uvicorn.Config settings (so the same loop and HTTP parser, uvloop and httptools where
installed), the same logging set-up and level (uvicorn's access log included), one process.

    .venv/bin/python -m benchmarks.bare_app --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import os

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from walkwithme.logs import setup_logging


class JSON(JSONResponse):
    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


async def post_fixes(request: Request) -> Response:
    payload = orjson.loads(await request.body())
    items = payload["fixes"] if isinstance(payload, dict) and "fixes" in payload else [payload]
    return JSON({"results": [{"index": i, "status": "accepted"} for i in range(len(items))]})


async def healthz(_request: Request) -> Response:
    return JSON({"ok": True})


def create_bare_app() -> Starlette:
    return Starlette(
        routes=[Route("/api/fixes", post_fixes, methods=["POST"]), Route("/healthz", healthz)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--log-level", default=os.environ.get("WWM_LOG_LEVEL", "info"), help="as WWM_LOG_LEVEL"
    )
    args = parser.parse_args()
    serve_as_the_service(create_bare_app(), args.host, args.port, args.log_level)


def serve_as_the_service(app: Starlette, host: str, port: int, log_level: str) -> None:
    """Serve a reference app as `walkwithme serve` serves the service (cli.serve): the same
    logging and uvicorn settings; keep the two in step."""
    setup_logging(log_level)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            ws_ping_interval=20,
            timeout_graceful_shutdown=10,
        )
    )
    asyncio.run(server.serve())


if __name__ == "__main__":
    main()
