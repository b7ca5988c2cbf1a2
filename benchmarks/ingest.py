"""Single-fix ingest: POST /api/fixes with one fix a request, at 1 and 64 connections (wrk).

(a) the real service, `walkwithme serve` as a subprocess, with a live walk per walker and each
walk's companion connected over WebSocket (in a process of its own): everything a fix does,
i.e. device auth, validation, the durable group commit, the walk's state, the live fan-out;
(b) the bare app (benchmarks/bare_app.py): the same uvicorn settings, the same JSON parsed and
an answer of the same shape, nothing else;
(c) the minimal durable app (benchmarks/durable_app.py): the bare app plus a bearer check and
one writer thread group-committing into SQLite WAL with synchronous=FULL: the service's
durability and nothing else.

All of them run side by side, in turn, in every round (this machine's speed drifts); figures
are medians over the rounds, and every round is printed. Aims (issue 14): the service at >= 40%
of the durable app's requests/s at 64 connections and >= 60% at 1, p99 < 50 ms; the bare app is
the ceiling.

With --database-url (PostgreSQL; the run makes a schema of its own and drops it afterwards),
(d) the same service on PostgreSQL, with its own walkers and companions, joins the turns.
Aim (issue 14): on PostgreSQL, one process, at least 70% of the SQLite service's requests/s.

With --database-url and --processes N, another comparison: one `walkwithme serve` against N
of them on the same PostgreSQL schema, each on its own port and data folder, in alternating
order round by round (the processes are started for each measurement and stopped after it).
wrk's load is split: N wrk instances at once, each with 1/N of the connections and of the
walkers' phones, against one process each; requests/s are summed, p50 and p99 are the worst
of the N. wrk gets the same number of threads in all (2 in all). Each walk's companion is on
process (i // N) % N while its phone posts to i % N, so half of the fixes reach their companion
through the doorbell across processes, as behind a load balancer. Companions connect afresh for
each measurement, resuming after the walk's last fix. Aim (issue 14): 2 processes on the
2-core machine take at least 1.6x one process's fixes. The load generator (wrk) and the
companions' processes compete with the servers for the same cores.

    .venv/bin/python -m benchmarks.ingest [--seconds 8] [--rounds 3] [--profile FILE]
    .venv/bin/python -m benchmarks.ingest --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m benchmarks.ingest --processes 2 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import (
    HOST,
    MACHINE,
    POSTGRES,
    Companions,
    CpuMeter,
    Target,
    Walker,
    WrkResult,
    bare_command,
    describe,
    durable_command,
    free_port,
    make_cast,
    median,
    now_ms,
    own_schema,
    print_machine,
    run_wrk,
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
AIM_PG_RATIO = 0.70  # PostgreSQL, one process, against SQLite
AIM_PROCESSES_RATIO = 1.6  # 2 processes against 1, on PostgreSQL


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--walkers", type=int, default=64, help="walkers (devices, walks)")
    parser.add_argument(
        "--connections",
        help="comma-separated levels (default 1,64; with --processes, 64, split over them)",
    )
    parser.add_argument("--log-level", default="info", help="WWM_LOG_LEVEL for all servers")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL (a schema of its own is made for the run): the service runs on it too",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="N > 1: one serve process against N on the PostgreSQL of --database-url",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--profile",
        type=Path,
        help="after the rounds, profile the service (and the one on PostgreSQL, into FILE.pg) "
        "with py-spy during one more run at the "
        "highest level; write the collapsed stacks here and print the busiest functions",
    )
    args = parser.parse_args()
    processes = max(1, min(args.processes, 8))
    default_levels = "64" if processes > 1 else "1,64"
    levels = [int(c) for c in (args.connections or default_levels).split(",")]
    rounds = max(1, min(args.rounds, 20))
    seconds = max(1.0, min(args.seconds, 60.0))
    if processes > 1 and not args.database_url:
        raise SystemExit("several processes need PostgreSQL: give --database-url")
    with own_schema(args.database_url) as database_url:
        if processes > 1:
            assert database_url is not None
            compare_processes(args, database_url, processes, levels, rounds, seconds)
        else:
            compare_sides(args, database_url, levels, rounds, seconds)


# -- the service (on SQLite, and on PostgreSQL) against its references -------------------------


def compare_sides(
    args: argparse.Namespace,
    database_url: str | None,
    levels: list[int],
    rounds: int,
    seconds: float,
) -> None:
    pg = database_url is not None
    print_machine(
        "single-fix ingest: the service"
        + (" on SQLite and on PostgreSQL" if pg else "")
        + " vs a minimal durable app and a bare app"
    )
    names = ["service", *(["service-pg"] if pg else []), "durable", "bare"]
    print(
        f"plan: {rounds} rounds x connections {levels} x ({', '.join(names)}), "
        f"{seconds:g} s each, "
        f"{args.walkers} walkers each on a live walk with a companion connected"
        + (" (on each database)" if pg else "")
        + f", log level {args.log_level}"
    )
    results: dict[tuple[str, int], list[WrkResult]] = {}
    profile = ""
    counted: dict[str, int] = {}
    finals: dict[str, dict[str, object]] = {}
    with scratch("wwm-ingest-", args.keep) as tmp:
        began = time.monotonic()
        cast = make_cast(tmp / "data", args.walkers)
        write_cast(tmp / "cast.json", cast)
        write_tokens(tmp / "tokens.txt", cast)
        if pg:
            cast_pg = make_cast(tmp / "data-pg", args.walkers, database_url=database_url)
            write_cast(tmp / "cast-pg.json", cast_pg)
            write_tokens(tmp / "tokens-pg.txt", cast_pg)
        print(
            f"set-up: {len(cast)} walkers, walks and companions"
            + (" on each database" if pg else "")
            + f" in {time.monotonic() - began:.1f} s"
        )
        svc_port, bare_port, durable_port = free_port(), free_port(), free_port()
        pg_port = free_port()
        env = server_env(args.log_level)
        service = Target("service", f"http://{HOST}:{svc_port}", tmp / "tokens.txt")
        service_pg = Target(
            "service-pg", f"http://{HOST}:{pg_port}", tmp / "tokens-pg.txt", postgres=True
        )
        bare = Target("bare", f"http://{HOST}:{bare_port}", tmp / "tokens.txt")
        durable = Target("durable", f"http://{HOST}:{durable_port}", tmp / "tokens.txt")
        durable_cmd = durable_command(durable_port, tmp / "tokens.txt", tmp / "durable.db")
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(
                running(serve_command(tmp / "data", svc_port), svc_port, tmp / "service.log", env)
            )
            service.pid = server.pid
            if pg:
                assert database_url is not None
                pg_server = stack.enter_context(
                    running(
                        serve_command(tmp / "data-pg", pg_port),
                        pg_port,
                        tmp / "service-pg.log",
                        {**env, "WWM_DATABASE_URL": database_url},
                    )
                )
                service_pg.pid = pg_server.pid
            bare.pid = stack.enter_context(
                running(bare_command(bare_port), bare_port, tmp / "bare.log", env)
            ).pid
            durable.pid = stack.enter_context(
                running(durable_cmd, durable_port, tmp / "durable.log", env)
            ).pid
            companions = {"service": Companions(svc_port, tmp / "cast.json")}
            if pg:
                companions["service-pg"] = Companions(pg_port, tmp / "cast-pg.json")
            try:
                for name, those in companions.items():
                    ready = those.wait_ready()
                    print(
                        f"companions of {name}: {ready['connected']} WebSockets open in "
                        f"{ready['seconds']:.1f} s"
                    )
                sides = (service, *([service_pg] if pg else []), durable, bare)
                for side in sides:  # warm up every side, figures discarded
                    side.run(connections=max(levels), seconds=2, batch=0)
                warm = {name: those.count()["fixes"] for name, those in companions.items()}
                for number in range(rounds):
                    print(f"-- round {number + 1}")
                    for connections in levels:
                        turn = number % len(sides)
                        for side in sides[turn:] + sides[:turn]:
                            result = side.run(connections=connections, seconds=seconds, batch=0)
                            results.setdefault((side.name, connections), []).append(result)
                            print(f"{side.name:>10} c={connections:<3} {describe(result)}")
                time.sleep(1.0)
                counted = {
                    name: those.count()["fixes"] - warm[name] for name, those in companions.items()
                }
                if args.profile:
                    # Each service in its turn (with --database-url, the one on PostgreSQL
                    # into FILE.pg beside FILE).
                    for side, out in (
                        (service, args.profile),
                        *(
                            [(service_pg, args.profile.with_name(args.profile.name + ".pg"))]
                            if pg
                            else []
                        ),
                    ):
                        pid, side.pid = side.pid, None  # py-spy can't name threads as it records
                        assert pid is not None
                        spy = start_py_spy(pid, seconds, out)
                        profiled = side.run(connections=max(levels), seconds=seconds, batch=0)
                        if spy is not None:
                            spy.wait(timeout=seconds + 60)
                            profile += f"\n-- {side.name}\n{summarize_profile(out)}"
                        print(f"profiled {side.name} c={max(levels)} {describe(profiled)}")
            finally:
                finals = {name: those.stop() for name, those in companions.items()}
    for name, final in finals.items():
        accepted = sum(
            r.accepted for (side, _), runs in results.items() if side == name for r in runs
        )
        print(
            f"fan-out check ({name}): the companions received {counted.get(name, '?')} fix "
            f"messages over WebSocket for the {accepted} fixes the measured runs had accepted; "
            f"streams closed early: {final.get('closed_early', '?')}; timeline events they saw "
            f"after the first: {final.get('events', {})}"
        )

    print("\n== medians over rounds")
    print(f"{'':10} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for connections in levels:
        for name in names:
            runs = results[(name, connections)]
            print(
                f"{name:>10} {connections:>5} {median([r.rps for r in runs]):9.0f} "
                f"{median([r.p50_ms for r in runs]):8.2f} {median([r.p99_ms for r in runs]):8.2f}"
            )
    print("\n== against the aims (service vs the durable app's req/s; p99 < 50 ms)")
    for connections in levels:
        aim = AIM_RATIO.get(connections, 0.40)
        for name in names[: 2 if pg else 1]:
            for reference in ("durable", "bare"):
                ratio, ratios = ratio_of(results, name, reference, connections)
                judged = (
                    f"-> {verdict(ratio >= aim)} (aim {aim:.0%})"
                    if reference == "durable" and name == "service"
                    else ""
                )
                print(
                    f"c={connections:<3} {name}/{reference} = {ratio:6.1%} (per round: "
                    f"{', '.join(f'{x:.1%}' for x in ratios)}) {judged}"
                )
        p99 = median([r.p99_ms for r in results[("service", connections)]])
        print(f"c={connections:<3} service p99 {p99:.2f} ms -> {verdict(p99 < AIM_P99_MS)}")
    if pg:
        print(
            f"\n== PostgreSQL against SQLite, one process each (aim: at least {AIM_PG_RATIO:.0%})"
        )
        for connections in levels:
            ratio, ratios = ratio_of(results, "service-pg", "service", connections)
            p99 = median([r.p99_ms for r in results[("service-pg", connections)]])
            print(
                f"c={connections:<3} service-pg/service = {ratio:6.1%} (per round: "
                f"{', '.join(f'{x:.1%}' for x in ratios)}) -> {verdict(ratio >= AIM_PG_RATIO)}; "
                f"service-pg p99 {p99:.2f} ms"
            )
    warn_not_accepted(results, ("service", "service-pg"))
    if profile:
        print(f"\n== where the service spends its time (py-spy, c={max(levels)}){profile}")


def ratio_of(
    results: dict[tuple[str, int], list[WrkResult]], name: str, reference: str, connections: int
) -> tuple[float, list[float]]:
    """The median over rounds of name's req/s over reference's, and each round's ratio."""
    ratios = [
        s.rps / r.rps
        for s, r in zip(
            results[(name, connections)], results[(reference, connections)], strict=True
        )
        if r.rps
    ]
    return median(ratios), ratios


def warn_not_accepted(
    results: dict[tuple[str, int], list[WrkResult]], names: tuple[str, ...]
) -> None:
    bad = [
        r
        for (name, _), runs in results.items()
        if name in names
        for r in runs
        if r.other or r.bad_status or r.socket_errors
    ]
    if bad:
        print(f"WARNING: {len(bad)} service runs had fixes not accepted or errors (see above)")


# -- one process against several, on PostgreSQL -------------------------------------------------


def compare_processes(
    args: argparse.Namespace,
    database_url: str,
    processes: int,
    levels: list[int],
    rounds: int,
    seconds: float,
) -> None:
    print_machine(f"single-fix ingest on PostgreSQL: 1 serve process vs {processes}")
    print(
        f"plan: {rounds} rounds x (1 process, {processes} processes, alternating) x connections "
        f"{levels} (split over the processes, one wrk each, at once), {seconds:g} s each; "
        f"{args.walkers} walkers each on a live walk with a companion connected; the "
        f"processes are started for each measurement; log level {args.log_level}"
    )
    print(
        "note: wrk and the companions' processes run on the same cores as the servers, so "
        "the servers do not have the machine to themselves"
    )
    results: dict[tuple[int, int], list[WrkResult]] = {}
    with scratch("wwm-ingest-procs-", args.keep) as tmp:
        began = time.monotonic()
        cast = make_cast(tmp / "data", args.walkers, database_url=database_url)
        print(
            f"set-up: {len(cast)} walkers, walks and companions in {time.monotonic() - began:.1f} s"
        )
        env = {**server_env(args.log_level), "WWM_DATABASE_URL": database_url}
        newest = [0]  # the newest fix time sent so far: every run starts after it
        for number in range(rounds):
            print(f"-- round {number + 1}")
            order = [1, processes] if number % 2 == 0 else [processes, 1]
            for count in order:
                measured = measure_processes(
                    tmp, cast, database_url, env, count, levels, seconds, newest
                )
                for connections, result in measured.items():
                    results.setdefault((count, connections), []).append(result)

    print("\n== medians over rounds (req/s summed over the processes; p50, p99 the worst of them)")
    print(f"{'':11} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for connections in levels:
        for count in (1, processes):
            runs = results[(count, connections)]
            print(
                f"{count:>2} process{'es' if count > 1 else '  '} {connections:>5} "
                f"{median([r.rps for r in runs]):9.0f} {median([r.p50_ms for r in runs]):8.2f} "
                f"{median([r.p99_ms for r in runs]):8.2f}"
            )
    print(f"\n== {processes} processes against 1 (aim for 2: at least {AIM_PROCESSES_RATIO:g}x)")
    for connections in levels:
        pairs = zip(results[(processes, connections)], results[(1, connections)], strict=True)
        ratios = [many.rps / one.rps for many, one in pairs if one.rps]
        ratio = median(ratios)
        print(
            f"c={connections:<3} {processes} processes / 1 = {ratio:.2f}x (per round: "
            f"{', '.join(f'{x:.2f}x' for x in ratios)}) -> {verdict(ratio >= AIM_PROCESSES_RATIO)}"
        )
    bad = [
        r for runs in results.values() for r in runs if r.other or r.bad_status or r.socket_errors
    ]
    if bad:
        print(f"WARNING: {len(bad)} runs had fixes not accepted or errors (see above)")


def measure_processes(
    tmp: Path,
    cast: list[Walker],
    database_url: str,
    env: dict[str, str],
    count: int,
    levels: list[int],
    seconds: float,
    newest: list[int],
) -> dict[int, WrkResult]:
    """Start `count` serve processes on the database and a companions' process for each, warm
    them up, run every level once with the load split over them, and stop them all."""
    ports = [free_port() for _ in range(count)]
    tokens: list[Path] = []
    casts: list[Path] = []
    for j in range(count):
        # Walker i's phone posts to process i % count; her companion is on (i // count) % count.
        tokens.append(tmp / f"tokens-{count}-{j}.txt")
        write_tokens(tokens[-1], [w for i, w in enumerate(cast) if i % count == j])
        casts.append(tmp / f"cast-{count}-{j}.json")
        write_cast(casts[-1], [w for i, w in enumerate(cast) if (i // count) % count == j])
    after = tmp / "after-fix.json"
    after.write_text(json.dumps(fix_cursors(database_url)))
    measured: dict[int, WrkResult] = {}
    with contextlib.ExitStack() as stack:
        pids = [
            stack.enter_context(
                running(
                    serve_command(tmp / ("data" if j == 0 else f"data{j + 1}"), port),
                    port,
                    tmp / f"service-{count}-{j}.log",
                    env,
                )
            ).pid
            for j, port in enumerate(ports)
        ]
        companions = [Companions(port, casts[j], after_fix=after) for j, port in enumerate(ports)]
        finals: list[dict[str, object]] = []
        try:
            for those in companions:
                those.wait_ready()
            split(ports, tokens, pids, max(levels), 2.0, newest, say=False)  # warm-up
            warm = sum(those.count()["fixes"] for those in companions)
            for connections in levels:
                result = split(ports, tokens, pids, connections, seconds, newest)
                measured[connections] = result
                name = f"{count} process{'es' if count > 1 else ''}"
                print(f"{name:>11} c={connections:<3} {describe(result)}")
            time.sleep(1.0)
            counted = sum(those.count()["fixes"] for those in companions) - warm
        finally:
            finals = [those.stop() for those in companions]
    accepted = sum(r.accepted for r in measured.values())
    closed = sum(int(str(f.get("closed_early", 0))) for f in finals)
    print(
        f"{'':14}fan-out check: companions received {counted} fix messages for {accepted} "
        f"accepted; streams closed early: {closed}"
    )
    return measured


def split(
    ports: list[int],
    tokens: list[Path],
    pids: list[int],
    connections: int,
    seconds: float,
    newest: list[int],
    *,
    say: bool = True,
) -> WrkResult:
    """One wrk per process, all at once, each with its share of the connections and phones;
    2 wrk threads in all. Requests/s summed; p50, p99 and max the worst of them. Each
    process's CPU is its own threads'; PostgreSQL's processes are measured once, beside them."""
    count = len(ports)
    meters = [CpuMeter(pid, postgres=j == 0) for j, pid in enumerate(pids)]
    for meter in meters:
        meter.start()
    base_t = max(now_ms(), newest[0] + 1)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [
            pool.submit(
                run_wrk,
                f"http://{HOST}:{port}",
                tokens[j],
                connections=max(1, connections // count),
                threads=max(1, 2 // count),
                seconds=seconds,
                base_t=base_t,
                batch=0,
            )
            for j, port in enumerate(ports)
        ]
        runs = [f.result() for f in futures]
    cpu: dict[str, float] = {}
    for j, meter in enumerate(meters):
        cores = meter.read()
        cpu[f"process {j + 1}"] = sum(v for k, v in cores.items() if k not in (MACHINE, POSTGRES))
        cpu[MACHINE] = cores[MACHINE]
        if POSTGRES in cores:
            cpu[POSTGRES] = cores[POSTGRES]
    newest[0] = max(newest[0], *(r.max_t for r in runs))
    if say and count > 1:
        for j, run in enumerate(runs):
            print(
                f"{'':14}process {j + 1}'s wrk: {run.rps:.0f} req/s, p50 {run.p50_ms:.2f} ms, "
                f"p99 {run.p99_ms:.2f} ms ({run.requests} requests, {run.accepted} accepted)"
            )
    return WrkResult(
        requests=sum(r.requests for r in runs),
        duration_s=max(r.duration_s for r in runs),
        rps=sum(r.rps for r in runs),
        p50_ms=max(r.p50_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
        max_ms=max(r.max_ms for r in runs),
        accepted=sum(r.accepted for r in runs),
        other=sum(r.other for r in runs),
        bad_status=sum(r.bad_status for r in runs),
        socket_errors=sum(r.socket_errors for r in runs),
        max_t=newest[0],
        cpu=cpu,
    )


def fix_cursors(database_url: str) -> dict[str, int]:
    """Each walk's last fix number now, so that companions connecting afresh resume after it."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT id, fix_seq FROM walks").all()
    finally:
        engine.dispose()
    return {str(walk_id): int(seq or 0) for walk_id, seq in rows}


if __name__ == "__main__":
    main()
