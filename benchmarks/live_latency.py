"""Live latency: 1,000 live walks, each followed by its companion over WebSocket; each walk's
phone posts a fix every 5 s, the walks' fixes spread evenly (200 fixes/s in all) for ~60 s.
Measured: the time from a fix's POST being answered to its companion receiving it.

Three processes besides the service, so no client starves another on one event loop:
  - the service: `walkwithme serve` (a subprocess);
  - the companions (benchmarks/companions.py): 1,000 WebSockets, stamping each fix message the
    moment the websockets library hands its frame over, before parsing;
  - the phones (this module with --sender): httpx2 over a pool of keep-alive connections,
    each POST sent on schedule and stamped the moment its answer has been read.
Stamps are time.monotonic_ns(), i.e. CLOCK_MONOTONIC, one clock for every process of the
machine. A fix is matched to its message by (walk id, t). The people and walks are made with
the project's use cases straight into the data folder before the service starts (see
common.make_cast): a thousand CLI processes or HTTP sign-ups would only slow the set-up down.

The difference can be negative: the commit rings the walk's doorbell before it answers the
POST, so a companion may hear of a fix before the phone has read its answer.

Aim: p99 < 20 ms.

Several processes (issue 14): with `--database-url` (PostgreSQL, in a schema of its own made
for the run) and `--processes N`, N `walkwithme serve` processes share the database; the phones
post to the first and the companions listen on the last, so every fix crosses from one process
to another through the doorbell across processes (store/pg_bell.py). Aim: p99 < 50 ms.

    .venv/bin/python -m benchmarks.live_latency [--walks 1000] [--seconds 60]
    .venv/bin/python -m benchmarks.live_latency --processes 2 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

from benchmarks.common import (
    HOME,
    HOST,
    ROOT,
    START,
    Companions,
    CpuMeter,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    make_cast,
    median,
    own_schema,
    percentile,
    print_machine,
    read_cast,
    running,
    scratch,
    serve_args,
    serve_command,
    server_env,
    start_py_spy,
    summarize_profile,
    verdict,
    write_cast,
)
from benchmarks.gc_log import summarize as summarize_gc

AIM_P99_MS = 20.0
AIM_ACROSS_P99_MS = 50.0  # posted to one process, seen on another


# -- the phones (a process of their own) --------------------------------------------------------


async def send_all(args: argparse.Namespace) -> dict[str, Any]:
    cast = read_cast(Path(args.cast))
    walks = len(cast)
    total = int(args.seconds / args.interval * walks)
    gap_s = args.interval / walks
    records: list[list[Any]] = []
    late_ms: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    limits = httpx2.Limits(
        max_connections=args.connections,
        max_keepalive_connections=args.connections,
        keepalive_expiry=2.0,  # under uvicorn's 5 s, so the server never closes one mid-request
    )
    async with httpx2.AsyncClient(
        base_url=f"http://{HOST}:{args.port}", limits=limits, timeout=30.0, trust_env=False
    ) as client:

        async def post(n: int) -> None:
            walker = cast[n % walks]
            fraction = min(0.5, 0.01 * (n // walks))  # a few metres further each time
            fix = {
                "t": time.time_ns() // 1_000_000,
                "lat": START[0] + (HOME[0] - START[0]) * fraction,
                "lon": START[1] + (HOME[1] - START[1]) * fraction,
                "accuracy": 8,
                "battery": 80,
            }
            sent = time.monotonic_ns()
            try:
                answer = await client.post(
                    "/api/fixes",
                    json=fix,
                    headers={"Authorization": f"Bearer {walker.device_token}"},
                )
                answered = time.monotonic_ns()
                status = (
                    answer.json()["results"][0]["status"]
                    if answer.status_code == 200
                    else f"http {answer.status_code}"
                )
            except httpx2.HTTPError as exc:
                answered, status = time.monotonic_ns(), f"error {type(exc).__name__}"
            records.append([walker.walk_id, fix["t"], sent, answered, status])

        began = time.monotonic()
        for n in range(total):
            due = began + n * gap_s
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late_ms.append(-delay * 1000)
            task = asyncio.create_task(post(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=60)
    return {
        "records": records,
        "late_ms": late_ms,
        "seconds": time.monotonic() - began,
        "cpu_seconds": time.process_time(),
    }


def sender_main(args: argparse.Namespace) -> None:
    sent = asyncio.run(send_all(args))
    Path(args.out).write_text(json.dumps(sent))
    sys.stdout.write(
        "SENT "
        + json.dumps(
            {
                "fixes": len(sent["records"]),
                "seconds": sent["seconds"],
                "cpu_seconds": sent["cpu_seconds"],
            }
        )
        + "\n"
    )


# -- the run ----------------------------------------------------------------------------------


class Sampler:
    """Once a second, from a thread: the service's CPU time and the whole machine's, so each
    window of the run can say whether the service or something else had the cores."""

    def __init__(self, pid: int, max_seconds: float) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float, float]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(max_seconds,), daemon=True)
        self.thread.start()

    def _run(self, max_seconds: float) -> None:
        for _ in range(int(max_seconds) + 1):
            self.samples.append((time.monotonic(), cpu_seconds(self.pid), machine_busy_seconds()))
            if self.done.wait(1.0):
                return

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def cores(self, since: float, until: float) -> tuple[float, float]:
        inside = [s for s in self.samples if since <= s[0] <= until]
        if len(inside) < 2:
            return float("nan"), float("nan")
        span = inside[-1][0] - inside[0][0]
        return (
            (inside[-1][1] - inside[0][1]) / span,
            (inside[-1][2] - inside[0][2]) / span,
        )


def figures(name: str, values_ms: list[float]) -> str:
    return (
        f"{name:<44} p50 {percentile(values_ms, 50):7.2f} ms  p99 {percentile(values_ms, 99):7.2f}"
        f" ms  max {max(values_ms, default=float('nan')):7.2f} ms"
    )


def run(args: argparse.Namespace) -> None:
    with own_schema(args.database_url) as database_url:
        run_on(args, database_url)


def run_on(args: argparse.Namespace, database_url: str | None) -> None:
    walks = max(1, min(args.walks, 5000))
    seconds = max(5.0, min(args.seconds, 240.0))
    print_machine("live latency: a fix's POST answered -> its companion has it")
    print(
        f"plan: {walks} live walks, a companion on each over WebSocket, a fix every "
        f"{args.interval:g} s a walk ({walks / args.interval:.0f} fixes/s in all) for "
        f"{seconds:g} s; phones share {args.connections} keep-alive connections; "
        f"log level {args.log_level}"
    )
    processes = max(1, args.processes)
    if processes > 1 and not database_url:
        raise SystemExit("several processes need PostgreSQL: give --database-url")
    print(
        f"database: {'PostgreSQL' if database_url else 'SQLite'}; {processes} serve "
        + (
            "process"
            if processes == 1
            else "processes: phones post to the first, companions listen on the last"
        )
    )
    profile = ""
    gc_pauses = ""
    with scratch("wwm-live-", args.keep) as tmp:
        began = time.monotonic()
        cast = make_cast(tmp / "data", walks, database_url=database_url)
        write_cast(tmp / "cast.json", cast)
        took = time.monotonic() - began
        print(f"set-up: {walks} walkers, walks and companions in {took:.1f} s")
        ports = [free_port() for _ in range(processes)]
        port = ports[0]
        command = serve_command(tmp / "data", port)
        if args.gc_log:  # the same service, with its garbage collector's pauses logged
            command = [
                sys.executable,
                "-m",
                "benchmarks.gc_log",
                str(tmp / "gc.log"),
                *serve_args(tmp / "data", port),
            ]
        env = server_env(args.log_level)
        if database_url:
            env["WWM_DATABASE_URL"] = database_url
        with (
            contextlib.ExitStack() as others,
            running(command, port, tmp / "service.log", env) as server,
        ):
            for n, other in enumerate(ports[1:], start=2):
                others.enter_context(
                    running(
                        serve_command(tmp / f"data{n}", other), other, tmp / f"service{n}.log", env
                    )
                )
            companions = Companions(ports[-1], tmp / "cast.json", tmp / "arrivals.json")
            try:
                ready = companions.wait_ready()
                print(
                    f"companions: {ready['connected']} WebSockets open in {ready['seconds']:.1f} s"
                )
                sender = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.live_latency",
                        "--sender",
                        "--port",
                        str(port),
                        "--cast",
                        str(tmp / "cast.json"),
                        "--out",
                        str(tmp / "sent.json"),
                        "--seconds",
                        str(seconds),
                        "--interval",
                        str(args.interval),
                        "--connections",
                        str(args.connections),
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                meter = CpuMeter(server.pid)
                meter.start()
                sampler = Sampler(server.pid, seconds + 120)
                companions_before = cpu_seconds(companions.proc.pid)
                sending = time.monotonic()
                spy = None
                if args.profile:
                    time.sleep(min(10.0, seconds / 4))
                    spy = start_py_spy(server.pid, min(20.0, seconds / 2), args.profile)
                out, _ = sender.communicate(timeout=seconds + 120)
                sampler.stop()
                elapsed = time.monotonic() - sending
                if args.gc_log:
                    gc_pauses = summarize_gc(tmp / "gc.log", sending, sending + elapsed)
                cpu_server = meter.read()
                cpu_companions = (cpu_seconds(companions.proc.pid) - companions_before) / elapsed
                said = json.loads(out.strip().removeprefix("SENT "))
                print(
                    f"sent {said['fixes']} fixes in {said['seconds']:.1f} s; meanwhile:\n  "
                    f"{CpuMeter.describe(cpu_server)}\n  companions' process "
                    f"{cpu_companions:.2f} cores, phones' process "
                    f"{said['cpu_seconds'] / elapsed:.2f} cores"
                )
                if spy is not None:
                    spy.wait(timeout=60)
                    profile = summarize_profile(args.profile)
                time.sleep(2.0)  # the last fixes' messages
            finally:
                final = companions.stop()
        sent = json.loads((tmp / "sent.json").read_text())
        arrivals = {
            (walk, t): ns for walk, t, ns in json.loads((tmp / "arrivals.json").read_text())
        }

    records = sent["records"]
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record[4]] = statuses.get(record[4], 0) + 1
    answered_to_seen: list[float] = []
    sent_to_seen: list[float] = []
    round_trip: list[float] = [(r[3] - r[2]) / 1e6 for r in records]
    missing = 0
    for walk, t, sent_ns, answered_ns, status in records:
        if status != "accepted":
            continue
        seen = arrivals.get((walk, t))
        if seen is None:
            missing += 1
            continue
        answered_to_seen.append((seen - answered_ns) / 1e6)
        sent_to_seen.append((seen - sent_ns) / 1e6)
    late = sent["late_ms"]
    print(
        f"fixes posted: {len(records)}  answers: {statuses}  seen by companions: "
        f"{len(answered_to_seen)}  never seen: {missing}  streams closed early: "
        f"{final.get('closed_early', '?')}\ntimeline events the companions saw after the first: "
        f"{final.get('events', {})}"
    )
    print(
        f"phones' schedule: {len(late)} sends started late, by at most "
        f"{max(late, default=0.0):.1f} ms (median {median(late) if late else 0.0:.1f} ms)"
    )
    print("\n== results")
    print(figures("POST answered -> companion has it", answered_to_seen))
    print(
        f"{'':<44} min {min(answered_to_seen, default=float('nan')):7.2f} ms  "
        f"negative (seen before answered): {sum(1 for x in answered_to_seen if x < 0)}"
    )
    print(figures("POST sent -> companion has it", sent_to_seen))
    print(figures("POST round trip (phone's view)", round_trip))
    print(
        "\nby 10 s of the run (POST answered -> companion has it; POST round trip; cores used "
        f"by the service and by the whole machine of {os.cpu_count()}):"
    )
    first = min((r[2] for r in records), default=0)
    windows: dict[int, tuple[list[float], list[float]]] = {}
    for walk, t, sent_ns, answered_ns, status in records:
        window = windows.setdefault(int((sent_ns - first) / 1e10), ([], []))
        window[1].append((answered_ns - sent_ns) / 1e6)
        seen = arrivals.get((walk, t))
        if status == "accepted" and seen is not None:
            window[0].append((seen - answered_ns) / 1e6)
    for index, (seen_ms, trip_ms) in sorted(windows.items()):
        start_s = first / 1e9 + 10 * index
        service_cores, machine_cores = sampler.cores(start_s, start_s + 10)
        print(
            f"  {10 * index:3d}-{10 * index + 10:<3d} s: p50 {percentile(seen_ms, 50):6.2f} "
            f"p99 {percentile(seen_ms, 99):7.2f} max {max(seen_ms, default=float('nan')):7.2f} "
            f"ms;  round trip p50 {percentile(trip_ms, 50):6.2f} p99 "
            f"{percentile(trip_ms, 99):7.2f} ms;  service {service_cores:.2f}, "
            f"machine {machine_cores:.2f}"
        )
    p99 = percentile(answered_to_seen, 99)
    aim = AIM_P99_MS if processes == 1 else AIM_ACROSS_P99_MS
    print(f"\naim: p99 < {aim:g} ms -> {verdict(p99 < aim)} (p99 {p99:.2f} ms)")
    if gc_pauses:
        print(f"\nthe service's garbage collector while the fixes were sent: {gc_pauses}")
    if profile:
        print(f"\n== where the service spends its time (py-spy)\n{profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--walks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long fixes are sent")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between a walk's fixes"
    )
    parser.add_argument("--connections", type=int, default=64, help="the phones' HTTP pool")
    parser.add_argument("--log-level", default="info", help="WWM_LOG_LEVEL for the service")
    parser.add_argument(
        "--database-url", help="PostgreSQL to run on (a schema of its own); default: SQLite"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="serve processes on the one database"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--profile", type=Path, help="profile the service with py-spy meanwhile")
    parser.add_argument(
        "--gc-log", action="store_true", help="log the service's GC pauses (benchmarks/gc_log.py)"
    )
    # The phones' process (started by the run itself).
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", help=argparse.SUPPRESS)
    parser.add_argument("--cast", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        sender_main(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
