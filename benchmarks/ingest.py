"""Single-fix ingest: POST /api/fixes with one fix a request, at 1 and 64 connections (wrk).

(a) the real service, `walkwithme serve` as a subprocess, with a live walk per walker and each
walk's companion connected over WebSocket (in a process of its own): everything a fix does,
i.e. device auth, validation, the durable group commit, the walk's state, the live fan-out;
(b) the bare app (benchmarks/bare_app.py): the same uvicorn settings, the same JSON parsed and
an answer of the same shape, nothing else;
(c) the minimal durable app (benchmarks/durable_app.py): the bare app plus a bearer check and
one writer thread group-committing into SQLite WAL with synchronous=FULL: the service's
durability and nothing else.

All three run side by side, in turn, in every round (this machine's speed drifts); figures are
medians over the rounds. Aims: the service at >= 40% of the durable app's requests/s at 64
connections and >= 60% at 1, p99 < 50 ms (issue 14); the bare app is the ceiling.

    .venv/bin/python -m benchmarks.ingest [--seconds 8] [--rounds 3] [--profile FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import (
    HOST,
    Companions,
    Target,
    WrkResult,
    bare_command,
    describe,
    durable_command,
    free_port,
    make_cast,
    median,
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

AIM_RATIO = {1: 0.60, 64: 0.40}  # of the durable app's rate, by connections (else 0.40)
AIM_P99_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--walkers", type=int, default=64, help="walkers (devices, walks)")
    parser.add_argument("--connections", default="1,64", help="comma-separated levels")
    parser.add_argument("--log-level", default="info", help="WWM_LOG_LEVEL for both servers")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--profile",
        type=Path,
        help="after the rounds, profile the service with py-spy during one more run at the "
        "highest level; write the collapsed stacks here and print the busiest functions",
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]
    rounds = max(1, min(args.rounds, 20))
    seconds = max(1.0, min(args.seconds, 60.0))

    print_machine("single-fix ingest: the service vs a minimal durable app and a bare app")
    print(
        f"plan: {rounds} rounds x connections {levels} x (service, durable, bare), "
        f"{seconds:g} s each, "
        f"{args.walkers} walkers each on a live walk with a companion connected, "
        f"log level {args.log_level}"
    )
    results: dict[tuple[str, int], list[WrkResult]] = {}
    profile = ""
    with scratch("wwm-ingest-", args.keep) as tmp:
        began = time.monotonic()
        cast = make_cast(tmp / "data", args.walkers)
        write_cast(tmp / "cast.json", cast)
        write_tokens(tmp / "tokens.txt", cast)
        print(
            f"set-up: {len(cast)} walkers, walks and companions in {time.monotonic() - began:.1f} s"
        )
        svc_port, bare_port, durable_port = free_port(), free_port(), free_port()
        env = server_env(args.log_level)
        service = Target("service", f"http://{HOST}:{svc_port}", tmp / "tokens.txt")
        bare = Target("bare", f"http://{HOST}:{bare_port}", tmp / "tokens.txt")
        durable = Target("durable", f"http://{HOST}:{durable_port}", tmp / "tokens.txt")
        durable_cmd = durable_command(durable_port, tmp / "tokens.txt", tmp / "durable.db")
        with (
            running(
                serve_command(tmp / "data", svc_port), svc_port, tmp / "service.log", env
            ) as server,
            running(bare_command(bare_port), bare_port, tmp / "bare.log", env) as bare_server,
            running(durable_cmd, durable_port, tmp / "durable.log", env) as durable_server,
        ):
            service.pid, bare.pid = server.pid, bare_server.pid
            durable.pid = durable_server.pid
            companions = Companions(svc_port, tmp / "cast.json")
            try:
                ready = companions.wait_ready()
                print(
                    f"companions: {ready['connected']} WebSockets open in {ready['seconds']:.1f} s"
                )
                sides = (service, durable, bare)
                for side in sides:  # warm up all three, figures discarded
                    side.run(connections=max(levels), seconds=2, batch=0)
                warm = companions.count()["fixes"]
                for number in range(rounds):
                    print(f"-- round {number + 1}")
                    for connections in levels:
                        turn = number % len(sides)
                        for side in sides[turn:] + sides[:turn]:
                            result = side.run(connections=connections, seconds=seconds, batch=0)
                            results.setdefault((side.name, connections), []).append(result)
                            print(f"{side.name:>8} c={connections:<3} {describe(result)}")
                time.sleep(1.0)
                counted = companions.count()["fixes"] - warm
                if args.profile:
                    service.pid = None  # py-spy can't name threads while it records
                    spy = start_py_spy(server.pid, seconds, args.profile)
                    profiled = service.run(connections=max(levels), seconds=seconds, batch=0)
                    if spy is not None:
                        spy.wait(timeout=seconds + 60)
                        profile = summarize_profile(args.profile)
                    print(f"profiled c={max(levels)} {describe(profiled)}")
            finally:
                final = companions.stop()
    accepted = sum(
        r.accepted for (name, _), runs in results.items() if name == "service" for r in runs
    )
    print(
        f"fan-out check: the companions received {counted} fix messages over WebSocket for the "
        f"{accepted} fixes the measured runs had accepted; streams closed early: "
        f"{final.get('closed_early', '?')}; timeline events they saw after the first: "
        f"{final.get('events', {})}"
    )

    print("\n== medians over rounds")
    print(f"{'':8} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for connections in levels:
        for name in ("service", "durable", "bare"):
            runs = results[(name, connections)]
            print(
                f"{name:>8} {connections:>5} {median([r.rps for r in runs]):9.0f} "
                f"{median([r.p50_ms for r in runs]):8.2f} {median([r.p99_ms for r in runs]):8.2f}"
            )
    print("\n== against the aims (service vs the durable app's req/s; p99 < 50 ms)")
    for connections in levels:
        svc_runs = results[("service", connections)]
        aim = AIM_RATIO.get(connections, 0.40)
        for reference in ("durable", "bare"):
            ref_runs = results[(reference, connections)]
            ratios = [s.rps / b.rps for s, b in zip(svc_runs, ref_runs, strict=True) if b.rps]
            ratio = median(ratios)
            judged = f"-> {verdict(ratio >= aim)} (aim {aim:.0%})" if reference == "durable" else ""
            print(
                f"c={connections:<3} service/{reference} = {ratio:6.1%} (per round: "
                f"{', '.join(f'{x:.1%}' for x in ratios)}) {judged}"
            )
        p99 = median([r.p99_ms for r in svc_runs])
        print(f"c={connections:<3} service p99 {p99:.2f} ms -> {verdict(p99 < AIM_P99_MS)}")
    bad = [
        r
        for (name, _), runs in results.items()
        if name == "service"
        for r in runs
        if r.other or r.bad_status or r.socket_errors
    ]
    if bad:
        print(f"WARNING: {len(bad)} service runs had fixes not accepted or errors (see above)")
    if profile:
        print(f"\n== where the service spends its time (py-spy, c={max(levels)})\n{profile}")


if __name__ == "__main__":
    main()
