"""Batched ingest: {"fixes": [100 fixes]} a request, fixes/s through the real service, against
raw `executemany` of the same rows into the same schema, side by side in every round.

Service: `walkwithme serve` as a subprocess, several concurrent clients (wrk connections),
each walker on a live walk (fixes are kept only then) whose companion is connected over
WebSocket (--no-companions to leave the fan-out out). Only fixes answered "accepted" count.

Raw: the same SQLite file kind, the same engine set-up from walkwithme.store.database
(WAL, synchronous=FULL, foreign keys, BEGIN IMMEDIATE), the schema migrated by the project, and
`fixes.insert()` with 100 rows (SQLAlchemy Core executemany) in one transaction per batch of
100, i.e. one durable commit per request-sized batch, from one thread (SQLite has one writer).

Figures are medians over rounds. Aim: the service at >= 50% of raw fixes/s.

    .venv/bin/python -m benchmarks.batch_ingest [--seconds 8] [--rounds 3] [--connections 8]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    HOST,
    START,
    Companions,
    Target,
    Walker,
    WrkResult,
    describe,
    free_port,
    make_cast,
    median,
    now_ms,
    print_machine,
    running,
    scratch,
    serve_command,
    server_env,
    start_py_spy,
    summarize_profile,
    verdict,
    write_cast,
    write_tokens,
)
from walkwithme.store.database import Database, sqlite_url
from walkwithme.store.schema import fixes

AIM_RATIO = 0.50
MAX_RAW_BATCHES = 1_000_000


@dataclass(frozen=True)
class RawResult:
    batches: int
    seconds: float

    def fixes_per_s(self, batch: int) -> float:
        return self.batches * batch / self.seconds if self.seconds else 0.0


class Raw:
    """executemany into a database of our own, made and migrated like the service's."""

    def __init__(self, data_dir: Path, cast: list[Walker], batch: int) -> None:
        self.db = Database(sqlite_url(str(data_dir / "walkwithme.db")))
        self.cast = cast
        self.batch = batch
        self.next_t = [now_ms()] * len(cast)
        self.sent = 0

    def rows(self) -> list[dict[str, Any]]:
        k = self.sent % len(self.cast)
        self.sent += 1
        walker, t = self.cast[k], self.next_t[k]
        self.next_t[k] = t + self.batch
        received = now_ms()
        return [
            {
                "walk_id": walker.walk_id,
                "device_id": walker.device_id,
                "taken_at": t + j,
                "lat": START[0],
                "lon": START[1],
                "accuracy_m": 8.0,
                "speed_mps": None,
                "bearing_deg": None,
                "altitude_m": None,
                "battery_pct": 80.0,
                "flag": None,
                "received_at": received,
                "seq": t + j,  # unique in the walk, as the times are (its number in the track)
            }
            for j in range(self.batch)
        ]

    def run(self, seconds: float) -> RawResult:
        engine = self.db.write_engine
        insert = fixes.insert()
        done = 0
        began = time.perf_counter()
        deadline = began + seconds
        while done < MAX_RAW_BATCHES and time.perf_counter() < deadline:
            rows = self.rows()
            with engine.connect() as conn, conn.begin():
                conn.execute(insert, rows)
            done += 1
        return RawResult(done, time.perf_counter() - began)

    def close(self) -> None:
        self.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--walkers", type=int, default=32, help="walkers (devices, walks)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--batch", type=int, default=100, help="fixes a request")
    parser.add_argument(
        "--no-companions", action="store_true", help="no companion connected (no fan-out)"
    )
    parser.add_argument("--log-level", default="info", help="WWM_LOG_LEVEL for the service")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--profile", type=Path, help="profile the service with py-spy during one more run"
    )
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 20))
    seconds = max(1.0, min(args.seconds, 60.0))
    batch = max(1, min(args.batch, 1000))
    connections = max(1, min(args.connections, 256))

    print_machine("batched ingest: the service vs raw executemany")
    print(
        f"plan: {rounds} rounds x (service, raw), {seconds:g} s each; {batch} fixes a request; "
        f"service: {connections} connections, {args.walkers} walkers on live walks, "
        f"companions {'not connected' if args.no_companions else 'connected'}, "
        f"log level {args.log_level}; raw: one transaction per {batch} rows"
    )
    service_runs: list[WrkResult] = []
    raw_runs: list[RawResult] = []
    profile = ""
    with scratch("wwm-batch-", args.keep) as tmp:
        began = time.monotonic()
        cast = make_cast(tmp / "data", args.walkers)
        raw_cast = make_cast(tmp / "raw", args.walkers)
        write_cast(tmp / "cast.json", cast)
        write_tokens(tmp / "tokens.txt", cast)
        took = time.monotonic() - began
        print(f"set-up: 2 x {len(cast)} walkers, walks and companions in {took:.1f} s")
        port = free_port()
        service = Target("service", f"http://{HOST}:{port}", tmp / "tokens.txt")
        raw = Raw(tmp / "raw", raw_cast, batch)
        with running(
            serve_command(tmp / "data", port),
            port,
            tmp / "service.log",
            server_env(args.log_level),
        ) as server:
            service.pid = server.pid
            companions = None if args.no_companions else Companions(port, tmp / "cast.json")
            try:
                if companions is not None:
                    ready = companions.wait_ready()
                    print(f"companions: {ready['connected']} WebSockets open")
                service.run(connections=connections, seconds=2, batch=batch)  # warm-up
                raw.run(1.0)
                for number in range(rounds):
                    print(f"-- round {number + 1}")
                    for side in ("service", "raw") if number % 2 == 0 else ("raw", "service"):
                        if side == "service":
                            result = service.run(
                                connections=connections, seconds=seconds, batch=batch
                            )
                            service_runs.append(result)
                            print(f" service {result.items_per_s:9.0f} fixes/s  {describe(result)}")
                        else:
                            done = raw.run(seconds)
                            raw_runs.append(done)
                            print(
                                f"     raw {done.fixes_per_s(batch):9.0f} fixes/s  "
                                f"({done.batches} transactions of {batch} rows, "
                                f"{1000 * done.seconds / max(1, done.batches):.2f} ms each)"
                            )
                if args.profile:
                    service.pid = None  # py-spy can't name threads while it records
                    spy = start_py_spy(server.pid, seconds, args.profile)
                    profiled = service.run(connections=connections, seconds=seconds, batch=batch)
                    if spy is not None:
                        spy.wait(timeout=seconds + 60)
                        profile = summarize_profile(args.profile)
                    print(f"profiled {profiled.items_per_s:9.0f} fixes/s  {describe(profiled)}")
            finally:
                if companions is not None:
                    final = companions.stop()
                    print(
                        f"companions received {final.get('fixes', '?')} fix messages; "
                        f"streams closed early: {final.get('closed_early', '?')}; timeline "
                        f"events they saw after the first: {final.get('events', {})}"
                    )
                raw.close()

    svc = median([r.items_per_s for r in service_runs])
    ref = median([r.fixes_per_s(batch) for r in raw_runs])
    ratios = [
        s.items_per_s / r.fixes_per_s(batch)
        for s, r in zip(service_runs, raw_runs, strict=True)
        if r.fixes_per_s(batch)
    ]
    print("\n== medians over rounds")
    print(
        f" service {svc:9.0f} fixes/s  ({median([r.rps for r in service_runs]):.0f} req/s, "
        f"p50 {median([r.p50_ms for r in service_runs]):.1f} ms, "
        f"p99 {median([r.p99_ms for r in service_runs]):.1f} ms)"
    )
    print(f"     raw {ref:9.0f} fixes/s")
    print(
        f"service/raw = {median(ratios):.1%} (per round: {', '.join(f'{x:.1%}' for x in ratios)})"
        f"  -> aim >= 50%: {verdict(median(ratios) >= AIM_RATIO)}"
    )
    if any(r.other or r.bad_status or r.socket_errors for r in service_runs):
        print("WARNING: some fixes were not accepted, or requests failed (see above)")
    if profile:
        print(f"\n== where the service spends its time (py-spy)\n{profile}")


if __name__ == "__main__":
    main()
