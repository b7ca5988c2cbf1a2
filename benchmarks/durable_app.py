"""The ingest benchmark's second reference: a minimal Starlette app with the service's
durability, and nothing else the service does (issue 14's "minimal durable app").

Per request: the bearer token checked (its SHA-256 looked up in memory), the JSON parsed with
the same parser, the fixes handed to one writer thread that group-commits into SQLite in WAL
mode with `synchronous=FULL` (an fsync a group, as the service's writer), and the answer sent
only once its group is committed. No walk, no rules, no fan-out. Served as the service and
the bare app are (the same uvicorn settings and logging).

    .venv/bin/python -m benchmarks.durable_app --port 8002 --tokens TOKENS_FILE --db FILE
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benchmarks.bare_app import serve_as_the_service

GROUP = 500  # at most, as the service's writer (store/writer.py)


class JSON(JSONResponse):
    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


class Writer:
    """One thread; every waiting job in one transaction, one commit, then the answers."""

    def __init__(self, path: Path) -> None:
        self.jobs: queue.SimpleQueue[tuple[int, list[tuple[Any, ...]], Any, Any]] = (
            queue.SimpleQueue()
        )
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS fixes (id INTEGER PRIMARY KEY, device INTEGER, t INTEGER,"
            " lat REAL, lon REAL, accuracy REAL, UNIQUE (device, t))"
        )
        threading.Thread(target=self.run, daemon=True).start()

    def run(self) -> None:
        while True:
            group = [self.jobs.get()]
            while len(group) < GROUP:
                try:
                    group.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            self.conn.execute("BEGIN IMMEDIATE")
            for device, rows, _loop, _future in group:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO fixes (device, t, lat, lon, accuracy)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(device, *row) for row in rows],
                )
            self.conn.execute("COMMIT")
            for _device, rows, loop, future in group:
                loop.call_soon_threadsafe(_settle, future, len(rows))

    async def write(self, device: int, rows: list[tuple[Any, ...]]) -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.jobs.put((device, rows, loop, future))
        return await future


def _settle(future: asyncio.Future[int], count: int) -> None:
    if not future.done():
        future.set_result(count)


def create_durable_app(tokens: Path, db: Path) -> Starlette:
    devices = {
        hashlib.sha256(line.strip().encode()).hexdigest(): n
        for n, line in enumerate(tokens.read_text().splitlines())
        if line.strip()
    }
    writer = Writer(db)

    async def post_fixes(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        device = devices.get(hashlib.sha256(auth.removeprefix("Bearer ").encode()).hexdigest())
        if device is None:
            return JSON({"error": "unknown token"}, status_code=401)
        payload = orjson.loads(await request.body())
        items = payload["fixes"] if isinstance(payload, dict) and "fixes" in payload else [payload]
        rows = [(i["t"], i["lat"], i["lon"], i.get("accuracy")) for i in items]
        await writer.write(device, rows)
        return JSON({"results": [{"index": i, "status": "accepted"} for i in range(len(rows))]})

    async def healthz(_request: Request) -> Response:
        return JSON({"ok": True})

    return Starlette(
        routes=[Route("/api/fixes", post_fixes, methods=["POST"]), Route("/healthz", healthz)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--tokens", type=Path, required=True, help="device tokens, one a line")
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file to write")
    parser.add_argument(
        "--log-level", default=os.environ.get("WWM_LOG_LEVEL", "info"), help="as WWM_LOG_LEVEL"
    )
    args = parser.parse_args()
    app = create_durable_app(args.tokens, args.db)
    serve_as_the_service(app, args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
