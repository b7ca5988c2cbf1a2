"""The watchdog under load: 100,000 live walks on SQLite whose deadlines are spread over an
hour, phones on 10,000 of them posting a fix every 5 s, and every alert delivered to a local
webhook sink. Measured:

  - lateness: the time from a deadline to the alert reaching the sink, p50/p99/max, for the
    alarm (the walker's response window to "Are you OK?" ended) and for the check itself (her
    timer walk fell due, so she is asked);
  - idle: the CPU (% of one core, from /proc/PID/stat over 60 s) and memory (RSS) of the
    service with the same 100,000 walks, nothing due for ten minutes and no fixes;
  - restart: SIGKILL, alarms fall due during a 10 s outage, start again: the time from the
    start to those alarms reaching the sink.

Aims (issue 4): p99 lateness under 1 s, under 5% of a core while idle, under 5 s after restart.

How (see benchmarks/README.md for why):
  - the walks are seeded straight into a fresh SQLite database with bulk SQL inserts before the
    service starts, consistent with the schema (migrated by the project first): a walker and
    a companion per walk, an accepted companion contact, the walker's phone, a webhook channel
    each (the walker's gets the "Are you OK?" question, the companion's the alarm) pointing at
    the sink, the walk, its "started" event. Through the API this would take hours (an argon2
    hash a sign-up and a PIN);
  - 90,000 are timer walks ("check on me at 23:30") whose times are spread evenly over the hour
    that starts 30 s after seeding; 10,000 are walks home whose phones report (wrk with
    benchmarks/watchdog_fixes.lua, 64 connections, paced to 2,000 fixes/s in all);
  - the service runs on the real clock: the run watches the first 3 minutes of the hour at its
    real rate (25 walks fall due a second) instead of compressing the hour with a fast clock,
    which would multiply that rate. Lateness is sink arrival (the sink's wall clock) minus the
    due time (the service's clock, the same wall clock on the same machine).

    .venv/bin/python -m benchmarks.watchdog_load [--rounds 3] [--seconds 180]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import walkwithme
from benchmarks.common import (
    BENCH,
    HOME,
    HOST,
    ROOT,
    START,
    CpuMeter,
    cpu_seconds,
    free_port,
    median,
    percentile,
    print_machine,
    running,
    scratch,
    serve_command,
    server_env,
    verdict,
)
from walkwithme.domain.geo import DEFAULT_PACE_MPS, distance_m, expected_duration_ms
from walkwithme.domain.rules import NIGHT, Watch, next_due_at, profile_at
from walkwithme.domain.walks import WalkState
from walkwithme.security import hash_secret
from walkwithme.store.database import Database
from walkwithme.store.migrate import upgrade

AIM_P99_S = 1.0
AIM_IDLE_CORE = 0.05
AIM_RESTART_S = 5.0

FIXES_LUA = BENCH / "watchdog_fixes.lua"
TIMEZONE = "Europe/Helsinki"
HOUR_MS = 3_600_000
# --what-if-index: indexes the schema lacks, added to the seeded database only. Every alert
# looks up its recipients' channels by person (usecases/alerts.working_channel_ids) and every
# claim of the outbox looks for removed channels (usecases/outbox.claim): without these,
# each is a scan of the whole channels table.
WHAT_IF_INDEXES = (
    # The project has had these since migration 0009; kept so older checkouts can compare.
    "CREATE INDEX IF NOT EXISTS ix_channels_person_id ON channels (person_id)",
    "CREATE INDEX IF NOT EXISTS ix_channels_removed_at ON channels (removed_at)",
)
SECOND = 1000


def wall_ms() -> float:
    """The wall clock, which is the service's clock too (it runs at real speed here)."""
    return time.time_ns() / 1e6


# -- the sink (a process of its own) ------------------------------------------------------------


def sink_main(out: Path) -> None:
    """A webhook receiver on 127.0.0.1: stamps each POST when its body has been read, answers
    200, and appends one JSON line to `out`: [wall ms, path, kind, walk_id, rung]."""
    lock = threading.Lock()
    with out.open("a") as log:

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                stamp = wall_ms()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                line = json.dumps(
                    [
                        stamp,
                        self.path,
                        payload.get("kind"),
                        payload.get("walk_id"),
                        payload.get("rung"),
                    ]
                )
                with lock:
                    log.write(line + "\n")
                    log.flush()

            def log_message(self, *_args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # The notifier opens up to 50 connections at once: with the default backlog of 5,
            # the kernel drops the rest and the service sees failed sends (and retries them
            # 10 s later), which is the sink's fault, not the service's.
            request_queue_size = 1024

        server = Server((HOST, 0), Handler)
        server.daemon_threads = True
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        sys.stdout.write(f"PORT {server.server_address[1]}\n")
        sys.stdout.flush()
        server.serve_forever()


@dataclass(frozen=True)
class Arrival:
    at_ms: float
    path: str
    kind: str | None
    walk_id: int | None
    rung: str | None


class Sink:
    """The sink's process, and what it has received so far."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.watchdog_load", "--sink", str(out)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the sink did not start: {line!r}")
        self.url = f"http://{HOST}:{int(line[5:])}"

    def arrivals(self) -> list[Arrival]:
        if not self.out.exists():
            return []
        found = []
        for line in self.out.read_text().splitlines():
            with contextlib.suppress(ValueError):
                at, path, kind, walk_id, rung = json.loads(line)
                found.append(Arrival(at, path, kind, walk_id, rung))
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@contextlib.contextmanager
def sink(out: Path) -> Iterator[Sink]:
    receiver = Sink(out)
    try:
        yield receiver
    finally:
        receiver.stop()


# -- seeding ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the run needs to know of the walks it seeded."""

    db_path: Path
    phones: Path  # the walks home's phones, for wrk: "token started_at" a line
    timer_due: dict[int, int] = field(default_factory=dict)  # timer walk id -> its due time
    walking: set[int] = field(default_factory=set)  # walk ids of the walks home
    seconds: float = 0.0


def seed(
    data_dir: Path,
    sink_url: str,
    *,
    walks: int,
    walking: int,
    lead_ms: int,
    spread_ms: int,
    idle: bool,
    rng: random.Random,
    what_if_index: bool = False,
) -> Seeded:
    """Make and migrate the database with the project's own code, then bulk-insert the people,
    contacts, phones, channels and walks with plain SQL in one transaction.

    Timer walks are due (their `expected_at`, which is their `next_due_at`) at evenly spaced
    times over `spread_ms` starting `lead_ms` from now, in a random order of walk ids. Walks
    home started up to 4 minutes ago at the railway station, and their phone's last fix came a
    few seconds ago. `idle`: the walkers of the walks home answered a check a moment ago, so no
    rule asks them anything before `lead_ms` either (nothing at all is due before then)."""
    began = time.monotonic()
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "walkwithme.db"
    database = Database(f"sqlite:///{db_path}")
    upgrade(database.write_engine)
    database.dispose()

    now = int(wall_ms())
    password_hash = hash_secret("correct horse battery")
    pin_hash = hash_secret("2468")
    straight = distance_m(*START, *HOME)
    duration = expected_duration_ms(straight, DEFAULT_PACE_MPS)
    every = max(1, walks // max(1, walking))
    walking_ids = {i + 1 for i in range(walks) if i % every == 0 and (i // every) < walking}
    timer_ids = [i + 1 for i in range(walks) if i + 1 not in walking_ids]
    order = list(range(len(timer_ids)))
    rng.shuffle(order)
    first_due = now + lead_ms
    timer_due = {
        walk_id: first_due + int(spread_ms * (slot + 0.5) / len(timer_ids))
        for walk_id, slot in zip(timer_ids, order, strict=True)
    }

    people_rows: list[tuple[Any, ...]] = []
    contact_rows: list[tuple[Any, ...]] = []
    device_rows: list[tuple[Any, ...]] = []
    channel_rows: list[tuple[Any, ...]] = []
    walk_rows: list[dict[str, Any]] = []
    companion_rows: list[tuple[int, int]] = []
    event_rows: list[tuple[Any, ...]] = []
    fix_rows: list[tuple[Any, ...]] = []
    phones: list[str] = []
    day_ago = now - 86_400_000
    for i in range(walks):
        walk_id = walker = device = i + 1
        companion = walks + i + 1
        people_rows.append(
            (
                walker,
                f"walker{i}@bench.example",
                f"Walker {i}",
                password_hash,
                0,
                TIMEZONE,
                f"+35840{i:07d}",
                DEFAULT_PACE_MPS,
                day_ago,
            )
        )
        people_rows.append(
            (
                companion,
                f"companion{i}@bench.example",
                f"Companion {i}",
                password_hash,
                0,
                TIMEZONE,
                None,
                DEFAULT_PACE_MPS,
                day_ago,
            )
        )
        contact_rows.append((i + 1, walker, companion, "companion", "accepted", day_ago, day_ago))
        token = f"dev_{secrets.token_urlsafe(32)}"
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        for channel_id, person, path in (
            (walker, walker, f"/w/{walk_id}"),
            (companion, companion, f"/c/{walk_id}"),
        ):
            channel_rows.append(
                (
                    channel_id,
                    person,
                    "webhook",
                    "phone",
                    sink_url + path,
                    secrets.token_urlsafe(24),
                    day_ago,
                    day_ago + 60_000,
                    0,
                )
            )
        companion_rows.append((walk_id, companion))
        if walk_id in walking_ids:
            started = now - rng.randint(30, 240) * SECOND
            expected = started + duration
            last_fix = now - rng.randint(0, 5000)
            fraction = (last_fix - started) / 1000 * DEFAULT_PACE_MPS / straight
            lat = START[0] + (HOME[0] - START[0]) * fraction
            lon = START[1] + (HOME[1] - START[1]) * fraction
            remaining = distance_m(lat, lon, *HOME)
            quiet = now + lead_ms if idle else None
            due = next_due_at(
                Watch(
                    state=WalkState.ACTIVE,
                    started_at=started,
                    expected_at=expected,
                    last_fix_at=last_fix,
                    progress_at=last_fix,
                    away_since=None,
                    door_at=None,
                    check_reason=None,
                    check_asked_at=None,
                    quiet_until=quiet,
                )
            )
            walk_rows.append(
                {
                    "id": walk_id,
                    "walker_id": walker,
                    "dest_name": "home",
                    "dest_lat": HOME[0],
                    "dest_lon": HOME[1],
                    "dest_radius_m": 40.0,
                    "started_at": started,
                    "expected_at": expected,
                    "last_fix_at": last_fix,
                    "last_lat": lat,
                    "last_lon": lon,
                    "last_accuracy_m": 8.0,
                    "last_speed_mps": DEFAULT_PACE_MPS,
                    "last_battery_pct": 80.0,
                    "next_due_at": due,
                    "progress_m": remaining,
                    "progress_at": last_fix,
                    "quiet_until": quiet,
                    "fix_seq": 1,  # its track's count: the one fix below
                }
            )
            fix_rows.append(
                (walk_id, device, last_fix, lat, lon, 8.0, DEFAULT_PACE_MPS, 80.0, last_fix)
            )
            device_rows.append((device, walker, "phone", token_hash, day_ago, last_fix))
            phones.append(f"{token} {started}\n")
            facts: dict[str, Any] = {"destination": "home", "timer": False}
        else:
            due = timer_due[walk_id]
            started = now - rng.randint(0, 600) * SECOND
            walk_rows.append(
                {
                    "id": walk_id,
                    "walker_id": walker,
                    "dest_name": None,
                    "dest_lat": None,
                    "dest_lon": None,
                    "dest_radius_m": None,
                    "started_at": started,
                    "expected_at": due,
                    "last_fix_at": None,
                    "last_lat": None,
                    "last_lon": None,
                    "last_accuracy_m": None,
                    "last_speed_mps": None,
                    "last_battery_pct": None,
                    "next_due_at": due,
                    "progress_m": None,
                    "progress_at": started,
                    "quiet_until": None,
                    "fix_seq": 0,
                }
            )
            device_rows.append((device, walker, "phone", token_hash, day_ago, None))
            facts = {"destination": None, "timer": True}
        facts |= {"expected_at": walk_rows[-1]["expected_at"], "companions": [f"Companion {i}"]}
        event_rows.append((walk_id, walk_rows[-1]["started_at"], walker, json.dumps(facts)))

    con = sqlite3.connect(db_path)
    try:
        con.execute("PRAGMA synchronous=OFF")
        with con:
            con.executemany(
                "INSERT INTO people (id, email, name, password_hash, is_operator, timezone, "
                "phone, pace_mps, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                people_rows,
            )
            con.executemany(
                "INSERT INTO contacts (id, owner_id, member_id, role, state, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                contact_rows,
            )
            con.executemany(
                "INSERT INTO devices (id, person_id, name, token_hash, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                device_rows,
            )
            con.executemany(
                "INSERT INTO channels (id, person_id, kind, label, target, secret, created_at, "
                "worked_at, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                channel_rows,
            )
            con.executemany(
                "INSERT INTO walks (id, walker_id, state, dest_name, dest_lat, dest_lon, "
                "dest_radius_m, pace_mps, pin_hash, timezone, started_at, expected_at, "
                "last_fix_at, last_lat, last_lon, last_accuracy_m, last_speed_mps, "
                "last_battery_pct, next_due_at, progress_m, progress_at, quiet_until, "
                "wrong_pins, fix_seq) VALUES (:id, :walker_id, 'active', :dest_name, :dest_lat, "
                ":dest_lon, :dest_radius_m, :pace, :pin_hash, :tz, :started_at, :expected_at, "
                ":last_fix_at, :last_lat, :last_lon, :last_accuracy_m, :last_speed_mps, "
                ":last_battery_pct, :next_due_at, :progress_m, :progress_at, :quiet_until, 0, "
                ":fix_seq)",
                [
                    {**w, "pace": DEFAULT_PACE_MPS, "pin_hash": pin_hash, "tz": TIMEZONE}
                    for w in walk_rows
                ],
            )
            con.executemany(
                "INSERT INTO walk_companions (walk_id, person_id) VALUES (?, ?)", companion_rows
            )
            con.executemany(
                "INSERT INTO events (walk_id, at, kind, audience, actor_id, data, walker_seq, "
                "companion_seq) VALUES (?, ?, 'started', 'all', ?, ?, 1, 1)",
                event_rows,
            )
            con.executemany(
                "INSERT INTO fixes (walk_id, device_id, taken_at, lat, lon, accuracy_m, "
                "speed_mps, battery_pct, received_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                fix_rows,
            )
    finally:
        con.close()
    if what_if_index:
        # Not in the schema (a migration's business): what the run would give with it.
        con = sqlite3.connect(db_path)
        try:
            for statement in WHAT_IF_INDEXES:
                con.execute(statement)
        finally:
            con.close()
    phones_path = data_dir.parent / "phones.txt"
    phones_path.write_text("".join(phones))
    return Seeded(
        db_path,
        phones_path,
        timer_due,
        walking_ids,
        time.monotonic() - began,
    )


# -- what the database says afterwards --------------------------------------------------------


def alarm_due(asked_ms: int) -> int:
    """When the alarm falls due for a check asked at `asked_ms`: the end of her response
    window, 60 s by night and 90 s by day (by her local time at that moment, as the rules
    judge it)."""
    night_end = asked_ms + NIGHT.check_window_ms
    if profile_at(night_end, TIMEZONE) is NIGHT:
        return night_end
    return asked_ms + 90 * SECOND


def events_of(db_path: Path, kind: str) -> dict[int, int]:
    """walk id -> time of its first event of this kind."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT walk_id, min(at) FROM events WHERE kind = ? GROUP BY walk_id", (kind,)
        ).fetchall()
    finally:
        con.close()
    return {int(w): int(at) for w, at in rows}


def first_arrivals(arrivals: list[Arrival], prefix: str, kind: str) -> tuple[dict[int, float], int]:
    """walk id -> the first arrival of this alert (the alarm itself, not an escalation), and
    how many arrivals were duplicates (the outbox delivers at least once)."""
    first: dict[int, float] = {}
    duplicates = 0
    for a in arrivals:
        if a.walk_id is None or a.kind != kind or a.rung is not None:
            continue
        if not a.path.startswith(prefix):
            continue
        if a.walk_id in first:
            duplicates += 1
            first[a.walk_id] = min(first[a.walk_id], a.at_ms)
        else:
            first[a.walk_id] = a.at_ms
    return first, duplicates


@dataclass
class Lateness:
    """Lateness in seconds of the alerts whose deadline fell in the window. An alert that had
    not arrived by `cutoff_ms` counts as late by at least cutoff - due (a lower bound), and a
    percentile that falls on such a bound is shown with ">"."""

    name: str
    cutoff_ms: float
    late_s: list[tuple[float, bool]] = field(default_factory=list)  # (seconds, a lower bound)

    def add(self, arrived_ms: float | None, due_ms: float) -> None:
        if arrived_ms is None:
            self.late_s.append(((self.cutoff_ms - due_ms) / 1000, True))
        else:
            self.late_s.append(((arrived_ms - due_ms) / 1000, False))

    @property
    def missing(self) -> int:
        return sum(1 for _, bound in self.late_s if bound)

    def at(self, pct: float) -> tuple[float, bool]:
        if not self.late_s:
            return float("nan"), False
        ordered = sorted(self.late_s)
        rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
        value = ordered[rank - 1][0]
        # An alert not yet arrived may be later than its bound: any bound at or below the
        # value makes the value itself only a lower bound.
        return value, any(bound and late <= value for late, bound in ordered)

    def p(self, pct: float) -> float:
        return self.at(pct)[0]

    def max(self) -> float:
        return self.at(100)[0]

    def text(self, pct: float) -> str:
        value, bound = self.at(pct)
        return f"{'>' if bound else ' '}{value:7.3f} s"

    def line(self) -> str:
        missing = f", {self.missing} not arrived by the kill" if self.missing else ""
        return (
            f"{self.name:<44} p50 {self.text(50)}  p99 {self.text(99)}  max {self.text(100)}"
            f"  ({len(self.late_s)} alerts{missing})"
        )


# -- the phones (wrk) -------------------------------------------------------------------------


def run_phones(
    port: int, phones: Path, *, rate: float, connections: int, seconds: float
) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: run benchmarks/setup.sh")
    threads = min(2, connections)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(FIXES_LUA),
            f"http://{HOST}:{port}/api/fixes",
            "--",
            str(phones),
            str(threads),
            str(rate),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw: dict[str, Any] = json.loads(line[9:])
    raw["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return raw


# -- the process ------------------------------------------------------------------------------


def memory_kb(pid: int, key: str) -> int:
    """VmRSS (resident now) or VmHWM (the most it was resident), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def healthz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=10) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def service_env(log_level: str) -> dict[str, str]:
    return {**server_env(log_level), "WWM_ALLOW_PRIVATE_ADDRESSES": "true"}


# -- one round ----------------------------------------------------------------------------------


@dataclass
class Round:
    ideal: Lateness
    alarm: Lateness
    check: Lateness
    decided_late_s: list[float]  # alarm raised (event) - due: the watchdog's own lateness
    fixes: dict[str, Any]
    load_cpu: dict[str, float]
    load_hwm_mb: float
    restart_expected: int
    restart_first_s: float
    restart_last_s: float
    restart_ready_s: float
    restart_missing: int
    idle_core: float
    idle_rss_mb: float
    idle_threads: dict[str, float]
    idle_decided: dict[str, int]
    false_checks: int
    duplicates: int


def load_and_restart(tmp: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """The hour's first minutes under the phones' load, then SIGKILL, an outage, a restart."""
    out: dict[str, Any] = {}
    with sink(tmp / "arrivals.jsonl") as receiver:
        seeded = seed(
            tmp / "data",
            receiver.url,
            walks=args.walks,
            walking=args.walking,
            lead_ms=30 * SECOND,
            spread_ms=HOUR_MS,
            idle=False,
            rng=rng,
            what_if_index=args.what_if_index,
        )
        print(
            f"  seeded {args.walks} walks ({len(seeded.walking)} walking home) in "
            f"{seeded.seconds:.1f} s; database {seeded.db_path.stat().st_size / 1e6:.0f} MB"
        )
        port = free_port()
        command = serve_command(tmp / "data", port)
        env = service_env(args.log_level)
        with running(command, port, tmp / "service.log", env) as server:
            meter = CpuMeter(server.pid)
            meter.start()
            load_began = wall_ms()
            phones = run_phones(
                port,
                seeded.phones,
                rate=args.rate,
                connections=args.connections,
                seconds=args.seconds,
            )
            load_ended = wall_ms()
            out["load_cpu"] = meter.read()
            out["load_hwm_mb"] = memory_kb(server.pid, "VmHWM") / 1024
            out["fixes"] = phones
            # The crash: no shutdown at all.
            killed_at = wall_ms()
            server.kill()
            server.wait(timeout=30)
        outage_ends = killed_at + args.outage * 1000
        # The alarms that fall due while the service is down: checks asked before the kill
        # whose response windows end during the outage (and not raised before the kill).
        checks = events_of(seeded.db_path, "check")
        alarms = events_of(seeded.db_path, "alarm")
        expected = {
            walk_id
            for walk_id, asked in checks.items()
            if walk_id not in alarms and killed_at < alarm_due(asked) <= outage_ends
        }
        time.sleep(max(0.0, (outage_ends - wall_ms()) / 1000))
        restarted = wall_ms()
        ready = restarted
        arrived: dict[int, float] = {}
        restart_command = command
        if args.profile_restart is not None:
            # py-spy samples the restarted service (its start-up included) until it stops.
            restart_command = [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--rate",
                "250",
                "--format",
                "speedscope",
                "--threads",
                "-o",
                str(args.profile_restart),
                "--",
                *command,
            ]
        with running(restart_command, port, tmp / "service-restart.log", env):
            ready = wall_ms()
            deadline = time.monotonic() + args.restart_wait
            while time.monotonic() < deadline:
                arrived, _ = first_arrivals(receiver.arrivals(), "/c/", "alarm")
                if expected <= arrived.keys():
                    break
                time.sleep(0.1)
        arrivals = receiver.arrivals()
    checks = events_of(seeded.db_path, "check")
    alarms = events_of(seeded.db_path, "alarm")

    # Lateness: alerts whose deadlines fell between 10 s after the phones started and 15 s
    # before they stopped (so every one of them had 15 s under load to arrive).
    window = (load_began + 10 * SECOND, load_ended - 15 * SECOND)
    check_arrived, dup_checks = first_arrivals(
        [a for a in arrivals if a.at_ms <= killed_at], "/w/", "check"
    )
    alarm_arrived, dup_alarms = first_arrivals(
        [a for a in arrivals if a.at_ms <= killed_at], "/c/", "alarm"
    )
    check_late = Lateness("check: timer due -> walker's webhook", killed_at)
    ideal_late = Lateness("alarm: timer due + window -> companion", killed_at)
    for walk_id, due in seeded.timer_due.items():
        if window[0] <= due <= window[1]:
            check_late.add(check_arrived.get(walk_id), due)
        ideal = alarm_due(due)
        if window[0] <= ideal <= window[1]:
            ideal_late.add(alarm_arrived.get(walk_id), ideal)
    alarm_late = Lateness("alarm: check asked + window -> companion", killed_at)
    decided: list[float] = []
    for walk_id, asked in checks.items():
        due = alarm_due(asked)
        if window[0] <= due <= window[1]:
            alarm_late.add(alarm_arrived.get(walk_id), due)
            if walk_id in alarms and alarms[walk_id] < killed_at:
                decided.append((alarms[walk_id] - due) / 1000)
    first_after, _ = first_arrivals([a for a in arrivals if a.at_ms > restarted], "/c/", "alarm")
    after = sorted(first_after[w] - restarted for w in expected if w in first_after)
    out.update(
        ideal=ideal_late,
        alarm=alarm_late,
        check=check_late,
        decided_late_s=decided,
        restart_expected=len(expected),
        restart_first_s=after[0] / 1000 if after else float("nan"),
        restart_last_s=after[-1] / 1000 if after else float("nan"),
        restart_ready_s=(ready - restarted) / 1000,
        restart_missing=len(expected) - len(after),
        false_checks=sum(1 for w in checks if w in seeded.walking),
        duplicates=dup_checks + dup_alarms,
    )
    return out


def idle(tmp: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """The same walks, nothing due for ten minutes, no fixes: what the service costs idle."""
    with sink(tmp / "idle-arrivals.jsonl") as receiver:
        seed(
            tmp / "idle-data",
            receiver.url,
            walks=args.walks,
            walking=args.walking,
            lead_ms=10 * 60 * SECOND,
            spread_ms=HOUR_MS,
            idle=True,
            rng=rng,
            what_if_index=args.what_if_index,
        )
        port = free_port()
        with running(
            serve_command(tmp / "idle-data", port),
            port,
            tmp / "idle-service.log",
            service_env(args.log_level),
        ) as server:
            time.sleep(args.settle)
            meter = CpuMeter(server.pid)
            meter.start()
            before = cpu_seconds(server.pid)
            began = time.monotonic()
            time.sleep(args.idle_seconds)
            used = cpu_seconds(server.pid) - before
            elapsed = time.monotonic() - began
            threads = meter.read()
            rss_mb = memory_kb(server.pid, "VmRSS") / 1024
            decided = dict(healthz(port)["watchdog"]["decided"])
        received = len(receiver.arrivals())
    return {
        "idle_core": used / elapsed,
        "idle_rss_mb": rss_mb,
        "idle_threads": threads,
        "idle_decided": {**decided, "sink": received},
    }


def one_round(index: int, args: argparse.Namespace) -> Round:
    rng = random.Random(index)
    with scratch(f"wwm-watchdog-{index}-", args.keep) as tmp:
        print(f"round {index + 1}: load and restart")
        loaded = load_and_restart(tmp, args, rng)
        shutil.rmtree(tmp / "data", ignore_errors=True)
        if args.skip_idle:
            quiet: dict[str, Any] = {
                "idle_core": 0.0,
                "idle_rss_mb": 0.0,
                "idle_threads": {},
                "idle_decided": {},
            }
        else:
            print(f"round {index + 1}: idle")
            quiet = idle(tmp, args, rng)
    result = Round(**loaded, **quiet)
    describe_round(result, args)
    return result


def describe_round(r: Round, args: argparse.Namespace) -> None:
    f = r.fixes
    seconds = f["duration_us"] / 1e6
    print(
        f"  phones: {f['requests']} fixes in {seconds:.0f} s = {f['requests'] / seconds:.0f}/s "
        f"(asked {args.rate:g}/s), accepted {f['accepted']}, other {f['other']}, "
        f"non-200 {f['bad_status']}, socket errors {f['socket_errors']}; round trip p50 "
        f"{f['p50_us'] / 1000:.1f} ms p99 {f['p99_us'] / 1000:.1f} ms; schedule behind by "
        f"{f['behind_ms'] / 1000:.1f} s at the end; wrk {f['cpu_s'] / seconds:.2f} cores"
    )
    print(f"  under load: {CpuMeter.describe(r.load_cpu)}; peak RSS {r.load_hwm_mb:.0f} MB")
    print(f"  {r.ideal.line()}")
    print(f"  {r.alarm.line()}")
    print(f"  {r.check.line()}")
    if r.decided_late_s:
        print(
            f"  {'alarm: due -> raised (watchdog)':<44} p50 {percentile(r.decided_late_s, 50):7.3f}"
            f" s  p99 {percentile(r.decided_late_s, 99):7.3f} s  max "
            f"{max(r.decided_late_s):7.3f} s"
        )
    print(
        f"  checks asked of walkers who kept walking: {r.false_checks}; duplicate deliveries: "
        f"{r.duplicates}"
    )
    print(
        f"  restart: {r.restart_expected} alarms fell due during the {args.outage:g} s outage; "
        f"from the start: ready {r.restart_ready_s:.2f} s, first alarm delivered "
        f"{r.restart_first_s:.2f} s, last {r.restart_last_s:.2f} s"
        + (
            f", {r.restart_missing} not delivered within {args.restart_wait:g} s"
            if r.restart_missing
            else ""
        )
    )
    print(
        f"  idle: {r.idle_core:.2%} of a core over {args.idle_seconds:g} s "
        f"({CpuMeter.describe(r.idle_threads)}), RSS {r.idle_rss_mb:.0f} MB; "
        f"decided meanwhile {r.idle_decided}"
    )
    sys.stdout.flush()


def run(args: argparse.Namespace) -> None:
    print_machine("watchdog under load: deadlines -> alerts at a webhook sink")
    print(
        f"plan: {args.walks} live walks on SQLite, {args.walks - args.walking} timer walks due "
        f"evenly over an hour (from 30 s after seeding), {args.walking} walks home whose phones "
        f"post a fix each every {args.walking / args.rate:g} s ({args.rate:g} fixes/s, "
        f"{args.connections} connections) for {args.seconds:g} s; every alert to a local "
        f"webhook sink; then SIGKILL, {args.outage:g} s outage, restart; then idle "
        f"({args.idle_seconds:g} s, nothing due for 10 min); {args.rounds} rounds; real clock"
    )
    print(
        f"walkwithme from {Path(walkwithme.__file__).parent}"
        + ("; what if: " + "; ".join(WHAT_IF_INDEXES) if args.what_if_index else "")
    )
    sys.stdout.flush()
    rounds = [one_round(i, args) for i in range(args.rounds)]

    def med(values: list[float]) -> float:
        return median(values)

    restart = med([r.restart_last_s for r in rounds])
    idle_core = med([r.idle_core for r in rounds])
    rate = med([r.fixes["requests"] / (r.fixes["duration_us"] / 1e6) for r in rounds])
    print(f"\n== results (medians of {len(rounds)} rounds; '>' a lower bound: not arrived)")
    print(f"fixes the service took: {rate:.0f}/s of {args.rate:g}/s asked")
    for figures in (
        [r.ideal for r in rounds],
        [r.alarm for r in rounds],
        [r.check for r in rounds],
    ):
        name = figures[0].name
        cells = []
        for pct in (50, 99, 100):
            values = [f.at(pct) for f in figures]
            bound = any(b for _, b in values)
            cells.append(f"{'>' if bound else ''}{med([v for v, _ in values]):.3f} s")
        print(f"{name:<44} p50 {cells[0]}, p99 {cells[1]}, max {cells[2]}")
    print(
        f"restart -> alarms due during the outage delivered: first "
        f"{med([r.restart_first_s for r in rounds]):.2f} s, all {restart:.2f} s (ready "
        f"{med([r.restart_ready_s for r in rounds]):.2f} s; "
        f"{med([float(r.restart_expected) for r in rounds]):.0f} alarms)"
    )
    print(
        f"idle: {idle_core:.2%} of a core, RSS {med([r.idle_rss_mb for r in rounds]):.0f} MB; "
        f"peak RSS under load {med([r.load_hwm_mb for r in rounds]):.0f} MB"
    )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    p99 = max(
        med([r.ideal.p(99) for r in rounds]),
        med([r.check.p(99) for r in rounds]),
    )
    late_ok = p99 < AIM_P99_S and not any(r.ideal.missing or r.check.missing for r in rounds)
    restart_ok = restart < AIM_RESTART_S and not any(r.restart_missing for r in rounds)
    print(
        f"\naims: p99 lateness (alarm and check) < {AIM_P99_S:g} s -> {verdict(late_ok)}; "
        f"idle < {AIM_IDLE_CORE:.0%} of a core -> {verdict(idle_core < AIM_IDLE_CORE)}; "
        f"restart < {AIM_RESTART_S:g} s -> {verdict(restart_ok)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--walks", type=int, default=100_000)
    parser.add_argument("--walking", type=int, default=10_000, help="walks whose phones report")
    parser.add_argument("--rate", type=float, default=2000.0, help="fixes a second in all")
    parser.add_argument("--connections", type=int, default=64, help="the phones' connections")
    parser.add_argument("--seconds", type=float, default=180.0, help="how long phones post")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the service is down")
    parser.add_argument("--restart-wait", type=float, default=60.0, help=argparse.SUPPRESS)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=15.0, help="idle: after start-up")
    parser.add_argument(
        "--what-if-index",
        action="store_true",
        help="add indexes on channels (person_id, removed_at) to the seeded database",
    )
    parser.add_argument(
        "--skip-idle", action="store_true", help="leave out the idle part (restart experiments)"
    )
    parser.add_argument(
        "--profile-restart",
        type=Path,
        help="record the restarted service with py-spy (speedscope JSON) to this file",
    )
    parser.add_argument("--log-level", default="info", help="WWM_LOG_LEVEL for the service")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    parser.add_argument("--sink", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink is not None:
        sink_main(args.sink)
        return
    args.rounds = max(1, min(args.rounds, 10))
    args.seconds = max(40.0, min(args.seconds, 900.0))
    run(args)


if __name__ == "__main__":
    main()
