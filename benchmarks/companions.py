"""The companions, in a process of their own: one WebSocket per walk at /api/walks/{id}/live.

Run by the benchmarks (see common.Companions), not by hand. It connects every companion of the
cast (a bounded number at a time), waits for each stream's first message, prints
`READY {...}`, then only reads. Each fix message is stamped with time.monotonic_ns() the moment
its frame is handed to us, before it is parsed; CLOCK_MONOTONIC is one clock for every process
of the machine, so the stamps compare with the sender's.

Commands on standard input, one a line: `count` prints `COUNT {...}`; `stop` (or end of input)
disconnects everybody, writes --out (fix arrival times) if asked, and prints `DONE {...}`.
The process also stops by itself after --max-seconds.

Each connects as the pages' live client does (`?together=true`): fixes that land at once come
in one "fixes" message; each fix in it is counted and stamped with the message's arrival.

--after-fix FILE (a JSON object, walk id -> the walk's last fix number) connects each companion
as one resuming from there (`?after_fix=N`), so a companion joining a walk with a long track
does not catch up on it while the load runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.common import Walker, read_cast

CONNECT_AT_ONCE = 50


@dataclass
class Tally:
    messages: int = 0
    fixes: int = 0
    closed_early: int = 0
    connected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)  # timeline events seen, by kind
    # (walk id, fix time) -> monotonic ns of arrival; only when --out is given.
    arrivals: dict[tuple[int, int], int] = field(default_factory=dict)


async def _open(url: str, walker: Walker, after_fix: int = 0) -> ClientConnection:
    query = "?together=true" + (f"&after_fix={after_fix}" if after_fix else "")
    return await connect(
        f"{url}/api/walks/{walker.walk_id}/live{query}",
        additional_headers={"Authorization": f"Bearer {walker.companion_token}"},
        proxy=None,
        open_timeout=60,
        max_queue=None,
    )


async def _read(ws: ClientConnection, walk_id: int, tally: Tally, record: bool) -> None:
    try:
        async for raw in ws:
            stamp = time.monotonic_ns()
            tally.messages += 1
            message = orjson.loads(raw)
            kind = message.get("type")
            if kind == "fix" or kind == "fixes":
                fixes = message["fixes"] if kind == "fixes" else [message["fix"]]
                tally.fixes += len(fixes)
                if record:
                    for fix in fixes:
                        tally.arrivals.setdefault((walk_id, int(fix["t"])), stamp)
            elif kind == "event":
                event_kind = str(message["event"].get("kind"))
                tally.events[event_kind] = tally.events.get(event_kind, 0) + 1
            elif kind == "closed":
                reason = str(message.get("reason"))
                tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
    except ConnectionClosed:
        pass
    tally.closed_early += 1


async def _first_message(ws: ClientConnection, tally: Tally) -> None:
    raw = await asyncio.wait_for(ws.recv(), 60)
    tally.messages += 1
    if orjson.loads(raw).get("type") != "walk":
        raise RuntimeError(f"unexpected first message: {raw!r}")


def _stdin_lines() -> asyncio.Queue[str]:
    """Standard input's lines, read by a daemon thread ("" at the end of input)."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        while True:
            line = sys.stdin.readline()
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is closed: we are on our way out
                return
            if not line:
                return

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return lines


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _cursors(path: str | None) -> dict[str, int]:
    """--after-fix's walk id -> fix number ({} without it)."""
    if not path:
        return {}
    cursors: dict[str, int] = json.loads(Path(path).read_text())
    return cursors


async def main_async(args: argparse.Namespace) -> Tally:
    cast = read_cast(Path(args.cast))
    after = _cursors(args.after_fix)
    tally = Tally()
    record = args.out is not None
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    started = time.monotonic()

    async def join(walker: Walker) -> None:
        async with gate:
            ws = await _open(args.url, walker, after.get(str(walker.walk_id), 0))
            sockets.append(ws)
            await _first_message(ws, tally)
        readers.append(asyncio.create_task(_read(ws, walker.walk_id, tally, record)))

    try:
        await asyncio.wait_for(asyncio.gather(*(join(w) for w in cast)), args.max_seconds)
        _say(
            "READY "
            + json.dumps({"connected": len(sockets), "seconds": time.monotonic() - started})
        )
        commands = _stdin_lines()
        deadline = started + args.max_seconds
        while time.monotonic() < deadline:
            try:
                line = await asyncio.wait_for(commands.get(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            command = line.strip()
            if command == "count":
                _say("COUNT " + json.dumps(_summary(tally, len(sockets))))
            elif command == "stop" or not line:
                break
    finally:
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    tally.connected = len(sockets)
    return tally


def _summary(tally: Tally, connected: int) -> dict[str, object]:
    return {
        "connected": connected,
        "messages": tally.messages,
        "fixes": tally.fixes,
        "closed_early": tally.closed_early,
        "reasons": tally.reasons,
        "events": tally.events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT")
    parser.add_argument("--cast", required=True, help="JSON file written by common.write_cast")
    parser.add_argument("--out", help="write fix arrival times here (JSON)")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--after-fix", help="JSON: walk id -> the fix number to resume after")
    args = parser.parse_args()
    if not args.url.startswith("ws://127.0.0.1:"):
        raise SystemExit("companions connect to 127.0.0.1 only")
    tally = asyncio.run(main_async(args))
    if args.out:
        Path(args.out).write_text(
            json.dumps([[walk, t, ns] for (walk, t), ns in tally.arrivals.items()])
        )
    _say("DONE " + json.dumps(_summary(tally, tally.connected)))


if __name__ == "__main__":
    main()
